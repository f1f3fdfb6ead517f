/** Parsers for package databases (docs/formats.md "Python package records" and "dpkg"). Pure functions over file bodies. */

/** RFC 822-style stanzas (dpkg status, status.d); continuation lines are joined with '\n'. */
export function parseStanzas(text: string): Array<Map<string, string>> {
  const out: Array<Map<string, string>> = [];
  let cur = new Map<string, string>();
  let lastKey: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      if (cur.size) out.push(cur);
      cur = new Map();
      lastKey = undefined;
      continue;
    }
    if ((line.startsWith(' ') || line.startsWith('\t')) && lastKey) {
      cur.set(lastKey, `${cur.get(lastKey)}\n${line.slice(1)}`);
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) continue;
    lastKey = line.slice(0, i).trim();
    cur.set(lastKey, line.slice(i + 1).trim());
  }
  if (cur.size) out.push(cur);
  return out;
}

export interface DpkgPackage {
  name: string;
  arch?: string;
  version?: string;
  installedSizeKiB?: number;
}

/** Installed packages from /var/lib/dpkg/status (Status ends with "installed"). */
export function parseDpkgStatus(text: string): DpkgPackage[] {
  const out: DpkgPackage[] = [];
  for (const s of parseStanzas(text)) {
    const name = s.get('Package');
    const status = s.get('Status');
    if (!name) continue;
    if (status !== undefined && !/\binstalled$/.test(status)) continue;
    const p: DpkgPackage = { name };
    const arch = s.get('Architecture');
    if (arch) p.arch = arch;
    const v = s.get('Version');
    if (v) p.version = v;
    const size = s.get('Installed-Size');
    if (size && /^\d+$/.test(size)) p.installedSizeKiB = Number(size);
    out.push(p);
  }
  return out;
}

/** Calls `fn` with the first field (the path) of each RECORD row, without building the whole table. */
export function forEachRecordPath(text: string, fn: (path: string) => void): void {
  if (text.includes('"')) {
    for (const row of parseCsv(text)) if (row[0]) fn(row[0]);
    return;
  }
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const comma = text.indexOf(',', start);
    const stop = comma >= 0 && comma < end ? comma : end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    if (stop > start) fn(text.slice(start, stop));
    start = end + 1;
  }
}

/** A minimal RFC 4180 CSV reader (Python's csv module dialect for RECORD: ',' and '"'). */
export function parseCsv(text: string): string[][] {
  // Fast path: RECORD files rarely quote anything.
  if (!text.includes('"')) {
    const out: string[][] = [];
    for (const line of text.split('\n')) {
      const l = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (l !== '') out.push(l.split(','));
    }
    return out;
  }
  return parseQuotedCsv(text);
}

function parseQuotedCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  let any = false;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      any = true;
      i++;
    } else if (ch === ',') {
      row.push(field);
      field = '';
      any = true;
      i++;
    } else if (ch === '\n' || ch === '\r') {
      if (any || field !== '') {
        row.push(field);
        rows.push(row);
      }
      row = [];
      field = '';
      any = false;
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      field += ch;
      any = true;
      i++;
    }
  }
  if (any || field !== '') {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** PEP 503 normalized project name. */
export function normalizeDistName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/**
 * `{name}-{version}.dist-info` / `{name}-{version}[-pyX.Y].egg-info` / `{name}.egg-info`. The version
 * starts at the first '-' followed by a digit, so unnormalized names with hyphens survive and local
 * (`2.3.0+cu121`) or 4-part versions are kept whole.
 */
export function parseDistDirName(dir: string): { name: string; version?: string } | undefined {
  const m = /^(.+?)-(\d[^-]*)(?:-py\d[^-]*)?\.(?:dist-info|egg-info)$/.exec(dir);
  if (m) return { name: normalizeDistName(m[1]!), version: m[2]! };
  const n = /^(.+)\.(?:dist-info|egg-info)$/.exec(dir);
  return n ? { name: normalizeDistName(n[1]!) } : undefined;
}

export interface ApkPackage {
  name: string;
  version?: string;
  files: string[];
}

/** Alpine's /lib/apk/db/installed: P: name, V: version, F: dir, R: file in the last F. */
export function parseApkInstalled(text: string): ApkPackage[] {
  const out: ApkPackage[] = [];
  let cur: ApkPackage | undefined;
  let dir = '';
  for (const line of text.split(/\r?\n/)) {
    if (line === '') {
      cur = undefined;
      dir = '';
      continue;
    }
    const key = line.slice(0, 2);
    const val = line.slice(2);
    if (key === 'P:') {
      cur = { name: val, files: [] };
      out.push(cur);
    } else if (!cur) {
      continue;
    } else if (key === 'V:') cur.version = val;
    else if (key === 'F:') dir = val;
    else if (key === 'R:') cur.files.push(dir ? `${dir}/${val}` : val);
  }
  return out;
}
