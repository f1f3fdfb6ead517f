import { readFileSync } from 'node:fs';
import { assignOwners, type PackageRecord, UNOWNED } from './attribute/owners.js';
import { classify, type Kind, KINDS } from './attribute/kinds.js';
import { MergedFs, type SensitiveRecord, type VisibleFile } from './fs/filesystem.js';
import { cudaFromLocalVersion, cudaMajorFromPipName, cudartVersionFromName, isCudart, tfCudaFromBuildInfo, torchCudaFromVersionPy } from './attribute/cuda.js';
import { ldLibraryPathFromEnv, type LoaderContext, readLdSoConf, resolveNeeded } from './attribute/libs.js';
import type { ElfDynamic } from './inspect/elf.js';
import { wantsProbe } from './inspect/probe.js';
import { DEFAULT_COMPRESSION_RATIO, DEFAULT_NETWORK_BPS, DEFAULT_UNPACK_BPS } from './pull-model.js';
import { computeFindings, type Finding } from './findings/rules.js';
import { loadImage } from './image/load.js';
import { formatPlatform } from './image/platform.js';
import type { HealthcheckConfig, LoadedImage, LoadOptions } from './image/types.js';
import { wantsBody } from './attribute/metadata.js';
import { withContext } from './errors.js';
import { LayerCache } from './image/layer-cache.js';
import { normalizeEntryPath } from './util/paths.js';

export const SCHEMA_VERSION = 1;

export function toolVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}

export interface KindRow {
  kind: Kind;
  bytes: number;
  files: number;
}

export interface OwnerRow {
  owner: string;
  manager: 'pip' | 'apt' | 'conda' | 'apk' | 'unowned';
  name: string;
  version?: string;
  installedSizeKiB?: number;
  bytes: number;
  files: number;
  /** Bytes per kind (only kinds with bytes). */
  kinds: Partial<Record<Kind, number>>;
}

export interface LayerRow {
  index: number;
  digest?: string;
  diffId?: string;
  mediaType?: string;
  compression: string;
  compressedBytes: number | null;
  /** Sum of regular-file bytes in the layer tar (what the layer adds, like docker history SIZE). */
  bytes: number;
  tarBytes: number;
  /** Of `bytes`, how many are holes of sparse files: counted as the file's size, not stored in the tar. */
  sparseHoleBytes?: number;
  files: number;
  visibleBytes: number;
  wasteBytes: number;
  whiteouts: number;
  createdBy: string;
  /** The history comment (e.g. "Imported from -" for `docker import` layers). */
  comment?: string;
  created?: string;
  topKinds: Array<{ kind: Kind; bytes: number }>;
  topOwners: Array<{ owner: string; bytes: number }>;
}

export interface HistoryRow {
  createdBy: string;
  comment?: string;
  created?: string;
  emptyLayer: boolean;
  /** Index into `layers` for steps that made a layer. */
  layer: number | null;
}

export type CacheCategory = 'pip' | 'conda' | 'apt-lists' | 'apt-archives' | 'npm' | 'yarn' | 'pycache' | 'tmp' | 'other';

/** The facts findings are computed from (plain data, part of the report). */
export interface Evidence {
  caches: Array<{ category: CacheCategory; bytes: number; files: number; example: string }>;
  /** The largest model-weight files (top 20). */
  models: Array<{ path: string; bytes: number; layer: number }>;
  /** CUDA runtime shared libraries (cuda-runtime kind), up to 500. */
  cudaLibraries: Array<{ path: string; bytes: number; owner: string; soname: string }>;
  sensitive: SensitiveRecord[];
  os: { id: string; versionId: string; libc: 'glibc' | 'musl' | 'unknown' };
  /** Dynamic dependencies of the ELF files Python packages installed (absent in older reports). */
  sharedLibraries?: SharedLibraryEvidence;
  /** CUDA versions, drivers and GPU architectures (absent in older reports). */
  cuda?: CudaEvidence;
  /** How byte savings were turned into seconds (absent in older reports). */
  pullModel?: PullModel;
  /** Python sources without compiled bytecode (absent in older reports). */
  bytecode?: BytecodeEvidence;
}

export interface BytecodeEvidence {
  /** .py files of the interpreter and installed packages (tests excluded). */
  sourceFiles: number;
  /** Of those, files with no .pyc (in __pycache__ or beside them). */
  withoutBytecode: number;
  withoutBytecodeBytes: number;
  /** Up to 5 such files. */
  examples: string[];
  /** The Python trees they are in (`usr/lib/python3.11`, `…/site-packages`), for the compileall line. */
  roots?: string[];
}

export interface SharedLibraryEvidence {
  /** ELF files inspected (shared objects under site-/dist-packages not owned by the OS package manager). */
  checked: number;
  /** ELF files whose dynamic section could not be read, with why (up to 50). */
  unreadable: Array<{ path: string; reason: string }>;
  /** DT_NEEDED names that do not resolve on the loader's search path (up to 200). */
  missing: Array<{ path: string; owner: string; needed: string; elsewhere: string[] }>;
  /** Needed names expected from the host at run time (the NVIDIA driver's libcuda.so.1, …). */
  hostProvided: string[];
}

export interface CudaEvidence {
  /** CUDA runtime libraries (libcudart) in the final filesystem, with the CUDA version they are. */
  runtimes: Array<{ version: string; path: string; owner: string }>;
  /** What frameworks were built for: null = a CPU build. */
  frameworks: Array<{ name: string; version?: string; cuda: string | null; source: string }>;
  /** CUDA libraries with fatbins: bytes per architecture (SASS and PTX), largest first (up to 100). */
  fatbins: Array<{ path: string; owner: string; bytes: number; sass: Record<string, number>; ptx: Record<string, number> }>;
  /** The deployment architecture given with --gpu-arch (sm_XX), or null. */
  targetArch: string | null;
}

export interface PullModel {
  /** Registry-to-node transfer rate assumed for compressed bytes. */
  networkBytesPerSec: number;
  /** Decompress-and-write rate assumed for uncompressed bytes. */
  unpackBytesPerSec: number;
  /** Compressed / uncompressed bytes used to estimate the compressed share of a saving. */
  compressionRatio: number;
  ratioSource: 'image' | 'default';
}

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

export interface CacheOptions {
  /** Neither read nor fill the layer cache (image/layer-cache.ts). */
  noCache?: boolean;
}



export interface Analysis {
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: 'imgscope'; version: string };
  generatedAt: string;
  image: {
    reference: string;
    transport: string;
    tags: string[];
    manifestDigest?: string;
    configDigest: string;
    platform: string;
    created?: string;
    user: string;
    workingDir: string;
    entrypoint: string[];
    cmd: string[];
    env: string[];
    labels: Record<string, string>;
    exposedPorts: string[];
    healthcheck: HealthcheckConfig | null;
  };
  totals: {
    /** Sum of the layers' file bytes (uncompressed; `docker images` SIZE within tar overhead). */
    imageBytes: number;
    /** Sum of layer blob sizes (what a pull transfers); null when the source has no compressed blobs. */
    compressedBytes: number | null;
    /** Bytes visible in the final filesystem. */
    finalBytes: number;
    /** Bytes added by a layer and hidden later (overwritten or whited out): reclaimable. */
    wasteBytes: number;
    /** dive's efficiency score (see MergedFs for the formula). */
    efficiency: number;
    /** dive's wastedBytes (every copy of a path seen more than once, kept copy included). */
    diveWastedBytes: number;
    files: number;
    layers: number;
  };
  kinds: KindRow[];
  owners: OwnerRow[];
  /** Bytes per owner and kind for the top owners. */
  layers: LayerRow[];
  history: HistoryRow[];
  evidence: Evidence;
  /** What to fix, ranked by the bytes each fix saves. */
  findings: Finding[];
  waste: {
    bytes: number;
    topPaths: Array<{ path: string; bytes: number; addedInLayer: number; hiddenInLayer: number; how: string }>;
  };
  warnings: string[];
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

/**
 * Builds the Analysis (plain data) from a loaded image: merge layers, attribute owners and kinds.
 * `merged` is the image's filesystem when the caller already merged the layers while loading them.
 */
export function analyze(img: LoadedImage, merged?: MergedFs, opts: AnalyzeOptions = {}): Analysis {
  const fs = merged ?? new MergedFs();
  if (!merged) for (const l of img.layers) fs.applyLayer(l.walk);
  fs.finish();
  const files = fs.visible().filter((f) => f.node.inode !== undefined);
  const { owners, packages, warnings: ownerWarnings } = assignOwners(fs, files);
  const { rows: history, stepOf, warnings: histWarnings } = mapHistory(img);

  const cfg = img.config.config ?? {};
  const workdir = normalizeEntryPath(cfg.WorkingDir ?? '');
  const knownHistory = (img.config.history ?? []).length > 0;
  const copyLayers = stepOf.map((s) => COPY_STEP.test(s) && !/ADD file:[0-9a-f]+ in \/\s*$/.test(s));
  const ctx = { workdir, isCopyLayer: (l: number) => (knownHistory ? !!copyLayers[l] : true) };

  const kindBytes = new Map<Kind, number>();
  const kindFiles = new Map<Kind, number>();
  const ownerRows = new Map<string, OwnerRow>();
  const layerKinds = img.layers.map(() => new Map<Kind, number>());
  const layerOwners = img.layers.map(() => new Map<string, number>());
  let finalBytes = 0;
  const caches = new Map<CacheCategory, { category: CacheCategory; bytes: number; files: number; example: string; top: number }>();
  const models: Evidence['models'] = [];
  const cudaLibraries: Evidence['cudaLibraries'] = [];
  let musl = false;
  const elfFiles: Array<{ path: string; owner: string; elf: ElfDynamic }> = [];
  const unreadable: SharedLibraryEvidence['unreadable'] = [];
  let elfChecked = 0;
  const fatbins: CudaEvidence['fatbins'] = [];
  const runtimes: CudaEvidence['runtimes'] = [];
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const owner = owners[i]!;
    const layer = f.node.inode?.layer ?? f.node.layer;
    const kind = classify(f.path, owner, layer, ctx, f.node.name, f.node.inode?.size ?? f.bytes);
    opts.onFile?.(f.path, owner, kind, layer);
    const b = f.bytes;
    finalBytes += b;
    kindBytes.set(kind, (kindBytes.get(kind) ?? 0) + b);
    kindFiles.set(kind, (kindFiles.get(kind) ?? 0) + 1);
    let row = ownerRows.get(owner);
    if (!row) {
      row = ownerRow(owner, packages.get(owner));
      ownerRows.set(owner, row);
    }
    row.bytes += b;
    row.files++;
    row.kinds[kind] = (row.kinds[kind] ?? 0) + b;
    if (kind === 'caches') {
      const cat = cacheCategory(f.path);
      let c = caches.get(cat);
      if (!c) caches.set(cat, (c = { category: cat, bytes: 0, files: 0, example: f.path, top: 0 }));
      c.bytes += b;
      c.files++;
      if (b > c.top) {
        c.top = b;
        c.example = f.path;
      }
    } else if (kind === 'model-weights') models.push({ path: f.path, bytes: b, layer });
    else if (kind === 'cuda-runtime' && cudaLibraries.length < 500 && f.node.name.startsWith('lib') && /\.so(\.|$)/.test(f.node.name)) {
      cudaLibraries.push({ path: f.path, bytes: b, owner, soname: sonameKey(f.node.name) });
    }
    if (f.node.name.startsWith('ld-musl-')) musl = true;
    const probe = f.node.probe;
    if (probe) {
      if (probe.elf && !owner.startsWith('apt:') && !owner.startsWith('apk:')) {
        elfChecked++;
        if (probe.elf.status === 'ok') elfFiles.push({ path: f.path, owner, elf: probe.elf.elf });
        else if (unreadable.length < 50) unreadable.push({ path: f.path, reason: probe.elf.reason });
      }
      if (probe.fatbin && probe.fatbin.entries > 0) {
        fatbins.push({ path: f.path, owner, bytes: b, sass: probe.fatbin.sass, ptx: probe.fatbin.ptx });
      }
    }
    if (f.node.name.startsWith('libcudart') && isCudart(f.node.name)) {
      const p = packages.get(owner);
      const fromPip = p?.manager === 'pip' && /^nvidia-cuda-runtime-cu\d+$/.test(p.name) && p.version ? p.version.split('.').slice(0, 2).join('.') : undefined;
      const v = fromPip ?? cudartVersionFromName(f.node.name);
      if (v) runtimes.push({ version: v, path: f.path, owner });
    }
    layerKinds[layer]?.set(kind, (layerKinds[layer]!.get(kind) ?? 0) + b);
    layerOwners[layer]?.set(owner, (layerOwners[layer]!.get(owner) ?? 0) + b);
  }
  // Packages the database lists but whose files are all gone still appear, with 0 bytes.
  for (const [owner, p] of packages) if (!ownerRows.has(owner)) ownerRows.set(owner, ownerRow(owner, p));

  const layers: LayerRow[] = img.layers.map((l, i) => {
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
      topKinds: top(layerKinds[i]!, 3).map(([kind, bytes]) => ({ kind, bytes })),
      topOwners: top(layerOwners[i]!, 3).map(([owner, bytes]) => ({ owner, bytes })),
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

  const compressedKnown = img.layers.every((l) => l.compressedBytes !== null);
  const warnings = [...img.warnings, ...histWarnings, ...ownerWarnings, ...img.layers.flatMap((l, i) => l.walk.warnings.map((w) => `layer ${i + 1}: ${w}`))];
  if (fs.orphanHardlinks > 0) warnings.push(`${fs.orphanHardlinks} hardlinks point to files not in the image (counted as 0 bytes)`);

  const py = fs.pythonBytecode(isPythonSourceDir);
  const roots = new Set<string>();
  for (const d of py.dirs) {
    const m = /^(.*?(?:site|dist)-packages)(\/|$)/.exec(d) ?? /^(.*?lib\/python3(?:\.\d+)?)(\/|$)/.exec(d);
    roots.add(m ? m[1]! : d);
  }
  const bytecode: BytecodeEvidence = { sourceFiles: py.sources, withoutBytecode: py.missing, withoutBytecodeBytes: py.missingBytes, examples: py.examples, roots: [...roots].sort() };
  const sharedLibraries = resolveSharedLibraries(fs, elfFiles, cfg.Env ?? [], elfChecked, unreadable);
  const cuda: CudaEvidence = {
    runtimes,
    frameworks: frameworkCuda(files, packages),
    fatbins: fatbins.sort((x, y) => y.bytes - x.bytes || (x.path < y.path ? -1 : 1)).slice(0, 100),
    targetArch: opts.gpuArch ?? null,
  };
  const compressedKnownForRatio = img.layers.length > 0 && img.layers.every((l) => l.compressedBytes !== null);
  const imageBytesForRatio = img.layers.reduce((a, l) => a + l.walk.fileBytes, 0);
  const pullModel: PullModel = {
    networkBytesPerSec: opts.networkBytesPerSec ?? DEFAULT_NETWORK_BPS,
    unpackBytesPerSec: opts.unpackBytesPerSec ?? DEFAULT_UNPACK_BPS,
    compressionRatio: compressedKnownForRatio && imageBytesForRatio > 0
      ? Math.min(1, img.layers.reduce((a, l) => a + (l.compressedBytes ?? 0), 0) / imageBytesForRatio)
      : DEFAULT_COMPRESSION_RATIO,
    ratioSource: compressedKnownForRatio && imageBytesForRatio > 0 ? 'image' : 'default',
  };
  const osRelease = parseOsRelease(fs.body('etc/os-release') ?? fs.body('usr/lib/os-release'));
  const evidence: Evidence = {
    caches: [...caches.values()].sort((a, b) => b.bytes - a.bytes).map(({ top: _t, ...c }) => c),
    models: models.sort((a, b) => b.bytes - a.bytes).slice(0, 20),
    cudaLibraries,
    sensitive: fs.sensitive,
    os: { id: osRelease.ID ?? '', versionId: osRelease.VERSION_ID ?? '', libc: musl ? 'musl' : fs.lookup('lib64/ld-linux-x86-64.so.2', true) || fs.lookup('lib/ld-linux-aarch64.so.1', true) ? 'glibc' : 'unknown' },
    sharedLibraries,
    cuda,
    pullModel,
    bytecode,
  };
  const result: Analysis = {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'imgscope', version: toolVersion() },
    generatedAt: new Date().toISOString(),
    image: {
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
    },
    totals: {
      imageBytes: img.layers.reduce((a, l) => a + l.walk.fileBytes, 0),
      compressedBytes: compressedKnown ? img.layers.reduce((a, l) => a + (l.compressedBytes ?? 0), 0) : null,
      finalBytes,
      wasteBytes: fs.wasteBytes,
      efficiency: fs.efficiency,
      diveWastedBytes: fs.diveWastedBytes,
      files: files.length,
      layers: img.layers.length,
    },
    kinds: KINDS.map((kind) => ({ kind, bytes: kindBytes.get(kind) ?? 0, files: kindFiles.get(kind) ?? 0 })),
    owners: [...ownerRows.values()].sort((a, b) => b.bytes - a.bytes || (a.owner < b.owner ? -1 : 1)),
    layers,
    history,
    evidence,
    findings: [],
    waste: {
      bytes: fs.wasteBytes,
      topPaths: fs.topWaste.map((w) => ({ path: w.path, bytes: w.bytes, addedInLayer: w.addedIn, hiddenInLayer: w.hiddenIn, how: w.how })),
    },
    warnings,
  };
  result.findings = computeFindings(result);
  return result;
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

/**
 * Loads and analyzes one reference, merging each layer into the filesystem as soon as it is walked and
 * releasing its entries, so memory holds one layer's entries plus the merged tree.
 */
export async function analyzeReference(
  ref: string,
  opts: Omit<LoadOptions, 'capture' | 'probe' | 'onLayer' | 'cache'> & AnalyzeOptions & CacheOptions = {},
): Promise<Analysis> {
  try {
    const fs = new MergedFs();
    const { noCache, ...loadOpts } = opts;
    const cache = LayerCache.open({ disabled: !!noCache });
    const img = await loadImage(ref, {
      ...loadOpts,
      ...(cache ? { cache } : {}),
      capture: wantsBody,
      probe: wantsProbe,
      onLayer: (_i, layer) => {
        fs.applyLayer(layer.walk);
        layer.walk.entries = [];
      },
    });
    const a = analyze(img, fs, opts);
    await cache?.flush();
    return a;
  } catch (err) {
    throw withContext(ref, err);
  }
}
