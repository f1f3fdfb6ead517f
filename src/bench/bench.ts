/**
 * `npm run bench`: generates a large image (default 2 GiB of content in 100k files over 4 layers) and
 * prints imgscope's wall time and peak RSS beside floors measured in the same run on the same bytes:
 * `tar -tf` over the layer tars (uncompressed docker-archive) and `gzip -dc | tar -t` over the gzip
 * blobs (OCI layout). Then the docker-daemon row (daemon-row.ts): a 5.5 GB, 36k-file image in the
 * daemon, read through the engine's layer store and through the export, next to `docker save`.
 * Targets (exit 1 when missed): peak RSS < 300 MB; gzip within 1.5x of `gzip -dc | tar -t`; the
 * daemon's store read under 2 s and at least 20x faster than `docker save > /dev/null`. "Full analysis
 * of an uncompressed archive no slower than `tar -tf`" is no target any more (issue 14): its row stays
 * as a regression guard, printed as WARN when missed.
 *
 * Env: BENCH_BYTES (default 2147483648), BENCH_FILES (default 100000), BENCH_LAYERS (default 4),
 * BENCH_DIR (default a temp dir, removed afterwards), BENCH_RUNS (default 2; the best run counts),
 * BENCH_ARCHIVE=0 (no archive rows), BENCH_DAEMON=0 (no daemon row), BENCH_DAEMON_BYTES (default
 * 5500000000), BENCH_DAEMON_FILES (default 36000), BENCH_DAEMON_SLOW_RUNS (export and docker save
 * runs, default 2). The targets are checked on a first analysis as users get it by default: every
 * layer read, and the (empty) layer cache filled on the way. Rows for information: --no-cache, and
 * the gzip image analysed again with its layers from the cache.
 */
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onCleanup } from '../util/cleanup.js';
import { formatBytes } from '../util/format.js';
import { daemonRow, daemonUnavailable } from './daemon-row.js';
import { generate } from './generate.js';

const totalBytes = Number(process.env.BENCH_BYTES ?? 2 * 1024 ** 3);
const files = Number(process.env.BENCH_FILES ?? 100_000);
const layers = Number(process.env.BENCH_LAYERS ?? 4);
const runs = Number(process.env.BENCH_RUNS ?? 2);
const keep = !!process.env.BENCH_DIR;
const dir = process.env.BENCH_DIR ?? mkdtempSync(path.join(os.tmpdir(), 'imgscope-bench-'));
if (!keep) onCleanup(() => rmSync(dir, { recursive: true, force: true }));
const runOne = fileURLToPath(new URL('./run-one.js', import.meta.url));

async function timeShell(cmd: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  await execa('bash', ['-o', 'pipefail', '-c', cmd], { stdout: 'ignore' });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/**
 * cache 'fill': a first analysis as users get it by default (an empty layer cache, filled on the way);
 * 'off': --no-cache; 'warm': every layer from the cache filled before.
 */
async function imgscope(ref: string, walkOnly = false, cache: 'fill' | 'off' | 'warm' = 'off'): Promise<{ ms: number; maxRssBytes: number; finalBytes: number; files: number }> {
  const cacheDir = path.join(dir, `layer-cache-${ref.split(':')[0]}`);
  if (cache === 'fill') rmSync(cacheDir, { recursive: true, force: true });
  const env = cache === 'off' ? { IMGSCOPE_CACHE: 'off' } : { IMGSCOPE_CACHE: 'on', IMGSCOPE_CACHE_DIR: cacheDir };
  const t0 = process.hrtime.bigint();
  const r = await execa('node', [runOne, ...(walkOnly ? ['--walk-only'] : []), ref], { env });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6; // includes Node start-up, like the floors' process start
  const res = JSON.parse(r.stdout) as { ms: number; maxRssBytes: number; finalBytes: number; files: number };
  return { ...res, ms: wall };
}

async function best<T extends { ms: number }>(f: () => Promise<T>): Promise<T> {
  let b: T | undefined;
  for (let i = 0; i < runs; i++) {
    const r = await f();
    if (!b || r.ms < b.ms) b = r;
  }
  return b!;
}

/** The archive rows (docker-archive and OCI layout generated here); prints them, returns the checks. */
async function archiveRows(): Promise<Array<[string, boolean]>> {
  process.stdout.write(`generating ${formatBytes(totalBytes)} in ${files} files over ${layers} layers in ${dir} …\n`);
  const t0 = Date.now();
  const g = await generate({ dir, layers, filesPerLayer: Math.floor(files / layers), totalBytes });
  process.stdout.write(`generated ${g.files} files, ${formatBytes(g.contentBytes)} of content in ${((Date.now() - t0) / 1000).toFixed(1)} s\n\n`);

  // Flush the freshly written files (write-back would compete with the runs), then warm the page cache
  // for every input, so no run pays for a cold read.
  await timeShell('sync');
  await timeShell([g.dockerArchive, ...g.layerTars, ...g.layerGz].map((f) => `cat ${f} > /dev/null`).join(' && '));
  const tarFloor = await best(async () => ({ ms: await timeShell(g.layerTars.map((t) => `tar -tf ${t}`).join(' && ')) }));
  const plainWalk = await best(() => imgscope(`docker-archive:${g.dockerArchive}`, true));
  const plain = await best(() => imgscope(`docker-archive:${g.dockerArchive}`, false, 'fill'));
  const plainOff = await best(() => imgscope(`docker-archive:${g.dockerArchive}`, false, 'off'));
  const gzFloor = await best(async () => ({ ms: await timeShell(g.layerGz.map((t) => `gzip -dc ${t} | tar -t`).join(' && ')) }));
  const gz = await best(() => imgscope(`oci:${g.ociDir}`, false, 'fill'));
  const gzWarm = await best(() => imgscope(`oci:${g.ociDir}`, false, 'warm'));
  // the generated files are not needed any more: the daemon row needs the disk
  if (!keep) rmSync(dir, { recursive: true, force: true });

  const rows: Array<[string, string, string, string, string]> = [
    ['uncompressed docker-archive, walk only', `${plainWalk.ms.toFixed(0)} ms`, formatBytes(plainWalk.maxRssBytes), `tar -tf: ${tarFloor.ms.toFixed(0)} ms`, (plainWalk.ms / tarFloor.ms).toFixed(2)],
    ['uncompressed docker-archive, full analysis (first run: empty layer cache, filled)', `${plain.ms.toFixed(0)} ms`, formatBytes(plain.maxRssBytes), `tar -tf: ${tarFloor.ms.toFixed(0)} ms`, (plain.ms / tarFloor.ms).toFixed(2)],
    ['uncompressed docker-archive, full analysis, --no-cache', `${plainOff.ms.toFixed(0)} ms`, formatBytes(plainOff.maxRssBytes), `tar -tf: ${tarFloor.ms.toFixed(0)} ms`, (plainOff.ms / tarFloor.ms).toFixed(2)],
    ['gzip OCI layout, full analysis (first run: empty layer cache, filled)', `${gz.ms.toFixed(0)} ms`, formatBytes(gz.maxRssBytes), `gzip -dc | tar -t: ${gzFloor.ms.toFixed(0)} ms`, (gz.ms / gzFloor.ms).toFixed(2)],
    ['gzip OCI layout, full analysis, again (layers from the layer cache)', `${gzWarm.ms.toFixed(0)} ms`, formatBytes(gzWarm.maxRssBytes), `gzip -dc | tar -t: ${gzFloor.ms.toFixed(0)} ms`, (gzWarm.ms / gzFloor.ms).toFixed(2)],
  ];
  process.stdout.write(`image: ${formatBytes(plain.finalBytes)} final, ${plain.files} files; best of ${runs} runs; ${os.cpus().length} CPUs\n`);
  table(rows);
  const finals = [plain, plainOff, gz, gzWarm].map((r) => r.finalBytes);
  return [
    ['peak RSS < 300 MB (uncompressed)', Math.max(plain.maxRssBytes, plainOff.maxRssBytes) < 300e6],
    ['peak RSS < 300 MB (gzip)', Math.max(gz.maxRssBytes, gzWarm.maxRssBytes) < 300e6],
    // withdrawn as a target (issue 14): kept as a regression guard, it does not fail the bench
    ['(guard) uncompressed (full analysis) no slower than tar -tf', plain.ms <= tarFloor.ms],
    ['gzip within 1.5x of gzip -dc | tar -t', gz.ms <= 1.5 * gzFloor.ms],
    [`every source and the cache give the same final size (${[...new Set(finals)].join(', ')})`, new Set(finals).size === 1],
  ];
}

function table(rows: string[][]): void {
  process.stdout.write('| input | imgscope wall | imgscope peak RSS | floor (same bytes) | ratio |\n|---|---:|---:|---|---:|\n');
  for (const r of rows) process.stdout.write(`| ${r.join(' | ')} |\n`);
}

const off = (v: string | undefined): boolean => v === '0' || v === 'false' || v === 'off';

/** The daemon row, or one line saying why it is skipped. */
async function daemonChecks(): Promise<Array<[string, boolean]>> {
  if (off(process.env.BENCH_DAEMON)) {
    process.stdout.write('docker-daemon row skipped (BENCH_DAEMON=0)\n');
    return [];
  }
  const why = await daemonUnavailable();
  if (why) {
    process.stdout.write(`docker-daemon row skipped: ${why}\n`);
    return [];
  }
  const say = (l: string): void => void process.stdout.write(`${l}\n`);
  mkdirSync(dir, { recursive: true });
  const r = await daemonRow(dir, runs, Number(process.env.BENCH_DAEMON_SLOW_RUNS ?? 2), say);
  process.stdout.write('| input | imgscope wall | imgscope peak RSS | floor (same image, same run) | ratio |\n|---|---:|---:|---|---:|\n');
  for (const row of r.rows) process.stdout.write(`| ${row.join(' | ')} |\n`);
  return r.checks;
}

async function main(): Promise<number> {
  const checks: Array<[string, boolean]> = [];
  if (off(process.env.BENCH_ARCHIVE)) process.stdout.write('archive rows skipped (BENCH_ARCHIVE=0)\n');
  else checks.push(...(await archiveRows()));
  process.stdout.write('\n');
  checks.push(...(await daemonChecks()));
  process.stdout.write('\n');
  for (const [name, ok] of checks) process.stdout.write(`${ok ? 'PASS' : name.startsWith('(guard)') ? 'WARN' : 'FAIL'}  ${name}\n`);
  return checks.every(([name, ok]) => ok || name.startsWith('(guard)')) ? 0 : 1;
}

main()
  .then((code) => {
    if (!keep) rmSync(dir, { recursive: true, force: true });
    process.exitCode = code;
  })
  .catch((err: unknown) => {
    if (!keep) rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    process.exitCode = 2;
  });
