/**
 * The bench's docker-daemon row: an image of BENCH_DAEMON_BYTES (default 5.5 GB)
 * in BENCH_DAEMON_FILES (default 36,000) files in the daemon (daemon-image.ts), analysed by the CLI
 * through the engine's layer store and through the export, next to `docker save NAME > /dev/null`,
 * all in the same run. Targets: the store read under 2 s, at least 20x faster than `docker save`,
 * peak RSS under 300 MB. BENCH_DAEMON=0 skips it; it skips itself, with one line, when no daemon is
 * reachable or its layer store cannot be read from here.
 */
import { accessSync, constants, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { formatBytes } from '../util/format.js';
import { daemonPlan } from './daemon-plan.js';
import { ensureImage } from './daemon-image.js';

export interface Timed {
  ms: number;
  maxRssBytes?: number;
}

export interface RowResult {
  rows: string[][];
  checks: Array<[string, boolean]>;
}

/** Why the row cannot run here, or undefined when it can. */
export async function daemonUnavailable(): Promise<string | undefined> {
  const host = process.env.DOCKER_HOST;
  if (host && !host.startsWith('unix://')) return `the daemon is not on this host (DOCKER_HOST=${host}): its layer store cannot be read`;
  const r = await execa('docker', ['info', '--format', '{{json .}}'], { reject: false });
  if (r.exitCode !== 0) return `no Docker daemon reachable (docker info: ${(r.stderr || r.stdout).trim().split('\n').pop() ?? 'failed'})`;
  const info = JSON.parse(r.stdout) as { Driver?: string; DockerRootDir?: string; DriverStatus?: Array<[string, string]> | null };
  if ((info.DriverStatus ?? []).some(([k, v]) => k === 'driver-type' && v.includes('snapshotter'))) return 'the daemon uses the containerd image store: no layer store to read';
  if (info.Driver !== 'overlay2') return `the daemon's storage driver is ${info.Driver ?? '(none)'}, imgscope reads overlay2 layer stores only`;
  const layerdb = path.join(info.DockerRootDir ?? '/var/lib/docker', 'image', 'overlay2', 'layerdb');
  try {
    accessSync(layerdb, constants.R_OK | constants.X_OK);
  } catch (err) {
    return `cannot read the engine's layer store ${layerdb} (${(err as NodeJS.ErrnoException).code ?? 'error'}): run the bench as root`;
  }
  return undefined;
}

async function best<T extends Timed>(n: number, f: () => Promise<T>): Promise<T> {
  let b: T | undefined;
  for (let i = 0; i < n; i++) {
    const r = await f();
    if (!b || r.ms < b.ms) b = r;
  }
  return b!;
}

const cliJs = fileURLToPath(new URL('../cli.js', import.meta.url));
const probe = new URL('./rss-probe.js', import.meta.url).href;

/** `imgscope analyze REF --no-cache --daemon-read READ -f json -o OUT`, timed from process start, with its peak RSS. */
async function analyze(dir: string, ref: string, read: 'store' | 'export', out: string): Promise<Timed> {
  const rssFile = path.join(dir, 'rss');
  rmSync(rssFile, { force: true });
  const env = { BENCH_RSS_FILE: rssFile, IMGSCOPE_CACHE_DIR: path.join(dir, 'layer-cache-daemon') };
  const t0 = process.hrtime.bigint();
  // --daemon-read store fails (exit 3) rather than export when the store cannot give the image: a success read the store
  await execa('node', ['--import', probe, cliJs, 'analyze', ref, '--no-cache', '--daemon-read', read, '--quiet', '-f', 'json', '-o', out], { env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, maxRssBytes: Number(readFileSync(rssFile, 'utf8')) };
}

async function dockerSave(name: string): Promise<Timed> {
  const t0 = process.hrtime.bigint();
  await execa('bash', ['-o', 'pipefail', '-c', `docker save ${name} > /dev/null`]);
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

interface Report {
  generatedAt?: string;
  totals: { files: number; finalBytes: number };
  layers: unknown[];
}

const readReport = (f: string): Report => JSON.parse(readFileSync(f, 'utf8')) as Report;

/** The report's figures that the plan fixes, as "name: got, want" lines for each that differs. */
function wrongFigures(r: Report & { owners?: Array<{ manager: string; bytes: number }> }, plan: ReturnType<typeof daemonPlan>): string[] {
  const owned = (m: string): number => (r.owners ?? []).filter((o) => o.manager === m).reduce((n, o) => n + o.bytes, 0);
  const want: Array<[string, number, number]> = [
    ['files', r.totals.files, plan.files],
    ['final bytes', r.totals.finalBytes, plan.finalBytes],
    ['apt-owned bytes', owned('apt'), plan.ownedBytes.apt],
    ['pip-owned bytes', owned('pip'), plan.ownedBytes.pip],
  ];
  return want.filter(([, got, exp]) => got !== exp).map(([n, got, exp]) => `${n}: ${got}, the plan ${exp}`);
}

/** The same report from both reads, but for when each was made. */
function sameReport(a: string, b: string): boolean {
  const strip = (f: string): string => JSON.stringify({ ...readReport(f), generatedAt: undefined });
  return strip(a) === strip(b);
}

/**
 * The row: the image made or reused, then `docker save` (best of `slowRuns`; it also warms the page
 * cache for what follows), the export (best of `slowRuns`), the store (best of `runs`).
 */
export async function daemonRow(dir: string, runs: number, slowRuns: number, say: (line: string) => void): Promise<RowResult> {
  const bytes = Number(process.env.BENCH_DAEMON_BYTES ?? 5.5e9);
  const files = Number(process.env.BENCH_DAEMON_FILES ?? 36_000);
  const plan = daemonPlan(bytes, files);
  const img = await ensureImage(plan, say);
  say(img.reused ? `daemon image ${img.name} (${img.id.slice(7, 19)}) already loaded, reused` : `generated and loaded ${img.name} (${img.id.slice(7, 19)}) in ${(img.ms / 1000).toFixed(1)} s`);
  const ref = `docker-daemon:${img.name}`;
  const [storeOut, exportOut] = [path.join(dir, 'daemon-store.json'), path.join(dir, 'daemon-export.json')];
  const save = await best(slowRuns, () => dockerSave(img.name));
  const exp = await best(slowRuns, () => analyze(dir, ref, 'export', exportOut));
  const store = await best(runs, () => analyze(dir, ref, 'store', storeOut));
  const rep = readReport(storeOut);
  say(`daemon image: ${formatBytes(rep.totals.finalBytes)} final (${rep.totals.finalBytes} bytes), ${rep.totals.files} files, ${rep.layers.length} layers; store best of ${runs}, export and docker save best of ${slowRuns}`);
  const ratio = (t: Timed): string => (t.ms / save.ms).toFixed(3);
  const rows = [
    ["docker-daemon, the engine's layer store (--daemon-read store), --no-cache", `${store.ms.toFixed(0)} ms`, formatBytes(store.maxRssBytes), `docker save > /dev/null: ${save.ms.toFixed(0)} ms`, ratio(store)],
    ['docker-daemon, the export (--daemon-read export), --no-cache', `${exp.ms.toFixed(0)} ms`, formatBytes(exp.maxRssBytes), `docker save > /dev/null: ${save.ms.toFixed(0)} ms`, ratio(exp)],
  ];
  const wrong = [...wrongFigures(readReport(storeOut), plan).map((w) => `store: ${w}`), ...wrongFigures(readReport(exportOut), plan).map((w) => `export: ${w}`)];
  for (const w of wrong) say(`  ${w}`);
  const checks: Array<[string, boolean]> = [
    [`daemon image at least 5 GB and 30,000 files (${formatBytes(rep.totals.finalBytes)}, ${rep.totals.files})`, rep.totals.finalBytes >= 5e9 && rep.totals.files >= 30_000],
    ['daemon, store read under 2 s (--no-cache)', store.ms < 2000],
    ['daemon, store read at least 20x faster than docker save > /dev/null', store.ms * 20 <= save.ms],
    ['peak RSS < 300 MB (daemon: store and export)', Math.max(store.maxRssBytes!, exp.maxRssBytes!) < 300e6],
    ['daemon: store and export give the same report (but for generatedAt)', sameReport(storeOut, exportOut)],
    ['daemon: files, final, apt- and pip-owned bytes as generated', wrong.length === 0],
  ];
  return { rows, checks };
}
