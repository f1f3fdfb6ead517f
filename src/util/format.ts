/**
 * Human-readable sizes use one unit system everywhere: binary IEC units (KiB, MiB, GiB = 1024^n),
 * the same units `docker images` rounds to in spirit, stated in every table header.
 */
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return 'n/a';
  const neg = n < 0;
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const s = u === 0 ? String(v) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${neg ? '-' : ''}${s} ${UNITS[u]}`;
}

export function formatPercent(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  return `${(x * 100).toFixed(digits)}%`;
}

/** Shortens a Dockerfile step from image history into something that fits a table cell. */
export function shortenStep(createdBy: string | undefined, max = 60): string {
  if (!createdBy) return '';
  let s = createdBy.trim();
  s = s.replace(/^\/bin\/sh -c #\(nop\)\s*/, '');
  s = s.replace(/^\/bin\/sh -c\s+/, 'RUN ');
  s = s.replace(/^\|\d+(\s+\S+=\S*)*\s+\/bin\/sh -c\s+/, 'RUN ');
  s = s.replace(/\s*# buildkit$/, '');
  s = s.replace(/\s+/g, ' ');
  if (s.length > max) s = s.slice(0, max - 1) + '…';
  return s;
}

/** A rate in decimal units, as network speeds are given: 100 MB/s, 12.5 MB/s, 800 kB/s. */
export function formatRate(bytesPerSec: number): string {
  const units: Array<[number, string]> = [[1e9, 'GB/s'], [1e6, 'MB/s'], [1e3, 'kB/s']];
  for (const [div, u] of units) if (bytesPerSec >= div) return `${Number((bytesPerSec / div).toPrecision(3))} ${u}`;
  return `${Math.round(bytesPerSec)} B/s`;
}

/** Milliseconds for a table: seconds with one decimal from 10 s up, else whole milliseconds. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return 'n/a';
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`;
}
