/**
 * Python's `-X importtime` / PYTHONPROFILEIMPORTTIME lines, summed per top-level package
 * (docs/coldstart.md "Imports"). Each line gives a module's self time (its own code) and a cumulative
 * time (self plus the modules it imported first). Only self times add up: a package's cost is the sum
 * of its modules' self times wherever they were imported from. Cumulative times are not reported:
 * whichever package happens to import a dependency first is charged for it, so they neither add up
 * nor compare.
 */
import type { ImportProfile, ImportRow } from '../report/types.js';

const LINE = /^import time:\s+(\d+)\s*\|\s*(\d+)\s*\|\s*(\S+)\s*$/;

export function parseImportTimes(text: string): ImportProfile | null {
  const rows = new Map<string, ImportRow>();
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const m = LINE.exec(line.replace(/\r$/, ''));
    if (!m) continue;
    found = true;
    const self = Number(m[1]) / 1000;
    const top = m[3]!.split('.')[0]!;
    total += self;
    let r = rows.get(top);
    if (!r) {
      r = { package: top, selfMs: 0, share: 0, modules: 0 };
      rows.set(top, r);
    }
    r.selfMs += self;
    r.modules++;
  }
  if (!found) return null;
  for (const r of rows.values()) r.share = total > 0 ? r.selfMs / total : 0;
  const packages = [...rows.values()].sort((a, b) => b.selfMs - a.selfMs || (a.package < b.package ? -1 : 1));
  return { totalMs: total, packages };
}
