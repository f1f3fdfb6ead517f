/**
 * Generated from schema/report.schema.json by `npm run schema` (schema/types.mjs): edit the schema,
 * not this file. Every JSON document imgscope writes is a `Report`.
 */

/**
 * imgscope's JSON reports, schemaVersion 1: the Analysis of an image (imgscope analyze --format json), a cold-start report (imgscope coldstart --format json), or a comparison (imgscope compare --format json). Sizes are apparent bytes (like du -sb) as integers; times are milliseconds. A multi-image analyze or coldstart run emits an array.
 */
export type Report = Analysis | Analysis[] | ColdStartReport | ColdStartReport[] | Comparison;
export type Digest = string;
export type Bytes = number;
export type Kind =
  | 'model-weights'
  | 'cuda-devel'
  | 'cuda-runtime'
  | 'toolchain'
  | 'caches'
  | 'python'
  | 'docs'
  | 'app'
  | 'system'
  | 'other';
export type BytesOrNull = number | null;
export type CacheCategory =
  'pip' | 'conda' | 'apt-lists' | 'apt-archives' | 'npm' | 'yarn' | 'pycache' | 'tmp' | 'other';
export type SensitiveCategory = 'secret' | 'private-key' | 'vcs' | 'notebook' | 'experiment' | 'data';
export type Severity = 'high' | 'medium' | 'low' | 'info';
/**
 * A layer, by its 0-based index in stacking order (layers[i]).
 */
export type LayerIndex = number;
export type Readiness =
  | {
      kind: 'healthcheck';
      test: string[];
      note: string;
    }
  | {
      kind: 'http';
      url: string;
      note: string;
    }
  | {
      kind: 'log';
      pattern: string;
      note: string;
    };

export interface Analysis {
  schemaVersion: 1;
  tool: {
    name: 'imgscope';
    version: string;
  };
  generatedAt: string;
  image: ImageInfo;
  totals: Totals;
  /**
   * @minItems 10
   * @maxItems 10
   */
  kinds: KindRow[];
  owners: OwnerRow[];
  layers: LayerRow[];
  history: HistoryRow[];
  waste: Waste;
  warnings: string[];
  evidence: Evidence;
  /**
   * What to fix, ranked by savingBytes (then severity).
   */
  findings: Finding[];
  dockerfile?: DockerfileMatch;
}
export interface ImageInfo {
  reference: string;
  /**
   * How the image was read: the name of a row of the transports table (src/image/transports.ts): docker-archive, oci, oci-archive, docker-daemon, docker (a registry) or containers-storage. New transports add names without a schema change.
   */
  transport: string;
  tags: string[];
  manifestDigest?: Digest;
  configDigest: Digest;
  platform: string;
  created?: string;
  user: string;
  workingDir: string;
  entrypoint: string[];
  cmd: string[];
  env: string[];
  labels: {
    [k: string]: string;
  };
  exposedPorts: string[];
  healthcheck: null | HealthcheckConfig;
}
export interface HealthcheckConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}
export interface Totals {
  /**
   * Sum of the layers' regular-file bytes (uncompressed).
   */
  imageBytes: number;
  /**
   * Sum of layer blob sizes (a pull's transfer); null when the source stores layers uncompressed.
   */
  compressedBytes: number | null;
  /**
   * Bytes visible in the final filesystem; owners and kinds each sum to it.
   */
  finalBytes: number;
  /**
   * Bytes added by a layer and hidden by a later one, each counted once.
   */
  wasteBytes: number;
  /**
   * dive's score: sum over paths of the smallest occurrence / sum of all occurrences.
   */
  efficiency: number;
  /**
   * dive's wastedBytes (every copy of a path seen more than once, kept copy included).
   */
  diveWastedBytes: number;
  files: Bytes;
  layers: Bytes;
}
export interface KindRow {
  kind: Kind;
  bytes: Bytes;
  files: Bytes;
}
export interface OwnerRow {
  owner: string;
  manager: 'pip' | 'apt' | 'conda' | 'apk' | 'unowned';
  name: string;
  version?: string;
  installedSizeKiB?: Bytes;
  bytes: Bytes;
  files: Bytes;
  kinds: KindBytes;
}
export interface KindBytes {
  [k: string]: Bytes;
}
export interface LayerRow {
  index: Bytes;
  digest?: Digest;
  diffId?: Digest;
  mediaType?: string;
  compression: 'none' | 'gzip' | 'zstd';
  compressedBytes: BytesOrNull;
  /**
   * Sum of regular-file bytes in the layer tar (what the layer adds, like docker history SIZE).
   */
  bytes: number;
  tarBytes: Bytes;
  /**
   * Of `bytes`, how many are holes of sparse files: counted as the file's size, not stored in the tar.
   */
  sparseHoleBytes?: number;
  files: Bytes;
  visibleBytes: Bytes;
  wasteBytes: Bytes;
  whiteouts: Bytes;
  createdBy: string;
  /**
   * The history comment (e.g. "Imported from -" for `docker import` layers).
   */
  comment?: string;
  created?: string;
  topKinds: {
    kind: Kind;
    bytes: Bytes;
  }[];
  topOwners: {
    owner: string;
    bytes: Bytes;
  }[];
  dockerfile?: DockerfileStep;
}
/**
 * The Dockerfile instruction that made a history step or layer (--dockerfile; FROM for one that came with the base image); absent when not matched.
 */
export interface DockerfileStep {
  /**
   * The path as given to --dockerfile.
   */
  file: string;
  /**
   * First line of the instruction (1-based).
   */
  line: number;
  /**
   * Last line of the instruction, continuation and heredoc lines included.
   */
  endLine: number;
  /**
   * The stage: its FROM … AS name, or its index as a string when unnamed.
   */
  stage: string | null;
  /**
   * The keyword: RUN, COPY, … (FROM for a base-image step).
   */
  instruction: string;
}
export interface HistoryRow {
  createdBy: string;
  comment?: string;
  created?: string;
  emptyLayer: boolean;
  /**
   * Index into `layers` for steps that made a layer.
   */
  layer: Bytes | null;
  dockerfile?: DockerfileStep;
}
export interface Waste {
  bytes: Bytes;
  topPaths: {
    path: string;
    bytes: Bytes;
    addedInLayer: Bytes;
    hiddenInLayer: Bytes;
    how: 'overwritten' | 'deleted';
  }[];
}
/**
 * The facts findings are computed from (plain data, part of the report).
 */
export interface Evidence {
  caches: {
    category: CacheCategory;
    bytes: Bytes;
    files: Bytes;
    example: string;
  }[];
  /**
   * The largest model-weight files (top 20).
   */
  models: {
    path: string;
    bytes: Bytes;
    layer: Bytes;
  }[];
  /**
   * CUDA runtime shared libraries (cuda-runtime kind), up to 500.
   */
  cudaLibraries: {
    path: string;
    bytes: Bytes;
    owner: string;
    soname: string;
  }[];
  sensitive: SensitiveRecord[];
  os: {
    id: string;
    versionId: string;
    libc: 'glibc' | 'musl' | 'unknown';
  };
  sharedLibraries?: SharedLibraryEvidence;
  cuda?: CudaEvidence;
  pullModel?: PullModel;
  bytecode?: BytecodeEvidence;
}
/**
 * A file (or a .git / experiment directory) that should not ship, seen in some layer.
 */
export interface SensitiveRecord {
  category: SensitiveCategory;
  path: string;
  /**
   * Layer that added it.
   */
  layer: number;
  bytes: Bytes;
  files: Bytes;
  /**
   * Still in the final filesystem (else deleted later, yet extractable from its layer).
   */
  visible: boolean;
  /**
   * A key file whose content is a PEM private key (the content itself is never kept).
   */
  privateKey?: boolean;
}
/**
 * DT_NEEDED resolution of the ELF shared objects installed by Python packages (docs/formats.md "ELF").
 */
export interface SharedLibraryEvidence {
  /**
   * ELF files inspected (shared objects under site-/dist-packages not owned by the OS package manager).
   */
  checked: number;
  /**
   * ELF files whose dynamic section could not be read, with why (up to 50).
   */
  unreadable: {
    path: string;
    reason: string;
  }[];
  /**
   * DT_NEEDED names that do not resolve on the loader's search path (up to 200).
   */
  missing: {
    path: string;
    owner: string;
    needed: string;
    elsewhere: string[];
  }[];
  /**
   * Needed names expected from the host at run time (the NVIDIA driver's libcuda.so.1, …).
   */
  hostProvided: string[];
}
/**
 * CUDA runtime versions, what frameworks were built for, and GPU architectures in fatbins.
 */
export interface CudaEvidence {
  /**
   * CUDA runtime libraries (libcudart) in the final filesystem, with the CUDA version they are.
   */
  runtimes: {
    version: string;
    path: string;
    owner: string;
  }[];
  /**
   * What frameworks were built for: null = a CPU build.
   */
  frameworks: {
    name: string;
    version?: string;
    cuda: string | null;
    source: string;
  }[];
  /**
   * CUDA libraries with fatbins: bytes per architecture (SASS and PTX), largest first (up to 100).
   */
  fatbins: {
    path: string;
    owner: string;
    bytes: Bytes;
    sass: {
      [k: string]: Bytes;
    };
    ptx: {
      [k: string]: Bytes;
    };
  }[];
  /**
   * The deployment architecture given with --gpu-arch (sm_XX), or null.
   */
  targetArch: string | null;
}
/**
 * Assumptions behind findings[].savingSeconds.
 */
export interface PullModel {
  /**
   * Registry-to-node transfer rate assumed for compressed bytes.
   */
  networkBytesPerSec: number;
  /**
   * Decompress-and-write rate assumed for uncompressed bytes.
   */
  unpackBytesPerSec: number;
  /**
   * Compressed / uncompressed bytes used to estimate the compressed share of a saving.
   */
  compressionRatio: number;
  ratioSource: 'image' | 'default';
}
/**
 * Python sources of the interpreter and installed packages (tests excluded) and how many have no compiled bytecode.
 */
export interface BytecodeEvidence {
  /**
   * .py files of the interpreter and installed packages (tests excluded).
   */
  sourceFiles: number;
  /**
   * Of those, files with no .pyc (in __pycache__ or beside them).
   */
  withoutBytecode: number;
  withoutBytecodeBytes: Bytes;
  /**
   * Up to 5 such files.
   */
  examples: string[];
  /**
   * The Python trees they are in (`usr/lib/python3.11`, `…/site-packages`), for the compileall line.
   */
  roots?: string[];
}
/**
 * A finding: plain data produced by a pure rule over the Analysis.
 */
export interface Finding {
  /**
   * Stable id, usable with --fail-on.
   */
  id: string;
  severity: Severity;
  title: string;
  /**
   * Estimated bytes the fix saves (null when the gain is time or safety, not bytes).
   */
  savingBytes: number | null;
  evidence: FindingEvidence;
  /**
   * The fix, as one line or a Dockerfile snippet.
   */
  fix: string;
  /**
   * Seconds the saving takes off a pull (compressed share over the network + unpacking, per evidence.pullModel); null without a byte saving.
   */
  savingSeconds?: number | null;
  location?: DockerfileLocation;
}
export interface FindingEvidence {
  /**
   * The paths the finding points at, as data (paths without the leading '/', layers 0-based); the views word them.
   */
  items?: EvidenceItem[];
  /**
   * Reports written before evidence was data: the items as display strings. Read, never written.
   */
  paths?: string[];
  layers?: LayerIndex[];
  /**
   * Dockerfile steps the finding is about, as 0-based indexes into history[] (layer-order: the COPY of the application, then the install after it).
   */
  steps?: number[];
  /**
   * Versions the finding compared (cuda-driver-requirement: the CUDA versions found in the image).
   */
  versions?: string[];
  packages?: string[];
  detail?: string;
}
export interface EvidenceItem {
  path: string;
  /**
   * A shared library (soname) the file at path needs and the loader cannot find.
   */
  needed?: string;
  /**
   * Where the needed library is in the image, off the loader's search path.
   */
  foundAt?: string;
  /**
   * The version of what the path holds (a CUDA runtime's).
   */
  version?: string;
  /**
   * The owner of the file (apt:…, pip:…).
   */
  owner?: string;
  /**
   * The bytes the path accounts for.
   */
  bytes?: number;
  /**
   * The layer the path is in; with deletedIn or overwrittenIn, the layer that added it.
   */
  layer?: number;
  /**
   * The later layer that deleted the path: its bytes still ship in layer.
   */
  deletedIn?: number;
  /**
   * The later layer that overwrote the path: its bytes still ship in layer.
   */
  overwrittenIn?: number;
  /**
   * A sensitive file: still in the final filesystem (false: deleted later, still in its layer).
   */
  visible?: boolean;
  /**
   * The file holds a private key.
   */
  privateKey?: boolean;
  /**
   * A CUDA library's device code: the SASS architectures it holds (sm_80 …).
   */
  sass?: string[];
  /**
   * The PTX architectures it holds.
   */
  ptx?: string[];
}
/**
 * The Dockerfile location of the step a finding is mainly about (--dockerfile); absent when unknown.
 */
export interface DockerfileLocation {
  /**
   * The path as given to --dockerfile.
   */
  file: string;
  /**
   * First line of the instruction (1-based).
   */
  line: number;
  /**
   * Last line of the instruction, continuation and heredoc lines included.
   */
  endLine: number;
}
/**
 * How the history matched the Dockerfile given to --dockerfile (present only then).
 */
export interface DockerfileMatch {
  /**
   * The path as given to --dockerfile.
   */
  file: string;
  /**
   * The stage the image was built to (its name, or its index as a string); absent when no step matched.
   */
  stage?: string;
  /**
   * History steps matched to an instruction.
   */
  matched: number;
  /**
   * History steps that came with the base image of the stage chain's first FROM.
   */
  baseImage?: number;
  /**
   * Steps of the image's own build that match no instruction with confidence.
   */
  unmatched: {
    /**
     * Index into history.
     */
    step: number;
    createdBy: string;
  }[];
}
/**
 * One image's cold-start document (an array of them for several images).
 */
export interface ColdStartReport {
  schemaVersion: 1;
  tool: {
    name: 'imgscope';
    version: string;
  };
  generatedAt: string;
  coldStart: ColdStart;
}
/**
 * What a node pays to run the image, from the Engine's event stream and the pull's progress stream (docs/coldstart.md). Phases, ms: pull (only with --cold: pull request → last layer unpacked), download and extract (inside pull), create (request → create event), start (create → start event), ready (start → first passing readiness probe), startToReady (create request → ready), total (pull + startToReady).
 */
export interface ColdStart {
  reference: string;
  imageId: string;
  readiness: Readiness;
  gpus: null | DeviceRequest[];
  warmupRuns: number;
  /**
   * Milliseconds per measured run.
   *
   * @minItems 1
   */
  runs: RunPhases[];
  /**
   * Milliseconds: median, p90, min, max per phase over the measured runs.
   */
  phases: {
    pull?: Stats;
    create: Stats;
    start: Stats;
    ready: Stats;
    total: Stats;
    download?: Stats;
    extract?: Stats;
    startToReady?: Stats;
  };
  imports: null | ImportProfile;
  /**
   * With --cold: what was removed, shared and restored; null for a warm start.
   */
  cold?: null | ColdRecord;
  /**
   * With --cold: each measured run's pull, layer by layer (aligned with runs); null for a warm start.
   */
  pulls?: null | PullTrace[];
  /**
   * With --trace-files: the files opened before ready; null otherwise or when tracing was impossible (see notes).
   */
  workingSet?: null | WorkingSet;
  /**
   * What the user should know about this measurement (each also printed on stderr as it happens).
   */
  notes?: string[];
}
/**
 * The Engine API's HostConfig.DeviceRequests item.
 */
export interface DeviceRequest {
  Driver: string;
  Count: number;
  DeviceIDs: null | string[];
  Capabilities: string[][];
  Options: {
    [k: string]: string;
  };
}
/**
 * One measured run, in milliseconds (docs/coldstart.md "Phases").
 */
export interface RunPhases {
  /**
   * Only with --cold: pull request → last layer unpacked.
   */
  pull?: number;
  /**
   * Create request sent → `create` event.
   */
  create: number;
  /**
   * `create` event → `start` event.
   */
  start: number;
  /**
   * `start` event → first passing readiness probe.
   */
  ready: number;
  /**
   * Everything: pull (when cold) + startToReady.
   */
  total: number;
  /**
   * Only with --cold: first layer download message → last layer downloaded (inside pull).
   */
  download?: number;
  /**
   * Only with --cold: first layer extract message → last layer unpacked (inside pull; overlaps download).
   */
  extract?: number;
  /**
   * Create request → ready: create + start + ready.
   */
  startToReady?: number;
}
/**
 * A phase over the measured runs, ms: median (mean of the middle two for an even n), p90 (nearest rank), min, max, and n, the number of runs.
 */
export interface Stats {
  median: number;
  p90: number;
  min: number;
  max: number;
  n: number;
}
export interface ImportProfile {
  /**
   * Sum of all self times, ms: the whole import cost of the run.
   */
  totalMs: number;
  packages: ImportRow[];
}
export interface ImportRow {
  package: string;
  /**
   * Sum of the self times of every module of the package, ms.
   */
  selfMs: number;
  /**
   * deprecated: written by earlier versions (the package's first import line); not comparable across packages
   */
  cumulativeMs?: number;
  modules: number;
  /**
   * selfMs / totalMs
   */
  share?: number;
}
export interface ColdRecord {
  /**
   * The image as it was before the first removal (null: the daemon did not have it).
   */
  imageIdBefore: null | string;
  /**
   * Every reference removed (tags and digest references), and restored afterwards.
   */
  removedReferences: string[];
  /**
   * Images the removal deleted: the image and its untagged parents (the legacy builder's cache).
   */
  deletedImages: number;
  /**
   * Layers still on the daemon after the removal, because other images use them.
   */
  sharedLayers: SharedLayer[];
  /**
   * References that could not be put back, with why (empty when all came back).
   */
  notRestored: {
    reference: string;
    why: string;
  }[];
}
export interface SharedLayer {
  index: number;
  diffId: string;
  /**
   * Other images on the daemon that hold this layer (their first tag, or `<untagged sha256:…>`).
   */
  images: string[];
}
export interface PullTrace {
  /**
   * The name the daemon pulled (the relay's address replaces the registry's with --bandwidth).
   */
  pulled: string;
  /**
   * Pull request sent → stream ended with the last layer unpacked, ms.
   */
  totalMs: number;
  /**
   * First download message → last layer's download complete, ms (0 when nothing was downloaded).
   */
  downloadMs: number;
  /**
   * First extract message → last layer unpacked, ms. Overlaps download: layers unpack while later ones download.
   */
  extractMs: number;
  /**
   * Sum of downloadedBytes over downloaded layers (null entries count their manifest size; see `estimatedLayers`).
   */
  downloadedBytes: number;
  /**
   * Compressed bytes of the layers the daemon already had.
   */
  presentBytes: number;
  /**
   * Layers whose downloaded size the stream never gave (counted at the manifest's size).
   */
  estimatedLayers: number;
  layers: PullLayer[];
  /**
   * The manifest digest the daemon reported ("Digest: sha256:…").
   */
  digest: null | Digest;
  /**
   * With --bandwidth: the relay's rate and the bytes it carried from the registry (headers, manifests and config included).
   */
  relay?: {
    bytesPerSec: number;
    wireBytes: Bytes;
  };
}
export interface PullLayer {
  /**
   * 0-based, stacking order (the manifest's).
   */
  index: number;
  /**
   * Compressed blob digest (from the manifest; the short id alone when no manifest was matched).
   */
  digest: string;
  /**
   * Compressed size the manifest gives, bytes (null when the stream named a layer the manifest lacks).
   */
  compressedBytes: number | null;
  /**
   * `downloaded`: fetched and unpacked in this pull; `present`: the daemon already had it ("Already exists").
   */
  status: 'downloaded' | 'present';
  /**
   * Bytes the daemon says it fetched for this layer: the blob size its progress messages carry (`progressDetail.total`, the length it read and verified). 0 for a present layer; null when the stream never gave a size (a layer too small to report progress).
   */
  downloadedBytes: number | null;
  /**
   * Milliseconds from the pull request: first download message, download complete, first extract message, layer unpacked.
   */
  downloadStartMs: null | number;
  downloadEndMs: null | number;
  extractStartMs: null | number;
  extractEndMs: null | number;
}
export interface WorkingSet {
  /**
   * Distinct regular files of the image opened by the container's processes between start and ready.
   */
  files: number;
  /**
   * Their apparent sizes, each inode once: what was opened, not how much of it was read.
   */
  bytes: number;
  /**
   * The image's final size (bytes visible in the container) and its layers' uncompressed size.
   */
  finalBytes: number;
  imageBytes: Bytes;
  /**
   * bytes / finalBytes.
   */
  share: number;
  byLayer: {
    layer: number;
    files: number;
    bytes: Bytes;
  }[];
  byKind: {
    kind: string;
    files: number;
    bytes: Bytes;
  }[];
  /**
   * The owners with the most bytes opened (at most 15).
   */
  byOwner: {
    owner: string;
    files: number;
    bytes: Bytes;
  }[];
  /**
   * The largest files opened (at most 20).
   */
  largest: {
    path: string;
    bytes: Bytes;
    layer: number;
    owner: string;
    kind: string;
  }[];
  /**
   * Opens by processes that had exited before imgscope could check their PID namespace (left out).
   */
  unverifiedOpens: number;
  /**
   * Every file opened, by path (no leading slash): what a lazy-pulling format (eStargz, SOCI) would prefetch.
   */
  opened: {
    path: string;
    bytes: Bytes;
    layer: number;
  }[];
}
export interface Comparison {
  schemaVersion: 1;
  kind: 'comparison';
  tool: {
    name: 'imgscope';
    version: string;
  };
  generatedAt: string;
  /**
   * 0-based index of the baseline row
   */
  baseline: number;
  /**
   * @minItems 2
   */
  rows: ComparisonRow[];
  kinds: {
    kind: Kind;
    bytes: Bytes[];
    delta: number[];
  }[];
  diffs: ImageDiff[];
  /**
   * Findings across the compared images: one row per finding id, a cell per image (same order as rows).
   */
  findings?: FindingAcross[];
}
/**
 * One image's row (docs/coldstart.md "In the comparison"); times are medians over measured runs, ms.
 */
export interface ComparisonRow {
  name: string;
  reference: string;
  imageBytes: Bytes;
  compressedBytes: BytesOrNull;
  finalBytes: Bytes;
  wasteBytes: Bytes;
  /**
   * pull + start → ready, median over cold runs (null: no cold run)
   */
  coldStartMs: null | number;
  vsBaseline: {
    imageBytes: number;
    imageRatio: null | number;
    coldStartMs: null | number;
    warmStartMs: null | number;
  };
  /**
   * Pull request → last layer unpacked, on a daemon the image was removed from (null: no cold run).
   */
  pullMs: null | number;
  /**
   * Create request → ready: after the pull in a cold run, else in a warm run.
   */
  startToReadyMs: null | number;
  /**
   * Create request → ready with the image already present (null: no warm run).
   */
  warmStartMs: null | number;
  workingSetShare: null | number;
  /**
   * Compressed bytes the cold pull downloaded (median over runs; less than compressedBytes when layers were shared).
   */
  downloadedBytes: number | null;
  /**
   * Bytes of the image's files opened before ready (coldstart --trace-files), and their share of finalBytes.
   */
  workingSetBytes: number | null;
  /**
   * Compressed bytes of layers the daemon still held at the cold pull (shared with other images); 0: fully cold.
   */
  presentBytes: number | null;
  /**
   * The phases of the median cold run, the run whose total is coldStartMs (with an even number of runs, the mean of the two middle runs' phases): pullMs + createMs + startMs + readyMs = coldStartMs. Each can differ from the median of that phase over the runs (pullMs from the row's pullMs). null: no cold run; absent in comparisons written before it existed (docs/coldstart.md "In the comparison").
   */
  coldStartPhases?: null | ColdStartPhases;
}
export interface ColdStartPhases {
  pullMs: number;
  createMs: number;
  startMs: number;
  readyMs: number;
}
export interface ImageDiff {
  name: string;
  /**
   * Owners whose bytes grew / shrank most against the baseline (present in both).
   */
  growers: OwnerDelta[];
  shrinkers: OwnerDelta[];
  onlyHere: {
    owner: string;
    bytes: Bytes;
  }[];
  onlyInBaseline: {
    owner: string;
    bytes: Bytes;
  }[];
  /**
   * Dockerfile steps (layer-making history entries) found in one image and not the other.
   */
  stepsOnlyHere: {
    step: string;
    bytes: Bytes;
  }[];
  stepsOnlyInBaseline: {
    step: string;
    bytes: Bytes;
  }[];
}
export interface OwnerDelta {
  owner: string;
  baseline: Bytes;
  bytes: Bytes;
  delta: number;
}
export interface FindingAcross {
  id: string;
  severity: Severity;
  /**
   * The title from the first image that has it.
   */
  title: string;
  /**
   * Per image (rows order): null where the finding is absent.
   */
  images: (null | {
    severity: Severity;
    savingBytes: BytesOrNull;
    savingSeconds?: number | null;
  })[];
}
