import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type Docker from 'dockerode';
import { envError, ImgscopeError, inputError } from '../errors.js';
import { daemonAddress, daemonError, dockerClient, pullRecorded } from '../image/daemon.js';
import { isPlainHttpRegistry, parseRegistryRef } from '../image/registry.js';
import { imageName, notRunnable, runsContainers } from '../image/transports.js';
import type { Platform } from '../image/types.js';
import { analyzeReference } from '../pipeline.js';
import type { ColdStart, DeviceRequest, ImportProfile, PullTrace, RunPhases, Stats, WorkingSet } from '../report/types.js';
import { onCleanup } from '../util/cleanup.js';
import { escapeText } from '../util/escape.js';
import { formatRate } from '../util/format.js';
import type { OnProgress } from '../util/progress.js';
import { ColdPull } from './cold.js';
import { parseImportTimes } from './imports.js';
import { type EngineKind, engineKind, firstPassEnd, PodmanApi, podmanPullEvents, podmanPullsPlainHttp, rlimitRefusal } from './podman.js';
import { pullBreakdown } from './pull.js';
import { type Relay, startRelay } from './relay.js';
import { summarize } from './stats.js';
import { FileTracer, hostFileSize, workingSet as workingSetOf } from './trace.js';

export const LABEL = 'imgscope';

export interface ColdStartOptions {
  runs: number;
  warmup: number;
  gpus?: DeviceRequest;
  gpusFlag?: string;
  http?: string;
  log?: string;
  timeoutS: number;
  /** Remove the image under every reference and pull it before each run (cold.ts). */
  cold: boolean;
  /** With cold: pull through a relay limited to this many bytes per second (relay.ts). */
  bandwidthBytesPerSec?: number;
  /** Platform of the image to pull when the daemon does not hold it yet. */
  platform?: Platform;
  env: string[];
  publish: string[];
  imports: boolean;
  /** One extra run under fatrace: the files opened before ready (trace.ts). */
  traceFiles?: boolean;
  /** Health check interval used for the measurement (the image's own is usually 30 s). */
  healthIntervalMs: number;
  onProgress?: OnProgress;
}

/** Wall-clock nanoseconds with hrtime resolution, comparable with the Engine's event `timeNano`. */
const anchorWall = BigInt(Date.now()) * 1_000_000n;
const anchorHr = process.hrtime.bigint();
export function nowNs(): bigint {
  return anchorWall + (process.hrtime.bigint() - anchorHr);
}
const ms = (ns: bigint): number => Number(ns) / 1e6;

interface EngineEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  timeNano?: number | string;
}

/** Collects Engine events by container id and action, and lets runs wait for one. */
class EventLog {
  private readonly seen = new Map<string, Map<string, bigint>>();
  private readonly waiters = new Set<() => void>();
  private stream?: Readable;

  async open(docker: Docker, session: string, sinceNs: bigint): Promise<void> {
    const since = String(Number(sinceNs / 1_000_000_000n) - 1);
    try {
      this.stream = (await docker.getEvents({ since, filters: { label: [`${LABEL}.session=${session}`] } } as never)) as unknown as Readable;
    } catch (err) {
      throw daemonError('subscribing to engine events', err);
    }
    let buf = '';
    this.stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) this.add(JSON.parse(line) as EngineEvent);
      }
    });
    this.stream.on('error', () => undefined);
  }

  private add(ev: EngineEvent): void {
    const id = ev.Actor?.ID ?? ev.id;
    const action = ev.Action ?? ev.status;
    if (!id || !action || ev.timeNano === undefined) return;
    let m = this.seen.get(id);
    if (!m) {
      m = new Map();
      this.seen.set(id, m);
    }
    if (!m.has(action)) m.set(action, BigInt(ev.timeNano));
    for (const w of [...this.waiters]) w();
  }

  get(id: string, action: string): bigint | undefined {
    return this.seen.get(id)?.get(action);
  }

  /** Resolves with the first of `actions` seen for `id`, or undefined at the deadline. */
  wait(id: string, actions: string[], deadlineNs: bigint): Promise<{ action: string; t: bigint } | undefined> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        for (const a of actions) {
          const t = this.get(id, a);
          if (t !== undefined) {
            resolve({ action: a, t });
            return true;
          }
        }
        return false;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(undefined);
      }, Math.max(0, ms(deadlineNs - nowNs())));
      const waiter = (): void => {
        if (check()) {
          clearTimeout(timer);
          this.waiters.delete(waiter);
        }
      };
      this.waiters.add(waiter);
    });
  }

  close(): void {
    this.stream?.destroy();
  }
}

/** Splits a non-TTY container log stream (8-byte frame headers) into text. */
export function demuxLogs(buf: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const kind = buf[i]!;
    const size = buf.readUInt32BE(i + 4);
    const body = buf.subarray(i + 8, i + 8 + size);
    (kind === 2 ? err : out).push(body);
    i += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** `[IP:]HOST:CONTAINER[/proto]` → port bindings, bound to 127.0.0.1 unless an address is given. */
export function parsePublish(specs: string[]): { exposed: Record<string, object>; bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> } {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const spec of specs) {
    const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]):)?(\d+):(\d+)(?:\/(tcp|udp))?$/i.exec(spec);
    if (!m) throw inputError(`-p '${spec}': expected [IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]`);
    const key = `${m[3]}/${(m[4] ?? 'tcp').toLowerCase()}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: m[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', HostPort: m[2]! });
  }
  return { exposed, bindings };
}

async function lastLogLines(c: Docker.Container, n: number): Promise<string> {
  try {
    const raw = (await c.logs({ stdout: true, stderr: true, tail: n, follow: false })) as unknown as Buffer;
    const { stdout, stderr } = demuxLogs(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)));
    const lines = `${stdout}\n${stderr}`.split('\n').map((l) => l.trim()).filter(Boolean).slice(-n);
    return lines.length ? lines.join(' | ') : '(no output)';
  } catch {
    return '(logs unavailable)';
  }
}

function gpuRuntimeError(ref: string, flag: string, err: unknown): ImgscopeError | undefined {
  const msg = (err as { json?: { message?: string }; message?: string }).json?.message ?? (err as Error).message ?? '';
  if (/could not select device driver|nvidia-container-cli|unknown or invalid runtime name: nvidia/i.test(msg)) {
    return envError(
      `${ref}: --gpus ${flag}: this Docker daemon has no NVIDIA GPU runtime (${msg.trim().replace(/\s+/g, ' ')}); install the NVIDIA Container Toolkit and restart dockerd`,
      err,
    );
  }
  return undefined;
}

/** The readiness probe a run waits for: --http, --log, or the image's own HEALTHCHECK. */
function chooseReadiness(reference: string, hc: { Test?: string[] } | null | undefined, opts: ColdStartOptions, podman?: { oci: boolean }): ColdStart['readiness'] {
  if (opts.http) return { kind: 'http', url: opts.http, note: 'HTTP GET polled every 10 ms from the host until it answers 2xx/3xx' };
  if (opts.log) return { kind: 'log', pattern: opts.log, note: 'first log line matching the pattern (stdout or stderr)' };
  if (hc?.Test && hc.Test.length > 0 && hc.Test[0] !== 'NONE') {
    return {
      kind: 'healthcheck',
      test: hc.Test,
      note: podman
        ? `the image's HEALTHCHECK, run by imgscope through Podman's API, each check ${opts.healthIntervalMs} ms after the previous one ended; ready is the end of the first passing check`
        : `the image's HEALTHCHECK, run every ${opts.healthIntervalMs} ms for the measurement (detection lags by up to one interval plus the check's own run time)`,
    };
  }
  const oci = podman?.oci ? ' (it is an OCI-format image: OCI images carry no HEALTHCHECK, and podman build makes OCI images unless given --format docker)' : '';
  throw inputError(`${reference}: the image has no HEALTHCHECK${oci}; give a readiness probe with --http URL (and -p) or --log REGEX`);
}

/** A relay's stand-in name for NAME: same repository and tag or digest, the relay's address as registry. */
function relayName(name: string, relayAddress: string): string {
  const r = parseRegistryRef(name);
  return `${relayAddress}/${r.repository}${r.digest ? `@${r.digest}` : `:${r.tag}`}`;
}

/** The option checks that need no daemon: a bad value is reported before anything is pulled or run. */
function checkOptions(reference: string, opts: ColdStartOptions): { logRe: RegExp | undefined; ports: ReturnType<typeof parsePublish> } {
  if (opts.runs < 1) throw inputError('--runs must be at least 1');
  if (opts.bandwidthBytesPerSec !== undefined && !opts.cold) throw inputError(`${reference}: --bandwidth shapes the pull: it needs --cold`);
  let logRe: RegExp | undefined;
  if (opts.log) {
    try {
      logRe = new RegExp(opts.log);
    } catch (err) {
      throw inputError(`--log '${opts.log}': invalid regular expression: ${(err as Error).message}`);
    }
  }
  return { logRe, ports: parsePublish(opts.publish) };
}

/** The image's HEALTHCHECK, from the daemon, or from the registry when --cold pulls an image the daemon lacks. */
async function inspectTarget(
  docker: Docker,
  name: string,
  cold: ColdPull | undefined,
  podman: PodmanApi | undefined,
): Promise<{ info?: Docker.ImageInspectInfo; hc: { Test?: string[] } | null | undefined; ociPodman?: boolean }> {
  if (cold && !cold.before) return { hc: cold.registry.runConfig?.Healthcheck };
  let info: Docker.ImageInspectInfo;
  try {
    // with --cold, the daemon may hold the image under other names only (cold.ts)
    info = await docker.getImage(cold?.before?.id ?? name).inspect();
  } catch (err) {
    const e = daemonError(`inspecting ${name}`, err);
    if ((err as { statusCode?: number }).statusCode !== 404) throw e;
    throw inputError(`image '${name}' is not in the Docker daemon (use --cold to pull it from its registry)`);
  }
  if (podman) {
    // Podman's compatible image inspect leaves the HEALTHCHECK out; its own API has it
    const p = await podman.image(info.Id).catch((err: unknown) => Promise.reject(daemonError(`inspecting ${name} through Podman's API`, err)));
    return { info, hc: p.healthcheck, ociPodman: p.manifestType.includes('oci') };
  }
  return { info, hc: info.Config?.Healthcheck as { Test?: string[] } | undefined };
}

/** With --cold --bandwidth: a rate-limited relay in front of the registry, and the name to pull through it. */
async function relayFor(reference: string, name: string, cold: ColdPull | undefined, opts: ColdStartOptions): Promise<{ relay?: Relay; pullName: string }> {
  if (!cold || opts.bandwidthBytesPerSec === undefined) return { pullName: name };
  const r = parseRegistryRef(name);
  if (!isPlainHttpRegistry(r.host)) {
    throw inputError(
      `${reference}: --bandwidth pulls through a relay on 127.0.0.1, which works for plain-HTTP registries only (loopback, or IMGSCOPE_INSECURE_REGISTRIES); ${r.domain} speaks HTTPS`,
    );
  }
  const [host, port] = [r.host.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''), Number(/:(\d+)$/.exec(r.host)?.[1] ?? 80)];
  const relay = await startRelay({ host, port }, opts.bandwidthBytesPerSec);
  return { relay, pullName: relayName(name, relay.address) };
}

/** What every run of one coldStart call shares: the image, how readiness is seen, the pull's setup. */
interface Target {
  docker: Docker;
  reference: string;
  name: string;
  opts: ColdStartOptions;
  readiness: ColdStart['readiness'];
  logRe: RegExp | undefined;
  ports: ReturnType<typeof parsePublish>;
  cold: ColdPull | undefined;
  relay: Relay | undefined;
  pullName: string;
  note: (msg: string) => void;
  /** Podman's own API, when the engine is Podman (podman.ts). */
  podman: PodmanApi | undefined;
}

interface RunResult {
  phases: RunPhases;
  container: Docker.Container;
  pull?: PullTrace;
  window: { from: bigint; to: bigint };
}

/**
 * The runs of one coldStart call. Every container it makes carries its session label, so removeAll
 * finds them all, the one whose create answer has not arrived yet included.
 */
class Session {
  readonly id = randomUUID();
  private readonly live = new Set<Docker.Container>();
  /** A create request in flight: Ctrl-C may come before its answer, and the daemon still makes the container. */
  private creating: Promise<Docker.Container> | undefined;
  readonly events = new EventLog();

  constructor(private readonly t: Target) {}

  async removeAll(): Promise<void> {
    const { docker } = this.t;
    if (this.creating) {
      const giveUp = new AbortController();
      const late = await Promise.race([this.creating.catch(() => undefined), delay(10_000, undefined, { signal: giveUp.signal }).catch(() => undefined)]);
      giveUp.abort();
      if (late) this.live.add(late);
    }
    // by label too: whatever this session made, even if its answer never arrived
    const labelled = await docker.listContainers({ all: true, filters: { label: [`${LABEL}.session=${this.id}`] } } as Docker.ContainerListOptions).catch(() => []);
    for (const info of labelled) this.live.add(docker.getContainer(info.Id));
    await Promise.all([...this.live].map((c) => c.remove({ force: true }).catch(() => undefined)));
    this.live.clear();
  }

  /** Removes the image, pulls it timed, gives its references back. */
  private async coldPull(i: number): Promise<PullTrace> {
    const { docker, name, opts, relay, pullName } = this.t;
    const cold = this.t.cold!;
    opts.onProgress?.(`run ${i}: removing ${name} and pulling it${relay ? ` through a ${formatRate(opts.bandwidthBytesPerSec!)} relay` : ''}`);
    await cold.evict();
    cold.pulledAs = pullName;
    const wire0 = relay?.bytesDown() ?? 0;
    // interrupted mid-pull, the restore first stops this pull: else the daemon finishes it, at the relay's rate
    cold.stopPull = async () => {
      stream?.destroy();
      await relay?.close();
    };
    let stream: Readable | undefined;
    const rec = await pullRecorded(docker, pullName, nowNs, { authFor: name, onStream: (s) => (stream = s), layerSizes: cold.registry.layers, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    cold.stopPull = undefined;
    const events = this.t.podman ? podmanPullEvents(rec.events, cold.registry.configDigest) : rec.events;
    const trace = pullBreakdown(pullName, rec.start, rec.end, events, cold.registry.layers);
    if (relay) trace.relay = { bytesPerSec: opts.bandwidthBytesPerSec!, wireBytes: relay.bytesDown() - wire0 };
    await cold.finish();
    return trace;
  }

  private containerSpec(i: number, extraEnv: string[]): Docker.ContainerCreateOptions {
    const { name, opts, readiness, ports } = this.t;
    const spec: Docker.ContainerCreateOptions = {
      Image: name,
      Env: [...opts.env, ...extraEnv],
      Labels: { [LABEL]: 'coldstart', [`${LABEL}.session`]: this.id, [`${LABEL}.run`]: String(i) },
      ExposedPorts: ports.exposed,
      HostConfig: {
        PortBindings: ports.bindings,
        ...(opts.gpus ? { DeviceRequests: [opts.gpus as unknown as Docker.DeviceRequest] } : {}),
      },
    };
    if (readiness.kind === 'healthcheck') {
      spec.Healthcheck = {
        Test: readiness.test,
        Interval: opts.healthIntervalMs * 1e6,
        Timeout: 10e9,
        StartPeriod: opts.timeoutS * 1e9,
        Retries: 3,
      };
    }
    return spec;
  }

  /** Creates and starts the container; it is in `live` as soon as its create answer arrives. */
  private async createAndStart(spec: Docker.ContainerCreateOptions): Promise<Docker.Container> {
    const { docker, reference, name, opts } = this.t;
    let c: Docker.Container;
    try {
      this.creating = docker.createContainer(spec);
      c = await this.creating;
    } catch (err) {
      throw (opts.gpus && gpuRuntimeError(reference, opts.gpusFlag ?? 'all', err)) || daemonError(`creating a container of ${name}`, err);
    } finally {
      this.creating = undefined;
    }
    this.live.add(c);
    try {
      await c.start();
    } catch (err) {
      const rlimit = this.t.podman && rlimitRefusal((err as { json?: { message?: string } }).json?.message ?? (err as Error).message ?? '');
      if (rlimit) throw envError(`${reference}: ${rlimit}`, err);
      throw (opts.gpus && gpuRuntimeError(reference, opts.gpusFlag ?? 'all', err)) || daemonError(`starting a container of ${name}`, err);
    }
    return c;
  }

  /** When the readiness probe first passed; undefined when the container died or the deadline came first. */
  private async waitReady(c: Docker.Container, deadline: bigint): Promise<{ readyNs: bigint | undefined; died: boolean }> {
    const { readiness } = this.t;
    const dead = (): boolean => this.events.get(c.id, 'die') !== undefined;
    if (readiness.kind === 'healthcheck' && this.t.podman) return this.podmanReady(this.t.podman, c, deadline, dead);
    if (readiness.kind === 'healthcheck') {
      const r = await this.events.wait(c.id, ['health_status: healthy', 'die'], deadline);
      return r?.action === 'die' ? { readyNs: undefined, died: true } : { readyNs: r?.t, died: false };
    }
    const readyNs = readiness.kind === 'http' ? await pollHttp(readiness.url, deadline, dead) : await waitForLog(c, this.t.logRe!, deadline, dead);
    return { readyNs, died: readyNs === undefined && dead() };
  }

  /**
   * Podman: its health_status events do not say healthy or not, and without systemd it runs no health
   * checks at all, so imgscope runs the check itself through Podman's API, one after the other at the
   * interval, and takes the end of the first passing one from the container's health log.
   */
  private async podmanReady(podman: PodmanApi, c: Docker.Container, deadline: bigint, dead: () => boolean): Promise<{ readyNs: bigint | undefined; died: boolean }> {
    const interval = this.t.opts.healthIntervalMs;
    while (nowNs() < deadline && !dead()) {
      if ((await podman.runCheck(c.id)) === 'healthy') {
        const seen = nowNs();
        const state = (await c.inspect().catch(() => undefined))?.State as { Health?: { Log?: Array<{ End?: string; ExitCode?: number }> } } | undefined;
        return { readyNs: firstPassEnd(state?.Health?.Log) ?? seen, died: false };
      }
      await delay(Math.max(0, Math.min(interval, ms(deadline - nowNs()))));
    }
    return { readyNs: undefined, died: dead() };
  }

  async runOnce(i: number, extraEnv: string[], withPull: boolean): Promise<RunResult> {
    const { reference, opts, readiness } = this.t;
    const pull = withPull ? await this.coldPull(i) : undefined;
    const spec = this.containerSpec(i, extraEnv);
    const tReq = nowNs();
    const deadline = tReq + BigInt(Math.round(opts.timeoutS * 1e9));
    const c = await this.createAndStart(spec);
    const { readyNs, died } = await this.waitReady(c, deadline);
    if (readyNs === undefined) {
      const logs = await lastLogLines(c, 8);
      const why = died ? 'exited before it became ready' : `was not ready after ${opts.timeoutS} s (${readiness.kind})`;
      throw inputError(`${reference}: run ${i}: the container ${why}; last log lines: ${logs}`);
    }
    const created = (await this.events.wait(c.id, ['create'], nowNs() + 2_000_000_000n))?.t;
    const started = (await this.events.wait(c.id, ['start'], nowNs() + 2_000_000_000n))?.t;
    if (created === undefined || started === undefined) throw envError(`${reference}: run ${i}: the Engine sent no create/start event`);
    const toReady = ms(readyNs - tReq);
    const phases: RunPhases = {
      ...(pull ? { pull: pull.totalMs, download: pull.downloadMs, extract: pull.extractMs } : {}),
      create: ms(created - tReq),
      start: ms(started - created),
      ready: ms(readyNs - started),
      startToReady: toReady,
      total: toReady + (pull?.totalMs ?? 0),
    };
    return { phases, container: c, ...(pull ? { pull } : {}), window: { from: tReq, to: readyNs } };
  }

  async done(r: RunResult): Promise<void> {
    await r.container.remove({ force: true }).catch(() => undefined);
    this.live.delete(r.container);
  }

  /** The warm-up and measured runs, one after the other, each container removed before the next run. */
  async measure(runs: RunPhases[], pulls: PullTrace[]): Promise<void> {
    const { reference, opts } = this.t;
    const total = opts.warmup + opts.runs;
    for (let i = 1; i <= total; i++) {
      opts.onProgress?.(`${reference}: run ${i}/${total}${i <= opts.warmup ? ' (warm-up)' : ''}`);
      const r = await this.runOnce(i, [], !!this.t.cold);
      await this.done(r);
      if (i > opts.warmup) {
        runs.push(r.phases);
        if (r.pull) pulls.push(r.pull);
      }
    }
  }

  /** One more run with PYTHONPROFILEIMPORTTIME=1: what the Python imports cost (imports.ts). */
  async importProfile(i: number): Promise<ImportProfile | null> {
    this.t.opts.onProgress?.(`${this.t.reference}: import profile run`);
    const r = await this.runOnce(i, ['PYTHONPROFILEIMPORTTIME=1'], false);
    const raw = (await r.container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    const imports = parseImportTimes(demuxLogs(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw))).stderr);
    await this.done(r);
    return imports;
  }

  /** One more run under fatrace: the files the container opened from create to ready. */
  async traceRun(i: number, info: Docker.ImageInspectInfo): Promise<WorkingSet | null> {
    const { docker, reference, opts, note } = this.t;
    let tracer: FileTracer;
    try {
      tracer = await FileTracer.start(docker, info.RootFS?.Layers ?? []);
    } catch (err) {
      if (!(err instanceof ImgscopeError)) throw err;
      note(`${err.message}; no working set, the timings are unaffected`);
      return null;
    }
    let r: RunResult;
    let ns: string | null = null;
    try {
      opts.onProgress?.(`${reference}: traced run (files opened before ready)`);
      r = await this.runOnce(i, [], false);
      const pid = (await r.container.inspect().catch(() => undefined))?.State?.Pid;
      if (pid) ns = FileTracer.namespaceOf(pid);
      await this.done(r);
    } finally {
      await tracer.stop();
    }
    if (!ns) {
      note('--trace-files: the container\'s PID namespace could not be read (it exited at once); no working set');
      return null;
    }
    return this.attributeOpens(tracer, { ns, ...r.window });
  }

  /** The traced opens, each file given its owner and kind from an analysis of the image. */
  private async attributeOpens(tracer: FileTracer, window: { ns: string; from: bigint; to: bigint }): Promise<WorkingSet> {
    const { name, opts } = this.t;
    opts.onProgress?.(`${this.t.reference}: attributing the files opened`);
    const wanted = new Set(tracer.events.map((e) => e.path));
    const attr = new Map<string, { owner: string; kind: string }>();
    const a = await analyzeReference(`docker-daemon:${name}`, {
      onFile: (p, owner, kind) => {
        if (wanted.has(p)) attr.set(p, { owner, kind });
      },
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    return workingSetOf(tracer.events, window, hostFileSize, (p) => attr.get(p), { finalBytes: a.totals.finalBytes, imageBytes: a.totals.imageBytes });
  }
}

/** The engine behind DOCKER_HOST, from `GET /version`. */
async function engineOf(docker: Docker): Promise<EngineKind> {
  try {
    return engineKind((await docker.version()) as never);
  } catch (err) {
    throw daemonError('asking the engine its version', err);
  }
}

/**
 * What Podman cannot do through its Docker-compatible API, refused before anything is removed or run
 * (docs/coldstart.md "Podman"), and the note that says the engine was Podman.
 */
async function podmanSetup(docker: Docker, engine: EngineKind, reference: string, name: string, opts: ColdStartOptions, note: (m: string) => void): Promise<PodmanApi> {
  if (opts.gpus) {
    throw envError(
      `${reference}: --gpus ${opts.gpusFlag ?? 'all'}: Podman's Docker-compatible API ignores GPU requests (HostConfig.DeviceRequests), so the container would run without a GPU; measure GPU images on Docker with the NVIDIA Container Toolkit`,
    );
  }
  if (opts.bandwidthBytesPerSec !== undefined) {
    throw envError(
      `${reference}: --bandwidth pulls through a plain-HTTP relay on a random 127.0.0.1 port, and Podman pulls over plain HTTP only from registries its registries.conf names as insecure; measure --bandwidth on Docker`,
    );
  }
  note(`engine: ${engine.label} at ${daemonAddress()} (Docker-compatible API); HEALTHCHECKs are run by imgscope through Podman's API`);
  if (opts.cold) {
    const { host, domain } = parseRegistryRef(name);
    const info = (await docker.info().catch((err: unknown) => Promise.reject(daemonError('reading the engine\'s registry settings', err)))) as never;
    if (isPlainHttpRegistry(host) && !podmanPullsPlainHttp(info, domain)) {
      throw envError(
        `${reference}: --cold: ${domain} speaks plain HTTP, and Podman pulls it only when registries.conf marks it insecure ([[registry]] location = "${domain}", insecure = true; Docker trusts 127.0.0.0/8 by itself); nothing was removed`,
      );
    }
    note('Podman reports no extract step in its pull stream: it unpacks each layer as it downloads it, so download includes unpacking and extract is 0');
  }
  return new PodmanApi(docker, engine.apiVersion!);
}

/** The document: the runs, their statistics per phase, and what the runs found besides. */
function coldStartRecord(
  t: Target,
  info: Docker.ImageInspectInfo,
  measured: { runs: RunPhases[]; pulls: PullTrace[]; imports: ImportProfile | null; workingSet: WorkingSet | null; notes: string[] },
): ColdStart {
  const { reference, opts, readiness, cold } = t;
  const { runs } = measured;
  const pick = (k: keyof RunPhases): Stats => summarize(runs.map((r) => r[k]!));
  return {
    reference,
    imageId: info.Id,
    readiness,
    gpus: opts.gpus ? [opts.gpus] : null,
    warmupRuns: opts.warmup,
    runs,
    phases: {
      ...(cold ? { pull: pick('pull'), download: pick('download'), extract: pick('extract') } : {}),
      create: pick('create'),
      start: pick('start'),
      ready: pick('ready'),
      startToReady: pick('startToReady'),
      total: pick('total'),
    },
    cold: cold ? cold.record() : null,
    pulls: cold ? measured.pulls : null,
    imports: measured.imports,
    workingSet: measured.workingSet,
    notes: measured.notes,
  };
}

/**
 * Times what a node pays to run the image over repeated runs (docs/coldstart.md): with `cold`, the
 * image is removed under every reference and pulled (pull, then create → start → ready), else only
 * create → start → ready with the image present (a warm start). Phase timestamps come from the
 * Engine's event stream (`timeNano`) and the pull's progress stream; readiness from the image's
 * HEALTHCHECK run at a short interval, an HTTP URL polled every 10 ms, or a log line. Every container
 * is labelled `imgscope` and removed, the relay closed and the user's tags restored, also on errors,
 * timeouts and Ctrl-C.
 */
export async function coldStart(reference: string, opts: ColdStartOptions): Promise<ColdStart> {
  const docker = dockerClient();
  if (!runsContainers(reference, !!opts.cold)) {
    throw inputError(notRunnable(reference));
  }
  const name = imageName(reference);
  const { logRe, ports } = checkOptions(reference, opts);

  const notes: string[] = [];
  const note = (msg: string): void => {
    notes.push(msg);
    process.stderr.write(`imgscope: ${escapeText(`${reference}: ${msg}`)}\n`);
  };
  const engine = await engineOf(docker);
  const podman = engine.podman ? await podmanSetup(docker, engine, reference, name, opts, note) : undefined;
  const cold = opts.cold ? await ColdPull.prepare(docker, name, { ...(opts.platform ? { platform: opts.platform } : {}), podman: engine.podman }) : undefined;
  const target = await inspectTarget(docker, name, cold, podman);
  let info = target.info;
  const readiness = chooseReadiness(reference, target.hc, opts, podman ? { oci: !!target.ociPodman } : undefined);
  const { relay, pullName } = await relayFor(reference, name, cold, opts);

  const t: Target = { docker, reference, name, opts, readiness, logRe, ports, cold, relay, pullName, note, podman };
  const session = new Session(t);
  const unregister = onCleanup(() => session.removeAll());
  const runs: RunPhases[] = [];
  const pulls: PullTrace[] = [];
  let imports: ImportProfile | null = null;
  let workingSet: WorkingSet | null = null;
  try {
    await session.events.open(docker, session.id, nowNs());
    await session.measure(runs, pulls);
    info ??= await docker.getImage(name).inspect();
    const total = opts.warmup + opts.runs;
    if (opts.imports) imports = await session.importProfile(total + 1);
    if (opts.traceFiles) workingSet = await session.traceRun(total + 2, info);
    for (const n of cold?.record().notRestored ?? []) note(`--cold could not restore ${n.reference}: ${n.why}`);
  } finally {
    session.events.close();
    await session.removeAll();
    await relay?.close();
    unregister();
  }
  return coldStartRecord(t, info, { runs, pulls, imports, workingSet, notes });
}

async function pollHttp(url: string, deadline: bigint, dead: () => boolean): Promise<bigint | undefined> {
  while (nowNs() < deadline && !dead()) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000), redirect: 'manual' });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 400) return nowNs();
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return undefined;
}

async function waitForLog(c: Docker.Container, re: RegExp, deadline: bigint, dead: () => boolean): Promise<bigint | undefined> {
  const stream = (await c.logs({ stdout: true, stderr: true, follow: true })) as unknown as Readable;
  return new Promise((resolve) => {
    let pending = Buffer.alloc(0);
    const text = { out: '', err: '' };
    const finish = (v: bigint | undefined): void => {
      clearTimeout(timer);
      clearInterval(watch);
      stream.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(undefined), Math.max(0, ms(deadline - nowNs())));
    const watch = setInterval(() => {
      if (dead()) finish(undefined);
    }, 50);
    stream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 8) {
        const size = pending.readUInt32BE(4);
        if (pending.length < 8 + size) break;
        const key = pending[0] === 2 ? 'err' : 'out';
        text[key] += pending.subarray(8, 8 + size).toString('utf8');
        pending = pending.subarray(8 + size);
        const lines = text[key].split('\n');
        text[key] = lines.pop() ?? '';
        if (lines.some((l) => re.test(l))) {
          finish(nowNs());
          return;
        }
      }
    });
    stream.on('end', () => finish(undefined));
    stream.on('error', () => finish(undefined));
  });
}
