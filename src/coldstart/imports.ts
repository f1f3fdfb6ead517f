/** Python's `-X importtime` / PYTHONPROFILEIMPORTTIME lines, summed per top-level package. */
export interface ImportRow {
  package: string;
  /** Sum of self times of every module of the package, ms. */
  selfMs: number;
  /** Cumulative time of the package's first top-level import, ms (what `import pkg` cost). */
  cumulativeMs: number;
  modules: number;
}

export interface ImportProfile {
  /** Sum of all self times, ms. */
  totalMs: number;
  packages: ImportRow[];
}

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
    const cumulative = Number(m[2]) / 1000;
    const name = m[3]!;
    const top = name.split('.')[0]!;
    total += self;
    let r = rows.get(top);
    if (!r) {
      r = { package: top, selfMs: 0, cumulativeMs: 0, modules: 0 };
      rows.set(top, r);
    }
    r.selfMs += self;
    r.modules++;
    // The package's own top module line carries what importing the package cost (its dependencies included).
    if (name === top) r.cumulativeMs = Math.max(r.cumulativeMs, cumulative);
  }
  if (!found) return null;
  const packages = [...rows.values()].sort((a, b) => b.selfMs - a.selfMs || (a.package < b.package ? -1 : 1));
  return { totalMs: total, packages };
}
