/**
 * The JSON an analysis writes (`imgscope analyze --format json`): every type here is part of the
 * report contract, checked against schema/report.schema.json. The stages that fill it import the
 * types from here, so the contract is read in one place.
 */
import type { KINDS } from '../catalog/kinds.js';
import type { Finding } from './finding.js';

export const SCHEMA_VERSION = 1;

/** What a file is for (README.md "Kinds"), one per file. */
export type Kind = (typeof KINDS)[number];

/** Why a file should not ship (catalog/sensitive.ts decides). */
export type SensitiveCategory = 'secret' | 'private-key' | 'vcs' | 'notebook' | 'experiment' | 'data';

/** A file (or a .git / experiment directory) that should not ship, seen in some layer. */
export interface SensitiveRecord {
  category: SensitiveCategory;
  path: string;
  /** Layer that added it. */
  layer: number;
  bytes: number;
  files: number;
  /** Still in the final filesystem (else deleted later, yet extractable from its layer). */
  visible: boolean;
  /** A key file whose content is a PEM private key (the content itself is never kept). */
  privateKey?: boolean;
}

export interface HealthcheckConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
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
