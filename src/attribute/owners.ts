import type { FsNode, MergedFs, VisibleFile } from '../fs/filesystem.js';
import { EGG_INSTALLED_FILES, PIP_RECORD, SITE_PACKAGES } from '../catalog/python.js';
import { basename, dirname, joinRel, normalizeEntryPath } from '../util/paths.js';
import {
  normalizeDistName,
  parseApkInstalled,
  forEachRecordPath,
  parseDistDirName,
  parseDpkgStatus,
  parseStanzas,
} from './parsers.js';

export const UNOWNED = 'unowned';

export interface PackageRecord {
  owner: string;
  manager: 'pip' | 'apt' | 'conda' | 'apk';
  name: string;
  version?: string;
  /** dpkg's Installed-Size in KiB (approximate), when known. */
  installedSizeKiB?: number;
  /** Where the package database says it lives (dist-info dir, conda-meta file, …). */
  location?: string;
}

export interface OwnerAssignment {
  /** Owner per visible file, parallel to the `files` array given. */
  owners: string[];
  packages: Map<string, PackageRecord>;
  warnings: string[];
}

/**
 * What the package databases claimed so far: first claim of a node wins. Claims are kept here, by
 * node, not on the merged tree: attribution reads the tree and leaves it as the merge built it.
 */
class Claims {
  readonly byNode = new Map<FsNode, string>();
  readonly packages = new Map<string, PackageRecord>();
  readonly warnings: string[] = [];
  private lastDir: string | undefined;
  private lastDirNode: FsNode | undefined;

  constructor(readonly fs: MergedFs) {}

  /**
   * The node at a path, symlinked directories followed (Debian's `/bin/cat` finds `/usr/bin/cat`);
   * the last directory is cached, as package lists are sorted by directory.
   */
  nodeAt(path: string): FsNode | undefined {
    const slash = path.lastIndexOf('/');
    const dir = slash < 0 ? '' : path.slice(0, slash);
    if (dir !== this.lastDir) {
      this.lastDir = dir;
      this.lastDirNode = this.fs.lookup(dir, true);
    }
    return this.lastDirNode?.children?.get(slash < 0 ? path : path.slice(slash + 1));
  }

  claim(path: string, owner: string): void {
    const n = this.nodeAt(path);
    if (n?.inode && !this.byNode.has(n)) this.byNode.set(n, owner);
  }

  addPackage(p: PackageRecord): void {
    if (!this.packages.has(p.owner)) this.packages.set(p.owner, p);
  }
}

/**
 * Assigns every visible file exactly one owner (README.md "Owners"), first claim wins in this order:
 * dpkg (status + info/*.list, distroless status.d), apk, pip (RECORD, installed-files.txt; a
 * dist-info that dpkg lists is the OS package's, not pip's), conda-meta; then `.pyc` files follow their `.py`, and files left unowned inside site-/dist-packages follow
 * the single owner of the nearest enclosing package directory (namespace dirs such as `nvidia/`,
 * auditwheel's `*.libs/`). The rest is `unowned`. The merged tree is only read.
 */
export function assignOwners(fs: MergedFs, files: readonly VisibleFile[]): OwnerAssignment {
  const claims = new Claims(fs);
  claimDpkg(claims);
  claimDistroless(claims, files);
  claimApk(claims);
  claimPip(claims, files);
  claimConda(claims, files);
  const owners: Array<string | undefined> = files.map((f) => claims.byNode.get(f.node));
  pycFollowSource(claims, files, owners);
  adoptInSitePackages(files, owners, claims.packages);
  return { owners: owners.map((o) => o ?? UNOWNED), packages: claims.packages, warnings: claims.warnings };
}

/** dpkg: status + info/<pkg>[:<arch>].list */
function claimDpkg(claims: Claims): void {
  const { fs } = claims;
  const status = fs.body('var/lib/dpkg/status');
  if (!status) return;
  for (const pkg of parseDpkgStatus(status.toString('utf8'))) {
    const owner = `apt:${pkg.name}`;
    claims.addPackage({
      owner,
      manager: 'apt',
      name: pkg.name,
      ...(pkg.version ? { version: pkg.version } : {}),
      ...(pkg.installedSizeKiB !== undefined ? { installedSizeKiB: pkg.installedSizeKiB } : {}),
    });
    const list =
      (pkg.arch ? fs.body(`var/lib/dpkg/info/${pkg.name}:${pkg.arch}.list`) : undefined) ??
      fs.body(`var/lib/dpkg/info/${pkg.name}.list`);
    if (!list) continue;
    for (const line of list.toString('utf8').split('\n')) {
      if (line.length > 1) claims.claim(normalizeEntryPath(line), owner);
    }
  }
}

/** distroless: status.d/<name> stanza + status.d/<name>.md5sums as the file list. */
function claimDistroless(claims: Claims, files: readonly VisibleFile[]): void {
  for (const f of files) {
    if (!f.node.body || !f.path.startsWith('var/lib/dpkg/status.d/') || f.path.endsWith('.md5sums')) continue;
    for (const s of parseStanzas(f.node.body.toString('utf8'))) {
      const name = s.get('Package');
      if (!name) continue;
      const owner = `apt:${name}`;
      const size = s.get('Installed-Size');
      claims.addPackage({
        owner,
        manager: 'apt',
        name,
        ...(s.get('Version') ? { version: s.get('Version')! } : {}),
        ...(size && /^\d+$/.test(size) ? { installedSizeKiB: Number(size) } : {}),
      });
      const sums = claims.fs.body(`${f.path}.md5sums`) ?? claims.fs.body(`var/lib/dpkg/status.d/${name}.md5sums`);
      if (!sums) continue;
      for (const line of sums.toString('utf8').split('\n')) {
        const m = /^[0-9a-f]{32}\s+(.+)$/.exec(line.trim());
        if (m) claims.claim(normalizeEntryPath(m[1]!), owner);
      }
    }
  }
}

function claimApk(claims: Claims): void {
  const apk = claims.fs.body('lib/apk/db/installed');
  if (!apk) return;
  for (const pkg of parseApkInstalled(apk.toString('utf8'))) {
    const owner = `apk:${pkg.name}`;
    claims.addPackage({ owner, manager: 'apk', name: pkg.name, ...(pkg.version ? { version: pkg.version } : {}) });
    for (const p of pkg.files) claims.claim(normalizeEntryPath(p), owner);
  }
}

/** pip: RECORD paths are relative to the directory containing .dist-info; installed-files.txt to the egg-info dir. */
function claimPip(claims: Claims, files: readonly VisibleFile[]): void {
  for (const f of files) {
    const body = f.node.body;
    if (!body) continue;
    const isRecord = f.path.endsWith(PIP_RECORD);
    if (!isRecord && !f.path.endsWith(EGG_INSTALLED_FILES)) continue;
    const infoDir = dirname(f.path);
    const dist = parseDistDirName(basename(infoDir));
    if (!dist) continue;
    // A dist-info that the OS package manager installed (Debian ships RECORD in some python3-* packages)
    // belongs to that package, not to pip.
    if (claims.byNode.has(f.node)) continue;
    const owner = `pip:${dist.name}`;
    claims.addPackage({ owner, manager: 'pip', name: dist.name, ...(dist.version ? { version: dist.version } : {}), location: infoDir });
    if (isRecord) {
      const base = dirname(infoDir);
      forEachRecordPath(body.toString('utf8'), (raw) => {
        const p = raw.includes('\\') ? raw.replace(/\\/g, '/') : raw;
        claims.claim(p.startsWith('/') ? normalizeEntryPath(p) : joinRel(base, p), owner);
      });
    } else {
      for (const line of body.toString('utf8').split(/\r?\n/)) {
        const p = line.trim();
        if (!p) continue;
        claims.claim(p.startsWith('/') ? normalizeEntryPath(p) : joinRel(infoDir, p), owner);
      }
    }
    claims.claim(f.path, owner);
  }
}

/** conda: conda-meta/<name>-<ver>-<build>.json lists files relative to the environment prefix. */
function claimConda(claims: Claims, files: readonly VisibleFile[]): void {
  for (const f of files) {
    if (!f.node.body || !f.path.endsWith('.json') || basename(dirname(f.path)) !== 'conda-meta') continue;
    let meta: { name?: string; version?: string; files?: string[] };
    try {
      meta = JSON.parse(f.node.body.toString('utf8')) as typeof meta;
    } catch {
      claims.warnings.push(`${f.path}: invalid JSON, conda package ignored`);
      continue;
    }
    if (!meta.name || !Array.isArray(meta.files)) continue;
    const owner = `conda:${meta.name}`;
    claims.addPackage({ owner, manager: 'conda', name: meta.name, ...(meta.version ? { version: meta.version } : {}), location: f.path });
    const prefix = dirname(dirname(f.path));
    for (const p of meta.files) if (typeof p === 'string') claims.claim(joinRel(prefix, p), owner);
    claims.claim(f.path, owner);
  }
}

/** .pyc files follow their source: dir/__pycache__/mod.cpython-311.pyc → dir/mod.py; legacy mod.pyc → mod.py */
function pycFollowSource(claims: Claims, files: readonly VisibleFile[], owners: Array<string | undefined>): void {
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    if (owners[i] !== undefined || !f.path.endsWith('.pyc')) continue;
    const m = /^(.*?)\/?__pycache__\/([^/.]+)\.[^/]*pyc$/.exec(f.path);
    const src = m ? `${m[1] ? `${m[1]}/` : ''}${m[2]}.py` : f.path.slice(0, -1);
    const n = claims.nodeAt(src);
    const o = n && claims.byNode.get(n);
    if (o !== undefined) owners[i] = o;
  }
}

/** Site-packages directories owned by a single distribution adopt their unlisted files. */
function adoptInSitePackages(files: readonly VisibleFile[], owners: Array<string | undefined>, packages: Map<string, PackageRecord>): void {
  if (!files.some((f, i) => owners[i] === undefined && SITE_PACKAGES.test(f.path))) return;
  const dirOwners = siteDirOwners(files, owners);
  const byDistName = new Map<string, string>();
  for (const p of packages.values()) if (p.manager === 'pip') byDistName.set(p.name, p.owner);
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    if (owners[i] !== undefined || !SITE_PACKAGES.test(f.path)) continue;
    for (const d of packageDirs(f.path).reverse()) {
      let o = dirOwners.get(d);
      if (o === undefined && d.endsWith('.libs')) {
        const stem = basename(d).slice(0, -'.libs'.length);
        o = dirOwners.get(`${dirname(d)}/${stem}`) ?? byDistName.get(normalizeDistName(stem));
      }
      if (o === null) break;
      if (o !== undefined) {
        owners[i] = o;
        break;
      }
    }
  }
}

/** The owner of each package directory under site-packages: null when files of several owners are in it. */
function siteDirOwners(files: readonly VisibleFile[], owners: Array<string | undefined>): Map<string, string | null> {
  const dirOwners = new Map<string, string | null>();
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const o = owners[i];
    if (o === undefined || !SITE_PACKAGES.test(f.path)) continue;
    // Deepest first: once a directory already holds `o` (or several owners), so do all its ancestors.
    const dirs = packageDirs(f.path);
    for (let k = dirs.length - 1; k >= 0; k--) {
      const d = dirs[k]!;
      const prev = dirOwners.get(d);
      if (prev === o || prev === null) break;
      dirOwners.set(d, prev === undefined ? o : null);
    }
  }
  return dirOwners;
}

/** The directories between a site-packages root and the file, shallowest first (root excluded). */
function packageDirs(path: string): string[] {
  const m = SITE_PACKAGES.exec(path);
  if (!m) return [];
  const rootEnd = m.index + m[0].length;
  const out: string[] = [];
  let i = path.indexOf('/', rootEnd);
  while (i >= 0) {
    out.push(path.slice(0, i));
    i = path.indexOf('/', i + 1);
  }
  return out;
}
