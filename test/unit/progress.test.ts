/**
 * Progress (issue 16, point 4): what the sources count (ByteMeter, PullTally), the rate and time left
 * (RateWindow), the bar line and the one redrawn line, all driven by an injected clock: no timers.
 */
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { barLine, type ByteProgress, ByteMeter, formatEta, LineProgress, PullTally, RateWindow, secondsLeft } from '../../src/util/progress.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** What a terminal got: the writes, and the clock the test moves. */
function terminal(columns = 100): { t: { write(s: string): void; columns(): number; now(): number }; writes: string[]; at(ms: number): void } {
  const writes: string[] = [];
  let now = 0;
  return { t: { write: (s) => writes.push(s), columns: () => columns, now: () => now }, writes, at: (ms) => (now = ms) };
}

describe('ByteMeter', () => {
  it('reports the start, then every step of 1/2000 of the total (at least 64 KiB), then the end once', () => {
    const got: Array<[string, ByteProgress | undefined]> = [];
    const m = new ByteMeter((msg, b) => got.push([msg, b]), 'read x.tar', 4000 * MiB);
    expect(got).toEqual([['read x.tar: 0 B of 3.91 GiB', { phase: 'read x.tar', done: 0, total: 4000 * MiB }]]);
    // the step is 4000 MiB / 2000 = 2 MiB: 1 MiB twice makes one event
    m.add(MiB);
    expect(got).toHaveLength(1);
    m.add(MiB);
    expect(got).toHaveLength(2);
    expect(got[1]![1]!.done).toBe(2 * MiB);
    m.finish();
    m.finish();
    m.add(10 * MiB); // after the end: nothing
    expect(got.slice(2)).toEqual([['read x.tar: 2.00 MiB of 3.91 GiB, done', { phase: 'read x.tar', done: 2 * MiB, total: 4000 * MiB, end: true }]]);
  });

  it('says "about" for an estimated total, and counts what streams through its counter', async () => {
    const got: ByteProgress[] = [];
    const m = new ByteMeter((_m, b) => got.push(b!), 'export img', 100, true);
    const sink = new PassThrough();
    sink.resume();
    await pipeline(
      (async function* () {
        yield Buffer.alloc(70 * 1024);
        yield Buffer.alloc(10);
      })(),
      m.counter(),
      sink,
    );
    expect(m.done).toBe(70 * 1024 + 10);
    expect(got.map((b) => b.done)).toEqual([0, 70 * 1024]);
    expect(got.every((b) => b.about === true)).toBe(true);
  });

  it('without a listener reports nothing (and counts all the same)', () => {
    const m = new ByteMeter(undefined, 'x');
    m.add(5);
    m.finish();
    expect(m.done).toBe(5);
  });
});

describe('PullTally', () => {
  const digest = (c: string): string => `sha256:${c.repeat(64)}`;
  const short = (c: string): string => c.repeat(12);

  it('sums the downloads of the layers the pull fetches against the manifest sizes, then the extraction', () => {
    const t = new PullTally('app:1', [
      { digest: digest('a'), size: 1000 },
      { digest: digest('b'), size: 3000 },
      { digest: digest('c'), size: 500 },
    ]);
    expect(t.apply({ id: '1', status: 'Pulling from library/app' })).toBeUndefined();
    t.apply({ id: short('a'), status: 'Pulling fs layer' });
    t.apply({ id: short('b'), status: 'Pulling fs layer' });
    expect(t.apply({ id: short('c'), status: 'Already exists' })).toBeUndefined();
    expect(t.apply({ id: short('a'), status: 'Downloading', progressDetail: { current: 400, total: 1000 } })).toEqual({ phase: 'pull app:1', done: 400, total: 4000 });
    t.apply({ id: short('b'), status: 'Downloading', progressDetail: { current: 1000, total: 3000 } });
    expect(t.apply({ id: short('a'), status: 'Download complete' })).toEqual({ phase: 'pull app:1', done: 2000, total: 4000 });
    t.apply({ id: short('a'), status: 'Extracting', progressDetail: { current: 1000, total: 1000 } });
    expect(t.apply({ id: short('b'), status: 'Download complete' })).toEqual({ phase: 'extract app:1', done: 1000, total: 4000 });
    t.apply({ id: short('a'), status: 'Pull complete' });
    expect(t.apply({ id: short('b'), status: 'Extracting', progressDetail: { current: 2500, total: 3000 } })).toEqual({ phase: 'extract app:1', done: 3500, total: 4000 });
    expect(t.now(true)).toEqual({ phase: 'extract app:1', done: 3500, total: 4000, end: true });
  });

  it('without manifest sizes the total is unknown until every layer said its own', () => {
    const t = new PullTally('app:1');
    t.apply({ id: short('a'), status: 'Pulling fs layer' });
    t.apply({ id: short('b'), status: 'Waiting' });
    expect(t.apply({ id: short('a'), status: 'Downloading', progressDetail: { current: 10, total: 100 } })).toEqual({ phase: 'pull app:1', done: 10 });
    expect(t.apply({ id: short('b'), status: 'Downloading', progressDetail: { current: 5, total: 50 } })).toEqual({ phase: 'pull app:1', done: 15, total: 150 });
  });
});

describe('rate and time left', () => {
  it('is the bytes over the last samples of a 5 s window, none before half a second', () => {
    const r = new RateWindow();
    r.sample(0, 0);
    r.sample(400, 40e6);
    r.sample(800, 80e6);
    expect(r.rate()).toBeUndefined();
    r.sample(1400, 140e6);
    expect(r.rate()).toBe(100e6);
    // 10 s on at 10 MB/s: the samples of the first second have left the window
    for (let s = 2; s <= 11; s++) r.sample(400 + s * 1000, 140e6 + (s - 1) * 10e6);
    expect(r.rate()).toBe(10e6);
  });

  it('starts when the bytes do: a wait before the first byte is not slowness', () => {
    const r = new RateWindow();
    r.sample(0, 0);
    r.sample(3000, 0); // the daemon prepares the export
    r.sample(5000, 50e6); // the first bytes: where the window starts
    r.sample(6000, 100e6);
    expect(r.rate()).toBe(50e6);
  });

  it('is the bytes left at that rate, clamped at none when an estimated total is passed', () => {
    expect(secondsLeft({ phase: 'x', done: 50, total: 150 }, 10)).toBe(10);
    expect(secondsLeft({ phase: 'x', done: 200, total: 150, about: true }, 10)).toBe(0);
    expect(secondsLeft({ phase: 'x', done: 50 }, 10)).toBeUndefined();
    expect(secondsLeft({ phase: 'x', done: 50, total: 150 }, undefined)).toBeUndefined();
    expect([formatEta(0), formatEta(45), formatEta(44.2), formatEta(600), formatEta(3 * 3600 + 62)]).toEqual(['0:00', '0:45', '0:45', '10:00', '3:01:02']);
  });
});

describe('the bar line', () => {
  it('shows the bar, bytes done of the total, the rate and the time left', () => {
    const line = barLine({ phase: 'export img', done: GiB, total: 4 * GiB }, 100e6, 100);
    // a quarter of the cells full
    const bar = /\[(#*)(\.*)\]/.exec(line)!;
    const cells = bar[1]!.length + bar[2]!.length;
    expect(bar[1]!.length).toBe(Math.floor(cells / 4));
    expect(line.startsWith('export img  [')).toBe(true);
    // 3 GiB left at 100 MB/s: 32.2 s
    expect(line.endsWith('  1.00 GiB / 4.00 GiB  100 MB/s  0:33 left')).toBe(true);
    expect(line.length).toBeLessThanOrEqual(100);
  });

  it('says "about" for an estimate and keeps the bar full past it', () => {
    const line = barLine({ phase: 'export img', done: 5 * GiB, total: 4 * GiB, about: true }, undefined, 100);
    expect(line).toMatch(/\[#+\]  5\.00 GiB \/ about 4\.00 GiB$/);
  });

  it('shows the bytes done, and no bar, when the total is unknown', () => {
    expect(barLine({ phase: 'pull app', done: 3 * MiB }, 1e6, 100)).toBe('pull app  3.00 MiB done  1 MB/s');
  });

  it('fits any width: the phase shortens, then the bar goes, then the rate and time', () => {
    const p: ByteProgress = { phase: `read /a/very/long/path/${'x'.repeat(80)}.tar`, done: 512 * MiB, total: 2 * GiB };
    for (const width of [20, 30, 40, 50, 60, 80, 120, 200]) {
      const line = barLine(p, 50e6, width, 'layer 3/9: sha256:0123');
      expect(line.length, `width ${width}: ${line}`).toBeLessThanOrEqual(width);
      expect(line).toContain('512 MiB / 2.00 GiB');
    }
    expect(barLine(p, 50e6, 60)).not.toContain('[');
    expect(barLine(p, 50e6, 120)).toContain('[');
  });

  it('escapes control characters in a phase', () => {
    expect(barLine({ phase: 'read \x1b[2Jx', done: 0 }, undefined, 80)).not.toContain('\x1b');
  });
});

describe('the one redrawn line', () => {
  it('draws the first event of a phase at once, then at most every 100 ms; flush draws what was held back', () => {
    const term = terminal();
    const line = new LineProgress(term.t);
    line.report('m', { phase: 'read x', done: 0, total: 1000 });
    expect(term.writes).toHaveLength(1);
    expect(term.writes[0]).toMatch(/^\r\x1b\[Kread x {2}\[\.+\] {2}0 B \/ 1000 B$/);
    term.at(40);
    line.report('m', { phase: 'read x', done: 100, total: 1000 });
    expect(term.writes).toHaveLength(1);
    expect(line.pendingIn()).toBe(60);
    // a flush before it is due (a timer set for an earlier hold) draws nothing
    term.at(90);
    line.flush();
    expect(term.writes).toHaveLength(1);
    term.at(100);
    line.flush();
    expect(term.writes).toHaveLength(2);
    expect(term.writes[1]).toContain('100 B / 1000 B');
    expect(line.pendingIn()).toBeUndefined();
    // a message while the bar runs follows it
    term.at(250);
    line.report('layer 2/3: sha256:ab');
    expect(term.writes[2]).toMatch(/100 B \/ 1000 B .*layer 2\/3: sha256:ab$/);
  });

  it('a new phase draws at once; the end of a phase and clear() erase the line, once', () => {
    const term = terminal();
    const line = new LineProgress(term.t);
    line.report('a', { phase: 'one', done: 0 });
    term.at(10);
    line.report('b', { phase: 'two', done: 0, total: 10 });
    expect(term.writes).toHaveLength(2);
    line.report('c', { phase: 'two', done: 10, total: 10, end: true });
    expect(term.writes[2]).toBe('\r\x1b[K');
    line.clear();
    expect(term.writes).toHaveLength(3);
    term.at(500);
    line.report('run 1/3');
    expect(term.writes[3]).toBe('\r\x1b[Krun 1/3');
    line.clear();
    expect(term.writes[4]).toBe('\r\x1b[K');
  });

  it('shows rate and time left once half a second of samples came', () => {
    const term = terminal(120);
    const line = new LineProgress(term.t);
    line.report('m', { phase: 'export img', done: 0, total: 10e6 });
    term.at(1000);
    line.report('m', { phase: 'export img', done: 1e6, total: 10e6 });
    // the first bytes: no rate yet (the window starts here)
    expect(term.writes[1]).toMatch(/ \/ 9\.54 MiB$/);
    term.at(2000);
    line.report('m', { phase: 'export img', done: 3e6, total: 10e6 });
    // 2 MB in the second since the bytes began; 7 MB left
    expect(term.writes[2]).toMatch(/ 2 MB\/s {2}0:04 left$/);
  });
});
