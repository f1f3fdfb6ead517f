/**
 * Progress of long work (docs/architecture.md "Progress"): the event its sources report, what they
 * count with (ByteMeter, PullTally), and the one line a terminal shows for it (LineProgress: a bar,
 * bytes done of the total, rate and time left). Everything here is pure: the clock and the terminal
 * are parameters, so the unit tests drive it without timers; commands/shared.ts draws it on stderr.
 */
import { Transform } from 'node:stream';
import { escapeText } from './escape.js';
import { formatBytes, formatRate } from './format.js';

/** Bytes of one phase of long work: the structured part of a progress event. */
export interface ByteProgress {
  /** What the work is ("export NAME", "read FILE", "download REF", "pull NAME"): a new phase starts a new bar. */
  phase: string;
  /** Bytes done so far in this phase. */
  done: number;
  /** Bytes the phase takes; undefined when unknown. */
  total?: number;
  /** The total is an estimate (the daemon's image size for its export): the bar stops at full. */
  about?: boolean;
  /** The phase is over: its bar goes. */
  end?: boolean;
}

/**
 * A progress event: a line of text (what a log shows: every event has one), and for work that
 * counts bytes the structured part a terminal draws a bar from. A message without bytes while a bar
 * is drawn is shown after the bar.
 */
export type OnProgress = (message: string, bytes?: ByteProgress) => void;

/** The text of a byte event, for a consumer that logs lines. */
export function bytesMessage(p: ByteProgress): string {
  const of = p.total === undefined ? '' : ` of ${p.about ? 'about ' : ''}${formatBytes(p.total)}`;
  return `${p.phase}: ${formatBytes(p.done)}${of}${p.end ? ', done' : ''}`;
}

/**
 * Counts the bytes of one phase and reports them, not on every chunk but every 1/2000th of the
 * total (at least 64 KiB): a 6 GB export makes about 2000 events, the terminal draws 10 a second.
 */
export class ByteMeter {
  done = 0;
  private sent = -Infinity;
  private ended = false;
  private readonly step: number;
  constructor(
    private readonly report: OnProgress | undefined,
    readonly phase: string,
    readonly total?: number,
    readonly about = false,
  ) {
    this.step = Math.max(64 * 1024, (total ?? 0) / 2000);
    this.emit();
  }
  add(n: number): void {
    this.done += n;
    if (this.done - this.sent >= this.step) this.emit();
  }
  /** The phase is over (also after a failure: the command clears the line anyway). */
  finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.emit(true);
  }
  private emit(end = false): void {
    if (!this.report || (this.ended && !end)) return;
    this.sent = this.done;
    const p: ByteProgress = { phase: this.phase, done: this.done };
    if (this.total !== undefined) p.total = this.total;
    if (this.about) p.about = true;
    if (end) p.end = true;
    this.report(bytesMessage(p), p);
  }
  /** A pass-through stream that counts what goes through it. */
  counter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        this.add(chunk.length);
        cb(null, chunk);
      },
    });
  }
}

/** One message of the Docker Engine's pull stream, as far as progress reads it. */
export interface PullMessage {
  id?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
}

/**
 * The bytes of a pull, from the daemon's progress stream: per layer (the stream's `id`, the first 12
 * hex digits of the blob digest) the bytes downloaded, then extracted (the extract counts the
 * compressed bytes read, against the same total). The total is the manifest's compressed sizes of
 * the layers the pull fetches (`sizes`, by blob digest), or each layer's own `progressDetail.total`;
 * unknown while a layer the pull fetches has neither. Downloaded bytes until every layer is down,
 * then extracted bytes.
 */
export class PullTally {
  private readonly layers = new Map<string, { total?: number; down: number; out: number; downloaded: boolean }>();
  private readonly sizes = new Map<string, number>();
  constructor(
    readonly name: string,
    sizes: Array<{ digest: string; size: number }> = [],
  ) {
    for (const l of sizes) this.sizes.set(l.digest.replace(/^sha256:/, '').slice(0, 12), l.size);
  }

  /** The message applied: the pull's bytes now, or undefined for a message that is not a layer's. */
  apply(m: PullMessage): ByteProgress | undefined {
    const id = m.id;
    const s = m.status ?? '';
    if (!id) return undefined;
    if (s === 'Already exists') {
      this.layers.delete(id);
      return undefined;
    }
    let l = this.layers.get(id);
    if (!l) {
      if (!/^(Pulling fs layer|Waiting|Downloading|Verifying Checksum|Download complete|Extracting|Pull complete)$/.test(s)) return undefined;
      l = { down: 0, out: 0, downloaded: false };
      const known = this.sizes.get(id);
      if (known !== undefined) l.total = known;
      this.layers.set(id, l);
    }
    const d = m.progressDetail;
    if (d?.total !== undefined && d.total > 0 && l.total === undefined) l.total = d.total;
    if (s === 'Downloading' && d?.current !== undefined) l.down = d.current;
    if (s === 'Extracting' && d?.current !== undefined) l.out = d.current;
    if (s === 'Download complete' || s === 'Extracting' || s === 'Pull complete') {
      l.downloaded = true;
      l.down = l.total ?? l.down;
    }
    if (s === 'Pull complete') l.out = l.total ?? l.out;
    return this.now();
  }

  /** The pull's bytes now. */
  now(end = false): ByteProgress {
    const all = [...this.layers.values()];
    const extracting = all.length > 0 && all.every((l) => l.downloaded);
    const p: ByteProgress = { phase: `${extracting ? 'extract' : 'pull'} ${this.name}`, done: all.reduce((n, l) => n + (extracting ? l.out : l.down), 0) };
    if (all.every((l) => l.total !== undefined)) p.total = all.reduce((n, l) => n + l.total!, 0);
    if (end) p.end = true;
    return p;
  }
}

/**
 * Bytes per second over the last few seconds of samples (times in ms, from any monotonic clock). The
 * window starts at the first sample that shows bytes moving: the wait before the first byte (the
 * daemon preparing an export) is not counted as slowness.
 */
export class RateWindow {
  private samples: Array<{ t: number; done: number }> = [];
  private moving = false;
  constructor(private readonly windowMs = 5000) {}
  sample(t: number, done: number): void {
    const last = this.samples[this.samples.length - 1];
    if (!this.moving) {
      this.moving = last !== undefined && done > last.done;
      this.samples = [{ t, done }];
      return;
    }
    if (last!.t === t) last!.done = done;
    else this.samples.push({ t, done });
    while (this.samples.length > 2 && t - this.samples[1]!.t >= this.windowMs) this.samples.shift();
  }
  /** Bytes per second, or undefined before half a second of samples. */
  rate(): number | undefined {
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    if (!a || !b || b.t - a.t < 500) return undefined;
    return Math.max(0, ((b.done - a.done) * 1000) / (b.t - a.t));
  }
}

/** Seconds as m:ss, or h:mm:ss from an hour. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Seconds left at `rate` (clamped: an estimated total that the work passed leaves none), or undefined. */
export function secondsLeft(p: ByteProgress, rate: number | undefined): number | undefined {
  if (p.total === undefined || rate === undefined || rate <= 0) return undefined;
  return Math.max(0, p.total - p.done) / rate;
}

/** Shortens `s` to `n` characters, with an ellipsis where it cut. */
const fit = (s: string, n: number): string => (s.length <= n ? s : n <= 1 ? s.slice(0, Math.max(0, n)) : `${s.slice(0, n - 1)}…`);

/**
 * The bar line, at most `width` characters: `phase  [#####.....]  1.2 GiB / 5.1 GiB  85 MB/s  0:45 left`,
 * or `phase  1.2 GiB done  85 MB/s` when the total is unknown; then `note` if there is room. When
 * the line is too wide the phase is shortened first, then the bar goes, then the rate and time.
 */
export function barLine(p: ByteProgress, rate: number | undefined, width: number, note?: string): string {
  const phase = escapeText(p.phase);
  const r = rate === undefined ? '' : formatRate(rate);
  const left = secondsLeft(p, rate);
  let counts: string;
  let timing: string;
  let bar = '';
  if (p.total === undefined) {
    counts = `${formatBytes(p.done)} done`;
    timing = r;
  } else {
    const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
    counts = `${formatBytes(p.done)} / ${p.about ? 'about ' : ''}${formatBytes(p.total)}`;
    timing = [r, left === undefined ? '' : `${formatEta(left)} left`].filter(Boolean).join('  ');
    // the bar's width depends on nothing that changes while it runs: it does not jitter
    const widest = `${formatBytes(p.total)} / about ${formatBytes(p.total)}`.length + '999 MB/s  0:00:00 left'.length;
    const cells = Math.min(30, Math.max(10, width - (phase.length + widest + 10)));
    const full = Math.floor(frac * cells);
    bar = `[${'#'.repeat(full)}${'.'.repeat(cells - full)}]`;
  }
  const join = (parts: string[]): string => parts.filter(Boolean).join('  ');
  const fixed = (b: string, t: string): number => join([b, counts, t]).length + 2;
  for (const [b, t] of [[bar, timing], ['', timing], ['', '']] as const) {
    const ph = width - fixed(b, t);
    if (ph >= Math.min(12, phase.length)) {
      const line = join([fit(phase, ph), b, counts, t]);
      const n = note ? escapeText(note) : '';
      return n && width - line.length >= 12 ? `${line}  ${fit(n, width - line.length - 2)}` : line;
    }
  }
  // narrower than a phase and the counts: the counts, and what fits of the phase before them
  return width > counts.length + 3 ? join([fit(phase, width - counts.length - 2), counts]) : fit(counts, width);
}

/** What LineProgress needs of a terminal. */
export interface LineTerminal {
  write(s: string): void;
  /** Its width in characters. */
  columns(): number;
  /** Milliseconds from any monotonic clock. */
  now(): number;
}

/**
 * One line of progress on a terminal, redrawn at most every `intervalMs` (a new phase or the first
 * event draws at once). A message without bytes replaces the line, unless a bar is drawn: then it
 * follows the bar. What was held back is drawn by `flush()` once due, `pendingIn()` ms from now.
 */
export class LineProgress {
  private bar: { p: ByteProgress; rate: RateWindow } | undefined;
  private text: string | undefined;
  private lastDraw = -Infinity;
  private pending = false;
  private shown = false;
  constructor(
    private readonly term: LineTerminal,
    private readonly intervalMs = 100,
  ) {}

  report(message: string, bytes?: ByteProgress): void {
    const now = this.term.now();
    let force = false;
    if (bytes) {
      if (bytes.end) {
        if (this.bar?.p.phase === bytes.phase) this.bar = undefined;
        this.text = undefined;
        this.pending = false;
        this.clear();
        return;
      }
      if (this.bar?.p.phase !== bytes.phase) {
        this.bar = { p: bytes, rate: new RateWindow() };
        this.text = undefined;
        force = true;
      }
      this.bar.p = bytes;
      this.bar.rate.sample(now, bytes.done);
    } else {
      this.text = message;
    }
    if (force || now - this.lastDraw >= this.intervalMs) this.draw(now);
    else this.pending = true;
  }

  /** Milliseconds until a held-back draw is due; undefined when nothing is held back. */
  pendingIn(): number | undefined {
    return this.pending ? Math.max(0, this.intervalMs - (this.term.now() - this.lastDraw)) : undefined;
  }

  /** Draws what was held back, once it is due (a timer set for an earlier hold may come early). */
  flush(): void {
    if (this.pendingIn() === 0) this.draw(this.term.now());
  }

  /** Erases the line (at the end, and on an error). */
  clear(): void {
    this.pending = false;
    if (this.shown) this.term.write('\r\x1b[K');
    this.shown = false;
  }

  /** The line as it would be drawn now. */
  line(): string {
    const width = Math.max(20, this.term.columns() - 1);
    if (this.bar) return barLine(this.bar.p, this.bar.rate.rate(), width, this.text);
    return fit(escapeText(this.text ?? ''), width);
  }

  private draw(now: number): void {
    this.pending = false;
    this.lastDraw = now;
    this.term.write(`\r\x1b[K${this.line()}`);
    this.shown = true;
  }
}
