/**
 * What the commands share: the options several of them declare (each written once here), progress on
 * stderr, writing a report, and the cost-model flags that analyze and compare take.
 */
import { type Command, Option } from 'commander';
import type { Dockerfile } from '../dockerfile/parse.js';
import type { TreeData } from '../visual/tree.js';
import { analyzeReference } from '../pipeline.js';
import type { Analysis } from '../report/types.js';
import { inputError } from '../errors.js';
import { parsePlatform } from '../image/platform.js';
import type { Platform } from '../image/types.js';
import { writeFileAtomic } from '../util/atomic.js';
import { escapeLines } from '../util/escape.js';
import { type ByteProgress, LineProgress, type OnProgress } from '../util/progress.js';

export type Format = 'table' | 'markdown' | 'json' | 'html' | 'sarif';

/**
 * Options more than one command declares. Commands word --platform and --no-cache for what they do
 * with them, so those take their help line.
 */
export const options = {
  /** `extra`: formats only this command writes (analyze: sarif). */
  format: (extra: Format[] = []): Option => new Option('-f, --format <format>', 'output format').choices(['table', 'markdown', 'json', 'html', ...extra]).default('table'),
  output: (): Option => new Option('-o, --output <file>', 'write the report to FILE (atomically) instead of stdout'),
  platform: (help: string): Option => new Option('--platform <os/arch[/variant]>', help),
  noCache: (help: string): Option => new Option('--no-cache', help),
  quiet: (): Option => new Option('-q, --quiet', 'no progress output'),
  dockerfile: (): Option => new Option('--dockerfile <path>', 'the Dockerfile the image was built from: layers and findings get its lines (Dockerfile:LINE)'),
  /** A flag that may be given more than once: its values in order. */
  repeatable: (flags: string, help: string): Option => new Option(flags, help).argParser((v: string, a: string[]) => [...a, v]).default([] as string[]),
};

export interface OutputCliOptions {
  format: Format;
  output?: string;
  quiet?: boolean;
}

/** Progress for a person at a terminal: report events, then `clear()` the line (at the end and on an error). */
export interface Progress extends OnProgress {
  clear(): void;
}

/**
 * Progress on one stderr line redrawn at most 10 times a second (util/progress.ts: a bar with
 * bytes, rate and time left where the work counts bytes), only for a person at a terminal: nothing
 * with --quiet or when stderr is not a TTY.
 */
export function progress(quiet: boolean | undefined): Progress | undefined {
  if (quiet || !process.stderr.isTTY) return undefined;
  const line = new LineProgress({ write: (s) => process.stderr.write(s), columns: () => process.stderr.columns || 80, now: () => performance.now() });
  let timer: NodeJS.Timeout | undefined;
  // what was held back is drawn when its turn comes, even if no event follows
  const schedule = (): void => {
    const due = line.pendingIn();
    if (due === undefined || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      line.flush();
      schedule();
    }, due);
    timer.unref();
  };
  const report = ((message: string, bytes?: ByteProgress) => {
    line.report(message, bytes);
    schedule();
  }) as Progress;
  report.clear = () => {
    clearTimeout(timer);
    timer = undefined;
    line.clear();
  };
  return report;
}

/**
 * Writes a report. A human-readable one (not JSON, which JSON.stringify escapes) gets a last pass of
 * escapeLines: the renderers escape every value already (util/escape.ts), and this makes sure no
 * control or bidi character they missed reaches a terminal or a file someone cats. It changes
 * nothing the renderers escaped (escapeText is idempotent).
 */
export async function emit(text: string, output: string | undefined, format: Format): Promise<void> {
  if (format !== 'json' && format !== 'sarif') text = escapeLines(text);
  if (output) await writeFileAtomic(output, text);
  else process.stdout.write(text);
}

export interface ModelCliOptions {
  gpuArch?: string;
  bandwidth?: string;
  unpackRate?: string;
}

export interface ModelOptions {
  gpuArch?: string;
  networkBytesPerSec?: number;
  unpackBytesPerSec?: number;
}

/** --gpu-arch sm_89 | 8.9 → sm_89; --bandwidth/--unpack-rate 50MB[/s] → bytes per second. */
export async function modelOptions(o: ModelCliOptions): Promise<ModelOptions> {
  const out: ModelOptions = {};
  if (o.gpuArch !== undefined) {
    const { parseArch } = await import('../attribute/cuda.js');
    const a = parseArch(o.gpuArch);
    if (a === undefined) throw inputError(`--gpu-arch: '${o.gpuArch}' is not a GPU architecture (expected sm_89, sm_90, 8.6 …)`);
    out.gpuArch = `sm_${a}`;
  }
  if (o.bandwidth === undefined && o.unpackRate === undefined) return out;
  const { parseSize } = await import('../gates.js');
  const rate = (v: string, flag: string): number => {
    const n = parseSize(v.replace(/\/s(ec)?$/i, ''), flag);
    if (!(n > 0)) throw inputError(`${flag}: '${v}' must be a positive rate such as 100MB/s`);
    return n;
  };
  if (o.bandwidth !== undefined) out.networkBytesPerSec = rate(o.bandwidth, '--bandwidth');
  if (o.unpackRate !== undefined) out.unpackBytesPerSec = rate(o.unpackRate, '--unpack-rate');
  return out;
}

export function addModelOptions(cmd: Command): Command {
  return cmd
    .option('--gpu-arch <sm_XX>', 'deployment GPU architecture: check that CUDA libraries have kernels for it (sm_80, sm_89, 9.0 …)')
    .option('--bandwidth <rate>', 'network rate for the seconds-saved estimates (default 100MB/s)')
    .option('--unpack-rate <rate>', 'layer decompress+write rate for the seconds-saved estimates (default 150MB/s)');
}

export interface AnalyzeRefOptions {
  pull?: boolean;
  verify?: boolean;
  cache?: boolean;
  /** --daemon-read: how a docker-daemon: image is read. */
  daemonRead?: 'auto' | 'store' | 'export';
  onProgress?: OnProgress;
  /** --dockerfile, already read (dockerfile/read.ts). */
  dockerfile?: Dockerfile;
  /** --format html: receives the image's treemap data (visual/tree.ts), built only when given. */
  onTree?: (t: TreeData) => void;
}

/** Analyzes one image with the platform and the cost model already read from the flags. */
export async function analyzeWith(ref: string, opts: AnalyzeRefOptions & { platform?: Platform }, model: ModelOptions): Promise<Analysis> {
  return analyzeReference(ref, {
    ...(opts.platform ? { platform: opts.platform } : {}),
    pull: !!opts.pull,
    verifyLayers: !!opts.verify,
    ...(opts.daemonRead ? { daemonRead: opts.daemonRead } : {}),
    noCache: opts.cache === false,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.dockerfile ? { dockerfile: opts.dockerfile } : {}),
    ...(opts.onTree ? { onTree: opts.onTree } : {}),
    ...model,
  });
}

/** --platform's value, read once before any image: undefined when not given. */
export function platformOption(value: string | undefined): Platform | undefined {
  return value ? parsePlatform(value) : undefined;
}
