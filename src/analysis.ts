/**
 * The analysis stage: from a merged filesystem and its owners (attribute/owners.ts) to the report's
 * Analysis (src/report/types.ts): totals, kinds, owners, layers, history and the evidence findings are
 * computed from. The findings themselves are the next stage (pipeline.ts runs both).
 */
import { type OwnerAssignment, type PackageRecord, UNOWNED } from './attribute/owners.js';
import { classify, type KindContext } from './attribute/kinds.js';
import type { MergedFs, VisibleFile } from './fs/filesystem.js';
import { cudaFromLocalVersion, cudaMajorFromPipName, cudartVersionFromName, isCudart, tfCudaFromBuildInfo, torchCudaFromVersionPy } from './attribute/cuda.js';
import { ldLibraryPathFromEnv, type LoaderContext, readLdSoConf, resolveNeeded } from './attribute/libs.js';
import { KINDS } from './catalog/kinds.js';
import type { ElfDynamic } from './inspect/elf.js';
import { DEFAULT_COMPRESSION_RATIO, DEFAULT_NETWORK_BPS, DEFAULT_UNPACK_BPS } from './pull-model.js';
import { formatPlatform } from './image/platform.js';
import type { LoadedImage } from './image/types.js';
import type { Analysis, BytecodeEvidence, CacheCategory, CudaEvidence, Evidence, HistoryRow, Kind, LayerRow, OwnerRow, PullModel, SharedLibraryEvidence } from './report/types.js';
import { SCHEMA_VERSION, toolVersion } from './report/version.js';
import { normalizeEntryPath } from './util/paths.js';

export interface AnalyzeOptions {
  /** Deployment GPU architecture (sm_XX) checked against the fatbins. */
  gpuArch?: string;
  /** Network rate for seconds-saved estimates (bytes/s). */
  networkBytesPerSec?: number;
  /** Unpack rate for seconds-saved estimates (bytes/s). */
  unpackBytesPerSec?: number;
  /** Called once per file of the final filesystem with its owner and kind (coldstart's working set). */
  onFile?: (path: string, owner: string, kind: Kind, layer: number) => void;
}

const COPY_STEP = /(^|\s|\(nop\)\s+)(COPY|ADD)\s/;

/** Maps non-empty history entries to layers (docs/formats.md "Configs and history"); positional fallback when counts differ. */
export function mapHistory(img: LoadedImage): { rows: HistoryRow[]; stepOf: string[]; warnings: string[] } {
  const hist = img.config.history ?? [];
  const nonEmpty = hist.filter((h) => !h.empty_layer);
  const warnings: string[] = [];
  const stepOf: string[] = new Array<string>(img.layers.length).fill('');
  const rows: HistoryRow[] = [];
  if (hist.length > 0 && nonEmpty.length !== img.layers.length) {
    warnings.push(`history has ${nonEmpty.length} layer steps for ${img.layers.length} layers; steps are mapped by position`);
  }
  let li = 0;
  for (const h of hist) {
    const row: HistoryRow = { createdBy: h.created_by ?? '', emptyLayer: !!h.empty_layer, layer: null };
    if (h.created) row.created = h.created;
    if (h.comment) row.comment = h.comment;
    if (!h.empty_layer && li < img.layers.length) {
      row.layer = li;
      stepOf[li] = h.created_by ?? '';
      li++;
    }
    rows.push(row);
  }
  return { rows, stepOf, warnings };
}

function top<K extends string>(m: Map<K, number>, n: number): Array<[K, number]> {
  return [...m.entries()].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n);
}

/** What one pass over the final filesystem's files adds up (the only per-file loop of the analysis). */
interface Tally {
  kindBytes: Map<Kind, number>;
  kindFiles: Map<Kind, number>;
  ownerRows: Map<string, OwnerRow>;
  layerKinds: Array<Map<Kind, number>>;
  layerOwners: Array<Map<string, number>>;
  finalBytes: number;
  caches: Map<CacheCategory, { category: CacheCategory; bytes: number; files: number; example: string; top: number }>;
  models: Evidence['models'];
  cudaLibraries: Evidence['cudaLibraries'];
  musl: boolean;
  elfFiles: Array<{ path: string; owner: string; elf: ElfDynamic }>;
  unreadable: SharedLibraryEvidence['unreadable'];
  elfChecked: number;
  fatbins: CudaEvidence['fatbins'];
  runtimes: CudaEvidence['runtimes'];
}

/**
 * Builds the Analysis (plain data) of a loaded image from its merged filesystem (finished), the files
 * that hold bytes in it and their owners. `findings` is left empty: the findings stage fills it.
 */
export function analyzeImage(img: LoadedImage, fs: MergedFs, files: readonly VisibleFile[], attribution: OwnerAssignment, opts: AnalyzeOptions = {}): Analysis {
  const { owners, packages } = attribution;
  const { rows: history, stepOf, warnings: histWarnings } = mapHistory(img);
  const cfg = img.config.config ?? {};
  const t = tallyFiles(img, files, owners, packages, kindContext(img, stepOf), opts);
  // Packages the database lists but whose files are all gone still appear, with 0 bytes.
  for (const [owner, p] of packages) if (!t.ownerRows.has(owner)) t.ownerRows.set(owner, ownerRow(owner, p));

  const compressedKnown = img.layers.every((l) => l.compressedBytes !== null);
  const warnings = [...img.warnings, ...histWarnings, ...attribution.warnings, ...img.layers.flatMap((l, i) => l.walk.warnings.map((w) => `layer ${i + 1}: ${w}`))];
  if (fs.orphanHardlinks > 0) warnings.push(`${fs.orphanHardlinks} hardlinks point to files not in the image (counted as 0 bytes)`);
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'imgscope', version: toolVersion() },
    generatedAt: new Date().toISOString(),
    image: imageInfo(img),
    totals: {
      imageBytes: img.layers.reduce((a, l) => a + l.walk.fileBytes, 0),
      compressedBytes: compressedKnown ? img.layers.reduce((a, l) => a + (l.compressedBytes ?? 0), 0) : null,
      finalBytes: t.finalBytes,
      wasteBytes: fs.wasteBytes,
      efficiency: fs.efficiency,
      diveWastedBytes: fs.diveWastedBytes,
      files: files.length,
      layers: img.layers.length,
    },
    kinds: KINDS.map((kind) => ({ kind, bytes: t.kindBytes.get(kind) ?? 0, files: t.kindFiles.get(kind) ?? 0 })),
    owners: [...t.ownerRows.values()].sort((a, b) => b.bytes - a.bytes || (a.owner < b.owner ? -1 : 1)),
    layers: layerRows(img, fs, stepOf, history, t),
    history,
    evidence: buildEvidence(img, fs, files, packages, t, cfg.Env ?? [], opts),
    findings: [],
    waste: {
      bytes: fs.wasteBytes,
      topPaths: fs.topWaste.map((w) => ({ path: w.path, bytes: w.bytes, addedInLayer: w.addedIn, hiddenInLayer: w.hiddenIn, how: w.how })),
    },
    warnings,
  };
}

/** What the kind rules need of the image: its WORKDIR and which layers COPY/ADD steps made. */
function kindContext(img: LoadedImage, stepOf: string[]): KindContext {
  const workdir = normalizeEntryPath(img.config.config?.WorkingDir ?? '');
  const knownHistory = (img.config.history ?? []).length > 0;
  const copyLayers = stepOf.map((s) => COPY_STEP.test(s) && !/ADD file:[0-9a-f]+ in \/\s*$/.test(s));
  return { workdir, isCopyLayer: (l: number) => (knownHistory ? !!copyLayers[l] : true) };
}

/** Sums bytes and files per kind, owner and layer, and collects the per-file evidence, in one pass. */
function tallyFiles(
  img: LoadedImage,
  files: readonly VisibleFile[],
  owners: readonly string[],
  packages: Map<string, PackageRecord>,
  ctx: KindContext,
  opts: AnalyzeOptions,
): Tally {
  const t: Tally = {
    kindBytes: new Map(),
    kindFiles: new Map(),
    ownerRows: new Map(),
    layerKinds: img.layers.map(() => new Map<Kind, number>()),
    layerOwners: img.layers.map(() => new Map<string, number>()),
    finalBytes: 0,
    caches: new Map(),
    models: [],
    cudaLibraries: [],
    musl: false,
    elfFiles: [],
    unreadable: [],
    elfChecked: 0,
    fatbins: [],
    runtimes: [],
  };
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const owner = owners[i]!;
    const layer = f.node.inode?.layer ?? f.node.layer;
    const kind = classify(f.path, owner, layer, ctx, f.node.name, f.node.inode?.size ?? f.bytes);
    opts.onFile?.(f.path, owner, kind, layer);
    const b = f.bytes;
    t.finalBytes += b;
    t.kindBytes.set(kind, (t.kindBytes.get(kind) ?? 0) + b);
    t.kindFiles.set(kind, (t.kindFiles.get(kind) ?? 0) + 1);
    let row = t.ownerRows.get(owner);
    if (!row) {
      row = ownerRow(owner, packages.get(owner));
      t.ownerRows.set(owner, row);
    }
    row.bytes += b;
    row.files++;
    row.kinds[kind] = (row.kinds[kind] ?? 0) + b;
    noteFileEvidence(t, f, owner, kind, layer, packages);
    t.layerKinds[layer]?.set(kind, (t.layerKinds[layer]!.get(kind) ?? 0) + b);
    t.layerOwners[layer]?.set(owner, (t.layerOwners[layer]!.get(owner) ?? 0) + b);
  }
  return t;
}

/** The evidence one file adds: caches, model weights, CUDA libraries and runtimes, probe results. */
function noteFileEvidence(t: Tally, f: VisibleFile, owner: string, kind: Kind, layer: number, packages: Map<string, PackageRecord>): void {
  const b = f.bytes;
  if (kind === 'caches') {
    const cat = cacheCategory(f.path);
    let c = t.caches.get(cat);
    if (!c) t.caches.set(cat, (c = { category: cat, bytes: 0, files: 0, example: f.path, top: 0 }));
    c.bytes += b;
    c.files++;
    if (b > c.top) {
      c.top = b;
      c.example = f.path;
    }
  } else if (kind === 'model-weights') t.models.push({ path: f.path, bytes: b, layer });
  else if (kind === 'cuda-runtime' && t.cudaLibraries.length < 500 && f.node.name.startsWith('lib') && /\.so(\.|$)/.test(f.node.name)) {
    t.cudaLibraries.push({ path: f.path, bytes: b, owner, soname: sonameKey(f.node.name) });
  }
  if (f.node.name.startsWith('ld-musl-')) t.musl = true;
  const probe = f.node.probe;
  if (probe) {
    if (probe.elf && !owner.startsWith('apt:') && !owner.startsWith('apk:')) {
      t.elfChecked++;
      if (probe.elf.status === 'ok') t.elfFiles.push({ path: f.path, owner, elf: probe.elf.elf });
      else if (t.unreadable.length < 50) t.unreadable.push({ path: f.path, reason: probe.elf.reason });
    }
    if (probe.fatbin && probe.fatbin.entries > 0) {
      t.fatbins.push({ path: f.path, owner, bytes: b, sass: probe.fatbin.sass, ptx: probe.fatbin.ptx });
    }
  }
  if (f.node.name.startsWith('libcudart') && isCudart(f.node.name)) {
    const p = packages.get(owner);
    const fromPip = p?.manager === 'pip' && /^nvidia-cuda-runtime-cu\d+$/.test(p.name) && p.version ? p.version.split('.').slice(0, 2).join('.') : undefined;
    const v = fromPip ?? cudartVersionFromName(f.node.name);
    if (v) t.runtimes.push({ version: v, path: f.path, owner });
  }
}

/** One row per layer: what it adds, what of it stays visible, its step and its top kinds and owners. */
function layerRows(img: LoadedImage, fs: MergedFs, stepOf: string[], history: HistoryRow[], t: Tally): LayerRow[] {
  return img.layers.map((l, i) => {
    const st = fs.layers[i]!;
    const row: LayerRow = {
      index: i,
      compression: l.compression,
      compressedBytes: l.compressedBytes,
      bytes: l.walk.fileBytes,
      tarBytes: l.walk.tarBytes,
      files: l.walk.files,
      visibleBytes: st.visibleBytes,
      wasteBytes: st.wasteBytes,
      whiteouts: st.whiteouts,
      createdBy: stepOf[i] ?? '',
      topKinds: top(t.layerKinds[i]!, 3).map(([kind, bytes]) => ({ kind, bytes })),
      topOwners: top(t.layerOwners[i]!, 3).map(([owner, bytes]) => ({ owner, bytes })),
    };
    if (l.walk.holeBytes) row.sparseHoleBytes = l.walk.holeBytes;
    if (l.digest) row.digest = l.digest;
    if (l.diffId) row.diffId = l.diffId;
    if (l.mediaType) row.mediaType = l.mediaType;
    const h = history.find((r) => r.layer === i);
    if (h?.created) row.created = h.created;
    if (h?.comment) row.comment = h.comment;
    return row;
  });
}

/** The facts findings are computed from (`Evidence` in src/report/types.ts). */
function buildEvidence(
  img: LoadedImage,
  fs: MergedFs,
  files: readonly VisibleFile[],
  packages: Map<string, PackageRecord>,
  t: Tally,
  env: string[],
  opts: AnalyzeOptions,
): Evidence {
  const cuda: CudaEvidence = {
    runtimes: t.runtimes,
    frameworks: frameworkCuda(files, packages),
    fatbins: t.fatbins.sort((x, y) => y.bytes - x.bytes || (x.path < y.path ? -1 : 1)).slice(0, 100),
    targetArch: opts.gpuArch ?? null,
  };
  const osRelease = parseOsRelease(fs.body('etc/os-release') ?? fs.body('usr/lib/os-release'));
  return {
    caches: [...t.caches.values()].sort((a, b) => b.bytes - a.bytes).map(({ top: _t, ...c }) => c),
    models: t.models.sort((a, b) => b.bytes - a.bytes).slice(0, 20),
    cudaLibraries: t.cudaLibraries,
    sensitive: fs.sensitive,
    os: { id: osRelease.ID ?? '', versionId: osRelease.VERSION_ID ?? '', libc: t.musl ? 'musl' : fs.lookup('lib64/ld-linux-x86-64.so.2', true) || fs.lookup('lib/ld-linux-aarch64.so.1', true) ? 'glibc' : 'unknown' },
    sharedLibraries: resolveSharedLibraries(fs, t.elfFiles, env, t.elfChecked, t.unreadable),
    cuda,
    pullModel: pullModelOf(img, opts),
    bytecode: bytecodeEvidence(fs),
  };
}

/** How byte savings become seconds: the rates given or assumed, and the image's own compression ratio when known. */
function pullModelOf(img: LoadedImage, opts: AnalyzeOptions): PullModel {
  const compressedKnown = img.layers.length > 0 && img.layers.every((l) => l.compressedBytes !== null);
  const imageBytes = img.layers.reduce((a, l) => a + l.walk.fileBytes, 0);
  return {
    networkBytesPerSec: opts.networkBytesPerSec ?? DEFAULT_NETWORK_BPS,
    unpackBytesPerSec: opts.unpackBytesPerSec ?? DEFAULT_UNPACK_BPS,
    compressionRatio: compressedKnown && imageBytes > 0
      ? Math.min(1, img.layers.reduce((a, l) => a + (l.compressedBytes ?? 0), 0) / imageBytes)
      : DEFAULT_COMPRESSION_RATIO,
    ratioSource: compressedKnown && imageBytes > 0 ? 'image' : 'default',
  };
}

function bytecodeEvidence(fs: MergedFs): BytecodeEvidence {
  const py = fs.pythonBytecode(isPythonSourceDir);
  const roots = new Set<string>();
  for (const d of py.dirs) {
    const m = /^(.*?(?:site|dist)-packages)(\/|$)/.exec(d) ?? /^(.*?lib\/python3(?:\.\d+)?)(\/|$)/.exec(d);
    roots.add(m ? m[1]! : d);
  }
  return { sourceFiles: py.sources, withoutBytecode: py.missing, withoutBytecodeBytes: py.missingBytes, examples: py.examples, roots: [...roots].sort() };
}

function imageInfo(img: LoadedImage): Analysis['image'] {
  const cfg = img.config.config ?? {};
  return {
    reference: img.reference,
    transport: img.transport,
    tags: img.tags,
    ...(img.manifestDigest ? { manifestDigest: img.manifestDigest } : {}),
    configDigest: img.configDigest,
    platform: formatPlatform({ os: img.config.os, architecture: img.config.architecture, ...(img.config.variant ? { variant: img.config.variant } : {}) }),
    ...(img.config.created ? { created: img.config.created } : {}),
    user: cfg.User ?? '',
    workingDir: cfg.WorkingDir ?? '',
    entrypoint: cfg.Entrypoint ?? [],
    cmd: cfg.Cmd ?? [],
    env: cfg.Env ?? [],
    labels: cfg.Labels ?? {},
    exposedPorts: Object.keys(cfg.ExposedPorts ?? {}),
    healthcheck: cfg.Healthcheck ?? null,
  };
}

/**
 * Resolves every DT_NEEDED name of the inspected ELF files inside the image (see attribute/libs.ts);
 * names that fail are looked up by file name anywhere in the image, so "absent" and "not on the search
 * path" can be told apart.
 */
function resolveSharedLibraries(
  fs: MergedFs,
  elfFiles: Array<{ path: string; owner: string; elf: ElfDynamic }>,
  env: string[],
  checked: number,
  unreadable: SharedLibraryEvidence['unreadable'],
): SharedLibraryEvidence {
  const ctx: LoaderContext = { fs, ldLibraryPath: ldLibraryPathFromEnv(env), ldSoConf: readLdSoConf(fs) };
  const missing: SharedLibraryEvidence['missing'] = [];
  const host = new Set<string>();
  const failed: Array<{ path: string; owner: string; needed: string }> = [];
  for (const e of elfFiles) {
    for (const n of e.elf.needed) {
      const r = resolveNeeded(ctx, e.path, e.elf, n);
      if (r.found) continue;
      if (r.hostProvided) host.add(n);
      else failed.push({ path: e.path, owner: e.owner, needed: n });
    }
  }
  if (failed.length) {
    const wanted = new Set(failed.map((f) => f.needed));
    const where = new Map<string, string[]>();
    const note = (name: string, path: string): void => {
      if (!wanted.has(name)) return;
      const l = where.get(name) ?? [];
      if (l.length < 5) l.push(path);
      where.set(name, l);
    };
    for (const f of fs.visible()) if (f.node.type === 'file' || f.node.type === 'hardlink' || f.node.type === 'symlink') note(f.node.name, f.path);
    for (const f of failed.slice(0, 200)) missing.push({ ...f, elsewhere: where.get(f.needed) ?? [] });
  }
  return { checked, unreadable, missing, hostProvided: [...host].sort() };
}

const PY_TESTS = /(^|\/)(tests?|testing)(\/|$)/;

/** Directories whose .py files are the interpreter's or installed packages' (tests left out: not imported at start). */
function isPythonSourceDir(dir: string): boolean {
  return (dir.includes('-packages') || dir.includes('lib/python3')) && !PY_TESTS.test(dir);
}

/** What CUDA version torch / tensorflow / jax / cupy were built for. */
function frameworkCuda(files: readonly VisibleFile[], packages: Map<string, PackageRecord>): CudaEvidence['frameworks'] {
  const out: CudaEvidence['frameworks'] = [];
  const seen = new Set<string>();
  const add = (name: string, version: string | undefined, cuda: string | null, source: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    out.push({ name, ...(version ? { version } : {}), cuda, source });
  };
  const pkgVersion = (n: string): string | undefined => packages.get(`pip:${n}`)?.version;
  for (const f of files) {
    if (!f.node.body) continue;
    if (f.path.endsWith('/torch/version.py')) {
      const v = torchCudaFromVersionPy(f.node.body.toString('utf8'));
      if (v !== undefined) add('torch', pkgVersion('torch'), v, `/${f.path}`);
    } else if (f.path.endsWith('/tensorflow/python/platform/build_info.py')) {
      const v = tfCudaFromBuildInfo(f.node.body.toString('utf8'));
      if (v !== undefined) add('tensorflow', pkgVersion('tensorflow'), v, `/${f.path}`);
    }
  }
  for (const p of packages.values()) {
    if (p.manager !== 'pip') continue;
    const local = cudaFromLocalVersion(p.version);
    if (local && (p.name === 'torch' || p.name === 'torchvision' || p.name === 'torchaudio' || p.name === 'jaxlib')) {
      add(p.name, p.version, local, `version ${p.version}`);
      continue;
    }
    if (/^(cupy-cuda\d+x?|jax-cuda\d+-plugin|jax-cuda\d+-pjrt)$/.test(p.name)) {
      const major = cudaMajorFromPipName(p.name);
      if (major) add(p.name, p.version, major, `package name ${p.name}`);
    }
  }
  return out;
}

/** Which package manager or tool a cache file belongs to (for the exact fix). */
export function cacheCategory(path: string): CacheCategory {
  if (/(^|\/)\.cache\/pip\//.test(path)) return 'pip';
  if (/(^|\/)(\.conda\/pkgs|[^/]*conda[^/]*\/pkgs)\//.test(path)) return 'conda';
  if (path.startsWith('var/lib/apt/lists/')) return 'apt-lists';
  if (path.startsWith('var/cache/apt/')) return 'apt-archives';
  if (/(^|\/)\.npm\//.test(path)) return 'npm';
  if (/(^|\/)(\.yarn|\.cache\/yarn|share\/\.cache\/yarn)\//.test(path)) return 'yarn';
  if (path.includes('__pycache__/')) return 'pycache';
  if (path.startsWith('tmp/') || path.startsWith('var/tmp/')) return 'tmp';
  return 'other';
}

/** libcublas.so.12.1.3.1 → libcublas.so.12 (the name the loader asks for). */
export function sonameKey(name: string): string {
  const m = /^(.*?\.so)(\.\d+)?/.exec(name);
  return m ? `${m[1]}${m[2] ?? ''}` : name;
}

function parseOsRelease(body: Buffer | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!body) return out;
  for (const line of body.toString('utf8').split('\n')) {
    const m = /^([A-Z_]+)=("?)(.*)\2\s*$/.exec(line.trim());
    if (m) out[m[1]!] = m[3]!;
  }
  return out;
}

function ownerRow(owner: string, p: PackageRecord | undefined): OwnerRow {
  const row: OwnerRow = {
    owner,
    manager: owner === UNOWNED ? 'unowned' : (p?.manager ?? (owner.split(':')[0] as OwnerRow['manager'])),
    name: owner === UNOWNED ? UNOWNED : (p?.name ?? owner.slice(owner.indexOf(':') + 1)),
    bytes: 0,
    files: 0,
    kinds: {},
  };
  if (p?.version) row.version = p.version;
  if (p?.installedSizeKiB !== undefined) row.installedSizeKiB = p.installedSizeKiB;
  return row;
}
