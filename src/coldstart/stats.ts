import type { Stats } from '../report/types.js';

/** Median (mean of the middle two for even n), p90 (nearest rank), min and max, in the input's unit. */
export function summarize(values: number[]): Stats {
  if (values.length === 0) throw new Error('summarize: no values');
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  const mid = Math.floor(n / 2);
  const median = n % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  const p90 = s[Math.max(0, Math.ceil(0.9 * n) - 1)]!;
  return { median, p90, min: s[0]!, max: s[n - 1]!, n };
}
