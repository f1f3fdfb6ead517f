/**
 * The bench's daemon image: the plan (daemon-plan.ts) streamed as a `docker save` archive straight
 * into `docker load` (nothing written to disk here: each layer tar's size is known from the plan),
 * tagged imgscope-bench/daemon:<digest of the generator and its inputs>, and reused while the daemon
 * holds it. Loading a new one first removes the bench's other tags (one bench image on disk at most).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import tar from 'tar-stream';
import { onCleanup } from '../util/cleanup.js';
import { type DaemonPlan, type PlanLayer, layerTarSize } from './daemon-plan.js';

export const BENCH_REPO = 'imgscope-bench/daemon';
/** The config label that ties an image to the inputs its tag names. */
const LABEL = 'org.imgscope.bench.inputs';

/**
 * The digest of what makes the image: the plan and the code of this module (any change to how bytes
 * are written names a new image). The plan is hashed as a whole; it is a few MB of paths and sizes.
 */
export function inputsDigest(plan: DaemonPlan): string {
  const h = createHash('sha256');
  for (const f of ['daemon-image.js', 'daemon-plan.js']) h.update(readFileSync(fileURLToPath(new URL(`./${f}`, import.meta.url))));
  h.update(JSON.stringify(plan.layers));
  return h.digest('hex');
}

/** Filler bytes: pseudo-random (a body read by mistake looks like no known format), the same on every run. */
function filler(size: number): Buffer {
  const b = Buffer.alloc(size);
  let x = 0x9e3779b9;
  for (let i = 0; i < size; i += 4) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b.writeUInt32LE(x, i);
  }
  return b;
}

const POOL = filler(8 * 1024 * 1024);
const MTIME = new Date(1_700_000_000_000);

type Sink = ReturnType<tar.Pack['entry']>;

function addEntry(p: tar.Pack, header: Parameters<tar.Pack['entry']>[0], body?: Buffer): Promise<void> {
  return new Promise((res, rej) => {
    const cb = (e?: Error | null): void => (e ? rej(e) : res());
    if (body) p.entry(header, body, cb);
    else p.entry(header, cb);
  });
}

/** Writes `c` to `e`, waiting for its drain (or its end: `done` rejects on an error). */
async function put(e: Sink, c: Buffer, done: Promise<void>): Promise<void> {
  if (!e.write(c)) await Promise.race([once(e as unknown as import('node:events').EventEmitter, 'drain'), done]);
}

/** A big file's body: the pool over and over, at the pack's pace. */
async function addBig(p: tar.Pack, path: string, size: number, seed: number): Promise<void> {
  let e!: Sink;
  const done = new Promise<void>((res, rej) => {
    e = p.entry({ name: path, size, mtime: MTIME, mode: 0o644 }, (err) => (err ? rej(err) : res()));
  });
  const chunk = 1024 * 1024;
  for (let off = 0, at = (seed * 7919 * 512) % POOL.length; off < size; ) {
    const n = Math.min(chunk, size - off, POOL.length - at);
    await put(e, POOL.subarray(at, at + n), done);
    off += n;
    at = (at + n) % POOL.length;
  }
  e.end(undefined);
  await done;
}

/** One layer's tar, into `p` (then finalized). */
async function writeLayer(p: tar.Pack, l: PlanLayer): Promise<void> {
  for (const d of l.dirs) await addEntry(p, { name: d, type: 'directory', mode: 0o755, mtime: MTIME });
  let i = 0;
  for (const f of l.files) {
    i++;
    if (f.text !== undefined) await addEntry(p, { name: f.path, size: f.size, mode: 0o644, mtime: MTIME }, Buffer.from(f.text));
    else if (f.size > POOL.length / 4) await addBig(p, f.path, f.size, i);
    else {
      const at = (i * 4099 * 16) % (POOL.length - f.size);
      await addEntry(p, { name: f.path, size: f.size, mode: i % 3 === 2 ? 0o755 : 0o644, mtime: MTIME }, POOL.subarray(at, at + f.size));
    }
  }
  p.finalize();
}

/** The config (with the inputs label) for these diff IDs. */
function imageConfig(plan: DaemonPlan, diffIds: string[], digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: MTIME.toISOString(),
      config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], Cmd: ['python3', '/opt/app/src/main.py'], Labels: { [LABEL]: digest } },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: plan.layers.map((l) => ({ created: MTIME.toISOString(), created_by: l.createdBy })),
    }),
  );
}

/**
 * The archive (legacy `docker save` layout: <id>/layer.tar, <config>.json, manifest.json) into `out`.
 * Returns the image ID the daemon must give it: the config's digest.
 */
async function writeArchive(plan: DaemonPlan, name: string, digest: string, out: Writable): Promise<string> {
  const outer = tar.pack();
  const piped = pipeline(outer, out);
  // `docker load` gone (it failed, or an interrupt stopped it): every wait below ends with its error
  const broken = piped.then(() => new Promise<never>(() => {}));
  broken.catch(() => {});
  const diffIds: string[] = [];
  const paths: string[] = [];
  for (const [i, l] of plan.layers.entries()) {
    const id = createHash('sha256').update(`${digest} ${i}`).digest('hex');
    paths.push(`${id}/layer.tar`);
    let entry!: Sink;
    const written = new Promise<void>((res, rej) => {
      entry = outer.entry({ name: `${id}/layer.tar`, size: layerTarSize(l), mtime: MTIME }, (e) => (e ? rej(e) : res()));
    });
    const inner = tar.pack();
    const hash = createHash('sha256');
    const copy = async (): Promise<void> => {
      for await (const c of inner as AsyncIterable<Buffer>) {
        hash.update(c);
        await put(entry, c, written);
      }
      entry.end(undefined);
    };
    await Promise.race([Promise.all([writeLayer(inner, l), copy(), written]), broken]);
    diffIds.push(`sha256:${hash.digest('hex')}`);
  }
  const config = imageConfig(plan, diffIds, digest);
  const configHex = createHash('sha256').update(config).digest('hex');
  await Promise.race([addEntry(outer, { name: `${configHex}.json`, mtime: MTIME }, config), broken]);
  const manifest = Buffer.from(JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [name], Layers: paths }]));
  await Promise.race([addEntry(outer, { name: 'manifest.json', mtime: MTIME }, manifest), broken]);
  outer.finalize();
  await piped;
  return `sha256:${configHex}`;
}

interface Inspected {
  Id: string;
  Config?: { Labels?: Record<string, string> | null };
  RootFS?: { Layers?: string[] };
}

async function inspect(name: string): Promise<Inspected | undefined> {
  const r = await execa('docker', ['image', 'inspect', name], { reject: false });
  if (r.exitCode !== 0) return undefined;
  return (JSON.parse(r.stdout) as Inspected[])[0];
}

/** The image when the daemon holds it as this plan and generator made it: its label names the inputs, one layer per planned layer. */
async function loaded(name: string, plan: DaemonPlan, digest: string): Promise<Inspected | undefined> {
  const img = await inspect(name);
  if (!img || img.Config?.Labels?.[LABEL] !== digest || img.RootFS?.Layers?.length !== plan.layers.length) return undefined;
  return img;
}

/** Removes the bench's other images (older generators or sizes), so that one at most takes disk. */
async function removeOthers(name: string): Promise<string[]> {
  const r = await execa('docker', ['image', 'ls', BENCH_REPO, '--format', '{{.Repository}}:{{.Tag}}']);
  const others = r.stdout.split('\n').filter((t) => t && t !== name);
  if (others.length) await execa('docker', ['image', 'rm', ...others]);
  return others;
}

/** Streams the archive into `docker load`; on any failure or interrupt the load is stopped and nothing half-made is kept. */
async function load(plan: DaemonPlan, name: string, digest: string): Promise<string> {
  const child = spawn('docker', ['load', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.resume();
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await exited;
    // docker tags the image only once every layer is in: an image under this name that is not the planned one is removed
    if ((await inspect(name)) && !(await loaded(name, plan, digest))) await execa('docker', ['image', 'rm', '-f', name], { reject: false });
  };
  const unregister = onCleanup(stop);
  try {
    const [id, code] = await Promise.all([writeArchive(plan, name, digest, child.stdin), exited]);
    if (code !== 0) throw new Error(`docker load exited with ${code}: ${stderr.trim().split('\n').pop() ?? ''}`);
    return id;
  } catch (err) {
    await stop();
    throw err;
  } finally {
    unregister();
  }
}

export interface BenchImage {
  name: string;
  id: string;
  /** false when it was generated and loaded in this run. */
  reused: boolean;
  /** What generating and loading it took (0 when reused). */
  ms: number;
  /** Bench images of other inputs removed first. */
  removed: string[];
}

/** The plan's image in the daemon: reused when there (label and layers match), else generated and loaded. */
export async function ensureImage(plan: DaemonPlan, say: (line: string) => void): Promise<BenchImage> {
  const digest = inputsDigest(plan);
  const name = `${BENCH_REPO}:${digest.slice(0, 16)}`;
  const have = await loaded(name, plan, digest);
  if (have) return { name, id: have.Id, reused: true, ms: 0, removed: [] };
  const removed = await removeOthers(name);
  if (removed.length) say(`removed older bench images: ${removed.join(', ')}`);
  say(`generating ${name} and loading it into the daemon (docker load; minutes at 5 GB) …`);
  const t0 = Date.now();
  const id = await load(plan, name, digest);
  const got = await inspect(name);
  if (got?.Id !== id) throw new Error(`docker load: ${name} is ${got?.Id ?? 'missing'}, the archive's config is ${id}`);
  return { name, id, reused: false, ms: Date.now() - t0, removed };
}
