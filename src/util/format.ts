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
