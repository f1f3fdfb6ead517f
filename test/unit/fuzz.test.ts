/**
 * A seeded fuzzer over valid images (issue 12): truncations, bit flips, tar header field mutations
 * (checksum re-sealed, so the damage reaches the parsers behind it), JSON value mutations (digests
 * re-sealed, so they reach the config and manifest readers), and compression swaps of the whole
 * archive. It asserts only the promises: an analysis either succeeds or fails with a one-line error
 * meant for the user (exit 2 or 3), never a JavaScript internal; time and memory stay bounded; the
 * CLI writes no report when it fails. A failing case prints its seed: IMGSCOPE_FUZZ_SEED=<seed>
 * IMGSCOPE_FUZZ_CASES=1 reruns it alone.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { analyzeReference } from '../../src/pipeline.js';
import { ImgscopeError } from '../../src/errors.js';
import { run } from '../helpers/cli.js';
import { type FixtureImage, ociLayoutFiles, tmpDir, writeDockerArchiveLegacy, writeDockerArchiveV25, writeOciArchive } from '../helpers/images.js';
import { file, sha256hex, text } from '../helpers/tar.js';

const CASES = Number(process.env.IMGSCOPE_FUZZ_CASES ?? 2500);
const SEED = Number(process.env.IMGSCOPE_FUZZ_SEED ?? 20261126);

/** mulberry32: a small seeded generator, so every case can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const image = (compression: 'none' | 'gzip' | 'zstd'): FixtureImage => ({
  layers: [
    {
      compression,
      entries: [
        text('var/lib/dpkg/status', 'Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13\nInstalled-Size: 20\n\n'),
        text('var/lib/dpkg/info/zlib1g.list', '/usr/lib/libz.so.1\n'),
        file('usr/lib/libz.so.1', 2000),
      ],
    },
    {
      compression: compression === 'none' ? 'none' : 'zstd',
      entries: [
        text('usr/lib/python3/site-packages/tiny-1.0.dist-info/RECORD', 'tiny/__init__.py,,\ntiny/core.py,sha256=x,4000\n'),
        file('usr/lib/python3/site-packages/tiny/__init__.py', 10),
        file('usr/lib/python3/site-packages/tiny/core.py', 4000),
        file('app/model.safetensors', 30000),
        text('app/.env', 'SECRET=1\n'),
      ],
      createdBy: 'COPY . /app',
    },
  ],
});

/** Offsets of 512-byte blocks that hold a valid tar header (outer archive and uncompressed layers). */
function headerOffsets(buf: Buffer): number[] {
  const out: number[] = [];
  for (let off = 0; off + 512 <= buf.length; off += 512) {
    const f = buf.toString('latin1', off + 148, off + 156).replace(/[\0 ]/g, '');
    if (!/^[0-7]+$/.test(f)) continue;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : buf[off + i]!;
    if (sum === parseInt(f, 8)) out.push(off);
  }
  return out;
}

function reseal(buf: Buffer, off: number): void {
  buf.fill(32, off + 148, off + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += buf[off + i]!;
  buf.write(sum.toString(8).padStart(6, '0') + '\0 ', off + 148, 'latin1');
}

const FIELDS: Array<[number, number]> = [
  [0, 100], // name
  [124, 12], // size
  [156, 1], // typeflag
  [157, 100], // linkname
  [257, 8], // magic + version
  [345, 155], // prefix
];
const FLAGS = '0125LKxgSVD7\0 3456Z';
const SIZES = ['77777777777', '00000000000', '00000001000', '-1', 'zzz', '\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff', '\x80\0\0\0\0\0\0\x01\0\0\0\0'];

function mutateHeader(buf: Buffer, r: () => number): string {
  const offs = headerOffsets(buf);
  if (offs.length === 0) return 'no header';
  const off = offs[Math.floor(r() * offs.length)]!;
  const [start, len] = FIELDS[Math.floor(r() * FIELDS.length)]!;
  if (start === 156) buf[off + start] = FLAGS.charCodeAt(Math.floor(r() * FLAGS.length));
  else if (start === 124) Buffer.from(SIZES[Math.floor(r() * SIZES.length)]!.padEnd(12, '\0'), 'latin1').copy(buf, off + start, 0, 12);
  else {
    const choices = ['../../etc/passwd', '/', '', 'a'.repeat(len), '\x1b[31mred', 'x\xffy', './.wh..wh..opq', '.wh.app'];
    const v = Buffer.from(choices[Math.floor(r() * choices.length)]!, 'latin1');
    buf.fill(0, off + start, off + start + len);
    v.copy(buf, off + start, 0, Math.min(len, v.length));
  }
  if (r() < 0.9) reseal(buf, off);
  return `header@${off}+${start}`;
}

const JSON_VALUES: unknown[] = [5, null, [], {}, 'x', -1, 1e300, true, [5], [{}], { digest: 5 }, 'sha256:' + '0'.repeat(64), '../../../etc/passwd'];

/** Sets a random leaf or branch of a JSON value to an odd value. */
function mutateJson(v: unknown, r: () => number): unknown {
  if (typeof v !== 'object' || v === null || r() < 0.25) return JSON_VALUES[Math.floor(r() * JSON_VALUES.length)];
  const keys = Object.keys(v as object);
  if (keys.length === 0) return v;
  const k = keys[Math.floor(r() * keys.length)]!;
  const copy = (Array.isArray(v) ? [...v] : { ...(v as object) }) as Record<string, unknown>;
  copy[k] = mutateJson(copy[k], r);
  return copy;
}

interface Base {
  name: string;
  bytes: Buffer;
  transport: 'docker-archive' | 'oci-archive';
}

/** An OCI layout whose index, manifest or config was mutated and re-sealed (digests recomputed). */
async function mutatedLayout(r: () => number, dir: string): Promise<string> {
  const { files, built } = await ociLayoutFiles([{ img: image(r() < 0.5 ? 'gzip' : 'none') }]);
  const b = built[0]!;
  const blob = (d: string): string => `blobs/sha256/${d.slice(7)}`;
  const put = (obj: unknown): { digest: string; size: number } => {
    const buf = Buffer.from(JSON.stringify(obj));
    const digest = `sha256:${sha256hex(buf)}`;
    files.set(blob(digest), buf);
    return { digest, size: buf.length };
  };
  let config: unknown = JSON.parse(b.config.toString());
  let manifest = JSON.parse(b.manifest.toString()) as Record<string, unknown>;
  let index = JSON.parse(files.get('index.json')!.toString()) as Record<string, unknown>;
  const which = Math.floor(r() * 3);
  if (which === 0) config = mutateJson(config, r);
  if (which === 1) manifest = mutateJson(manifest, r) as Record<string, unknown>;
  if (which === 2) index = mutateJson(index, r) as Record<string, unknown>;
  if (which === 0) {
    const c = put(config);
    manifest = { ...manifest, config: { ...(manifest.config as object), ...c } };
  }
  if (which <= 1) {
    const m = put(manifest);
    const list = Array.isArray(index.manifests) ? index.manifests : [];
    index = { ...index, manifests: list.map((d: Record<string, unknown>) => ({ ...d, ...m })) };
  }
  files.set('index.json', Buffer.from(JSON.stringify(index)));
  for (const [name, data] of files) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), data);
  }
  return `oci:${dir}`;
}

const INTERNAL = [TypeError, RangeError, ReferenceError, EvalError, URIError];

/** Checks the promises for one failure; returns what was wrong, or undefined. */
function broken(err: unknown): string | undefined {
  if (!(err instanceof ImgscopeError)) return `not a user error: ${(err as Error)?.stack ?? String(err)}`;
  if (err.exitCode !== 2 && err.exitCode !== 3) return `exit code ${err.exitCode}`;
  if (err.message.includes('\n')) return 'more than one line';
  for (let c: unknown = err; c; c = (c as { cause?: unknown }).cause) {
    if (INTERNAL.some((k) => c instanceof k)) return `a JavaScript internal behind it: ${(c as Error).stack}`;
  }
  return undefined;
}

describe('fuzz: mutated images keep the promises', () => {
  it(`${CASES} seeded cases (seed ${SEED})`, async () => {
    const dir = tmpDir('imgscope-fuzz-');
    const bases: Base[] = [];
    for (const [name, write, c] of [
      ['legacy', writeDockerArchiveLegacy, 'none'],
      ['v25-gzip', writeDockerArchiveV25, 'gzip'],
      ['v25-none', writeDockerArchiveV25, 'none'],
    ] as const) {
      const p = path.join(dir, `${name}.tar`);
      await write(p, image(c));
      bases.push({ name, bytes: readFileSync(p), transport: 'docker-archive' });
    }
    const oci = path.join(dir, 'oci.tar');
    await writeOciArchive(oci, [{ img: image('gzip') }], { nested: true });
    bases.push({ name: 'oci-nested', bytes: readFileSync(oci), transport: 'oci-archive' });

    const rssStart = process.memoryUsage().rss;
    const t0 = Date.now();
    let ok = 0;
    let failed = 0;
    let slowest = 0;
    const problems: string[] = [];
    for (let n = 0; n < CASES; n++) {
      const seed = SEED + n;
      const r = rng(seed);
      const kind = r();
      let ref: string;
      let what: string;
      const caseDir = path.join(dir, `c${n % 8}`);
      rmSync(caseDir, { recursive: true, force: true });
      mkdirSync(caseDir);
      if (kind < 0.15) {
        ref = await mutatedLayout(r, path.join(caseDir, 'layout'));
        what = 'json';
      } else {
        const base = bases[Math.floor(r() * bases.length)]!;
        let buf = Buffer.from(base.bytes);
        const m = r();
        if (m < 0.3) {
          buf = buf.subarray(0, Math.floor(r() * buf.length));
          what = `${base.name} truncated to ${buf.length}`;
        } else if (m < 0.6) {
          const flips = 1 + Math.floor(r() * 8);
          for (let k = 0; k < flips; k++) {
            const at = Math.floor(r() * buf.length);
            buf[at] = buf[at]! ^ (1 << Math.floor(r() * 8));
          }
          what = `${base.name} ${flips} bit flips`;
        } else {
          what = `${base.name} ${mutateHeader(buf, r)}`;
        }
        const swap = r();
        let p = path.join(caseDir, 'img.tar');
        if (swap < 0.15) {
          buf = gzipSync(buf, { level: 1 });
          p += '.gz';
          what += ' gzipped';
        }
        writeFileSync(p, buf);
        if (swap >= 0.15 && swap < 0.2) {
          execFileSync('zstd', ['-q', '-f', '--rm', p, '-o', `${p}.zst`]);
          p += '.zst';
          what += ' zstd';
        }
        ref = `${base.transport}:${p}`;
      }
      const t = Date.now();
      try {
        await analyzeReference(ref); // the cache as the project sets it (vitest.config.ts runs this file with it off and on)
        ok++;
      } catch (err) {
        failed++;
        const why = broken(err);
        if (why) problems.push(`seed ${seed} (${what}): ${why}`);
      }
      const took = Date.now() - t;
      slowest = Math.max(slowest, took);
      if (took > 5000) problems.push(`seed ${seed} (${what}): took ${took} ms`);
      if (problems.length >= 5) break;
    }
    const rssGrowth = process.memoryUsage().rss - rssStart;
    expect(problems, problems.join('\n\n')).toEqual([]);
    // Both outcomes happen: the mutations are neither all harmless nor all fatal.
    expect(ok).toBeGreaterThan(CASES / 50);
    expect(failed).toBeGreaterThan(CASES / 5);
    expect(rssGrowth).toBeLessThan(1024 ** 3);
    console.log(`fuzz: ${CASES} cases in ${Date.now() - t0} ms, ${ok} analysed, ${failed} refused, slowest ${slowest} ms, RSS +${Math.round(rssGrowth / 1e6)} MB`);
  }, 180_000);

  it('through the CLI: a refused image exits 2 with one line and writes no report', async () => {
    const dir = tmpDir('imgscope-fuzz-cli-');
    const p = path.join(dir, 'img.tar');
    await writeDockerArchiveV25(p, image('gzip'));
    const base = readFileSync(p);
    const r = rng(SEED);
    let refused = 0;
    for (let n = 0; n < 12; n++) {
      const buf = Buffer.from(base);
      if (n % 2) buf.subarray(0, Math.floor(r() * buf.length)).copy(buf);
      mutateHeader(buf, r);
      const cut = n % 2 ? buf.subarray(0, Math.floor(buf.length * r())) : buf;
      const f = path.join(dir, `m${n}.tar`);
      writeFileSync(f, cut);
      const out = path.join(dir, `r${n}.json`);
      const res = await run(['analyze', `docker-archive:${f}`, '-f', 'json', '-o', out]);
      expect([0, 2, 3]).toContain(res.exitCode);
      if (res.exitCode === 0) continue;
      refused++;
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toMatch(/^imgscope: /);
      expect(existsSync(out)).toBe(false);
    }
    expect(refused).toBeGreaterThan(0);
  });
});
