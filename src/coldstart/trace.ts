/**
 * `coldstart --trace-files`: which files of the image a container opens before it is ready
 * (docs/coldstart.md "Startup working set"). fanotify cannot watch a container's overlay mount, but it
 * can watch the filesystem that holds the daemon's layer directories: an open through overlayfs shows
 * up as `<DockerRootDir>/overlay2/<cache-id>/diff/<path>` in the layer whose copy is visible. Debian's
 * `fatrace` reports those events; imgscope keeps the ones whose process is in the container's PID
 * namespace, maps each cache-id back to the image layer (layerdb, docs/formats.md "Engine layer
 * stores") and sizes each file once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, lstatSync, openSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { envError } from '../errors.js';
import { daemonError } from '../image/daemon.js';
import type { WorkingSet } from '../report/types.js';
import { onCleanup } from '../util/cleanup.js';
import { chainIds } from './cold.js';

interface WorkingSetGroup {
  files: number;
  bytes: number;
}

/** One open event of a file in one of the image's layer directories. */
export interface OpenEvent {
  /** Epoch nanoseconds, from fatrace's clock. */
  t: bigint;
  pid: number;
  /** The PID namespace (`pid:[N]`) of the process when the event arrived, or null when it had exited. */
  ns: string | null;
  layer: number;
  /** Path inside the image, no leading slash. */
  path: string;
  /** Path on the host, for sizing. */
  hostPath: string;
}

/** `1795699418.870737 sh(16316): O   /var/lib/…` (fatrace -tt). */
const LINE = /^(\d+)\.(\d{1,9}) (.*)\((\d+)\): ([A-Z+<>]+)\s+(.*)$/;

export function parseFatraceLine(line: string): { t: bigint; comm: string; pid: number; types: string; file: string } | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const frac = m[2]!.padEnd(9, '0');
  return { t: BigInt(m[1]!) * 1_000_000_000n + BigInt(frac), comm: m[3]!, pid: Number(m[4]), types: m[5]!, file: m[6]! };
}

interface Attribution {
  owner: string;
  kind: string;
}

/**
 * The working set (pure over its inputs): events of the container's namespace between start and
 * ready, each image path once, each inode's bytes once. `sizeOf` gives a host file's size and inode
 * (undefined when it is not a regular file); `attr` the owner and kind of an image path.
 */
export function workingSet(
  events: OpenEvent[],
  window: { ns: string; from: bigint; to: bigint },
  sizeOf: (hostPath: string) => { bytes: number; inode: string } | undefined,
  attr: (path: string) => Attribution | undefined,
  totals: { finalBytes: number; imageBytes: number },
): WorkingSet {
  const seen = new Set<string>();
  const inodes = new Set<string>();
  let unverified = 0;
  const files: Array<{ path: string; bytes: number; layer: number; owner: string; kind: string }> = [];
  for (const e of events) {
    if (e.t < window.from || e.t > window.to) continue;
    if (e.ns === null) {
      unverified++;
      continue;
    }
    if (e.ns !== window.ns || seen.has(e.path)) continue;
    seen.add(e.path);
    const st = sizeOf(e.hostPath);
    if (!st) continue; // a directory, or gone
    const bytes = inodes.has(st.inode) ? 0 : st.bytes;
    inodes.add(st.inode);
    const a = attr(e.path) ?? { owner: 'unowned', kind: 'other' };
    files.push({ path: e.path, bytes, layer: e.layer, owner: a.owner, kind: a.kind });
  }
  const group = <K extends string | number>(key: (f: (typeof files)[number]) => K): Array<WorkingSetGroup & { key: K }> => {
    const m = new Map<K, WorkingSetGroup>();
    for (const f of files) {
      const k = key(f);
      const g = m.get(k) ?? { files: 0, bytes: 0 };
      g.files++;
      g.bytes += f.bytes;
      m.set(k, g);
    }
    return [...m].map(([k, g]) => ({ key: k, ...g }));
  };
  const byBytes = (a: { bytes: number; files: number }, b: { bytes: number; files: number }): number => b.bytes - a.bytes || b.files - a.files;
  const bytes = files.reduce((s, f) => s + f.bytes, 0);
  return {
    files: files.length,
    bytes,
    finalBytes: totals.finalBytes,
    imageBytes: totals.imageBytes,
    share: totals.finalBytes > 0 ? bytes / totals.finalBytes : 0,
    byLayer: group((f) => f.layer).map(({ key, ...g }) => ({ layer: key, ...g })).sort((a, b) => a.layer - b.layer),
    byKind: group((f) => f.kind).map(({ key, ...g }) => ({ kind: key, ...g })).sort(byBytes),
    byOwner: group((f) => f.owner).map(({ key, ...g }) => ({ owner: key, ...g })).sort(byBytes).slice(0, 15),
    largest: [...files].sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : 1)).slice(0, 20),
    opened: files.map((f) => ({ path: f.path, bytes: f.bytes, layer: f.layer })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    unverifiedOpens: unverified,
  };
}

function nsOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

/** A running fatrace over the daemon's layer directories, keeping the opens of one image's layers. */
export class FileTracer {
  readonly events: OpenEvent[] = [];
  private readonly nsCache = new Map<number, string | null>();
  private exited: Promise<void>;
  private unregister: () => void;

  private constructor(
    private readonly proc: ChildProcess,
    private readonly layerDirs: Map<string, number>,
    private readonly overlayDir: string,
  ) {
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    this.unregister = onCleanup(() => this.stop());
  }

  /**
   * Checks what tracing needs (Linux, root, a local daemon with the overlay2 driver, fatrace) and
   * starts it; throws an ImgscopeError whose message is the one line to show otherwise.
   */
  static async start(docker: Docker, diffIds: string[]): Promise<FileTracer> {
    if (process.platform !== 'linux') throw envError('--trace-files needs Linux (fanotify)');
    if (process.getuid?.() !== 0) throw envError('--trace-files needs root (fanotify and the daemon\'s layer database are root-only)');
    let info: { DockerRootDir?: string; Driver?: string };
    try {
      info = (await docker.info()) as typeof info;
    } catch (err) {
      throw daemonError('reading the daemon\'s storage driver', err);
    }
    const root = info.DockerRootDir ?? '/var/lib/docker';
    if (info.Driver !== 'overlay2') throw envError(`--trace-files reads overlay2 layer directories; this daemon uses the '${info.Driver ?? 'unknown'}' storage driver`);
    const overlayDir = path.join(root, 'overlay2');
    const layerdb = path.join(root, 'image', 'overlay2', 'layerdb', 'sha256');
    if (!existsSync(layerdb)) throw envError(`--trace-files needs the daemon on this host: ${layerdb} does not exist here`);
    const layerDirs = new Map<string, number>();
    chainIds(diffIds).forEach((c, i) => {
      try {
        const cacheId = readFileSync(path.join(layerdb, c.replace(/^sha256:/, ''), 'cache-id'), 'utf8').trim();
        if (/^[0-9a-f]{64}$/.test(cacheId)) layerDirs.set(cacheId, i);
      } catch {
        /* an empty layer has no directory of its own */
      }
    });
    if (layerDirs.size === 0) throw envError(`--trace-files: none of the image's layers is in ${layerdb}`);
    // fatrace -c watches the mount of its working directory; stdbuf makes it print each line at once.
    const proc = spawn('stdbuf', ['-oL', 'fatrace', '-c', '-tt', '-f', 'O'], { cwd: overlayDir, stdio: ['ignore', 'pipe', 'pipe'] });
    const tracer = new FileTracer(proc, layerDirs, overlayDir);
    await tracer.handshake(path.join(root, 'tmp'));
    return tracer;
  }

  /** Waits until fatrace reports an open of a file imgscope made: from then on it sees every open. */
  private async handshake(tmpDir: string): Promise<void> {
    const probe = path.join(existsSync(tmpDir) ? tmpDir : this.overlayDir, `.imgscope-trace-${randomUUID()}`);
    let stderr = '';
    this.proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    let buf = '';
    let seenProbe = false;
    this.proc.stdout!.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!seenProbe && line.endsWith(probe)) seenProbe = true;
        this.take(line);
      }
    });
    const spawnError = new Promise<never>((_, reject) =>
      this.proc.once('error', (err: NodeJS.ErrnoException) =>
        reject(envError(err.code === 'ENOENT' ? '--trace-files needs fatrace and stdbuf on the PATH (Debian: apt-get install fatrace)' : `--trace-files: cannot run fatrace (${err.message})`, err)),
      ),
    );
    spawnError.catch(() => undefined);
    try {
      for (let i = 0; i < 100 && !seenProbe; i++) {
        if (this.proc.exitCode !== null) break;
        closeSync(openSync(probe, 'w'));
        await Promise.race([new Promise((r) => setTimeout(r, 50)), spawnError]);
      }
    } finally {
      rmSync(probe, { force: true });
    }
    if (!seenProbe) {
      await this.stop();
      const why = stderr.trim().split('\n').pop() || (this.proc.exitCode !== null ? `it exited with ${this.proc.exitCode}` : 'it reported nothing for 5 s');
      throw envError(`--trace-files: fatrace did not start (${why})`);
    }
  }

  private take(line: string): void {
    const ev = parseFatraceLine(line);
    if (!ev || !ev.types.includes('O')) return;
    const prefix = this.overlayDir + '/';
    if (!ev.file.startsWith(prefix)) return;
    const rest = ev.file.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash !== 64 || !rest.startsWith('/diff/', 64)) return;
    const layer = this.layerDirs.get(rest.slice(0, 64));
    if (layer === undefined) return;
    let ns = this.nsCache.get(ev.pid);
    if (ns === undefined) {
      ns = nsOf(ev.pid);
      if (ns !== null) this.nsCache.set(ev.pid, ns);
    }
    this.events.push({ t: ev.t, pid: ev.pid, ns, layer, path: rest.slice(70), hostPath: ev.file });
  }

  /** The PID namespace of a container's init process (read while it runs). */
  static namespaceOf(pid: number): string | null {
    return nsOf(pid);
  }

  async stop(): Promise<void> {
    this.unregister();
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGINT');
      const killer = setTimeout(() => this.proc.kill('SIGKILL'), 2000);
      await this.exited;
      clearTimeout(killer);
    }
  }
}

/** Host file → size and inode, for regular files only. */
export function hostFileSize(p: string): { bytes: number; inode: string } | undefined {
  try {
    const st = lstatSync(p);
    return st.isFile() ? { bytes: st.size, inode: `${st.dev}:${st.ino}` } : undefined;
  } catch {
    return undefined;
  }
}
