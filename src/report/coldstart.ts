/**
 * The JSON `imgscope coldstart --format json` writes: one ColdStartReport per image, each holding the
 * measurements of coldstart/engine.ts. Times are milliseconds, sizes bytes.
 */

export interface Stats {
  median: number;
  p90: number;
  min: number;
  max: number;
  n: number;
}

export interface ImportRow {
  package: string;
  /** Sum of the self times of every module of the package, ms. */
  selfMs: number;
  /** selfMs / the profile's total. */
  share: number;
  modules: number;
}

export interface ImportProfile {
  /** Sum of all self times, ms: the whole import cost of the run. */
  totalMs: number;
  packages: ImportRow[];
}

/** The Engine API's HostConfig.DeviceRequests item. */
export interface DeviceRequest {
  Driver: string;
  Count: number;
  DeviceIDs: string[] | null;
  Capabilities: string[][];
  Options: Record<string, string>;
}

export interface PullLayer {
  /** 0-based, stacking order (the manifest's). */
  index: number;
  /** Compressed blob digest (from the manifest; the short id alone when no manifest was matched). */
  digest: string;
  /** Compressed size the manifest gives, bytes (null when the stream named a layer the manifest lacks). */
  compressedBytes: number | null;
  /** `downloaded`: fetched and unpacked in this pull; `present`: the daemon already had it ("Already exists"). */
  status: 'downloaded' | 'present';
  /**
   * Bytes the daemon says it fetched for this layer: the blob size its progress messages carry
   * (`progressDetail.total`, the length it read and verified). 0 for a present layer; null when the
   * stream never gave a size (a layer too small to report progress).
   */
  downloadedBytes: number | null;
  /** Milliseconds from the pull request: first download message, download complete, first extract message, layer unpacked. */
  downloadStartMs: number | null;
  downloadEndMs: number | null;
  extractStartMs: number | null;
  extractEndMs: number | null;
}

export interface PullTrace {
  /** The name the daemon pulled (the relay's address replaces the registry's with --bandwidth). */
  pulled: string;
  /** Pull request sent → stream ended with the last layer unpacked, ms. */
  totalMs: number;
  /** First download message → last layer's download complete, ms (0 when nothing was downloaded). */
  downloadMs: number;
  /** First extract message → last layer unpacked, ms. Overlaps download: layers unpack while later ones download. */
  extractMs: number;
  /** Sum of downloadedBytes over downloaded layers (null entries count their manifest size; see `estimatedLayers`). */
  downloadedBytes: number;
  /** Compressed bytes of the layers the daemon already had. */
  presentBytes: number;
  /** Layers whose downloaded size the stream never gave (counted at the manifest's size). */
  estimatedLayers: number;
  layers: PullLayer[];
  /** The manifest digest the daemon reported ("Digest: sha256:…"). */
  digest: string | null;
  /** With --bandwidth: the relay's rate and the bytes it carried from the registry (headers, manifests and config included). */
  relay?: { bytesPerSec: number; wireBytes: number };
}

export interface WorkingSetGroup {
  files: number;
  bytes: number;
}

export interface WorkingSet {
  /** Distinct regular files of the image opened by the container's processes between start and ready. */
  files: number;
  /** Their apparent sizes, each inode once: what was opened, not how much of it was read. */
  bytes: number;
  /** The image's final size (bytes visible in the container) and its layers' uncompressed size. */
  finalBytes: number;
  imageBytes: number;
  /** bytes / finalBytes. */
  share: number;
  byLayer: Array<WorkingSetGroup & { layer: number }>;
  byKind: Array<WorkingSetGroup & { kind: string }>;
  /** The owners with the most bytes opened (at most 15). */
  byOwner: Array<WorkingSetGroup & { owner: string }>;
  /** The largest files opened (at most 20). */
  largest: Array<{ path: string; bytes: number; layer: number; owner: string; kind: string }>;
  /** Every file opened, by path (no leading slash): what a lazy-pulling format (eStargz, SOCI) would prefetch. */
  opened: Array<{ path: string; bytes: number; layer: number }>;
  /** Opens by processes that had exited before imgscope could check their PID namespace (left out). */
  unverifiedOpens: number;
}

export interface SharedLayer {
  index: number;
  diffId: string;
  /** Other images on the daemon that hold this layer (their first tag, or `<untagged sha256:…>`). */
  images: string[];
}

export interface ColdRecord {
  /** The image as it was before the first removal (null: the daemon did not have it). */
  imageIdBefore: string | null;
  /** Every reference removed (tags and digest references), and restored afterwards. */
  removedReferences: string[];
  /** Images the removal deleted: the image and its untagged parents (the legacy builder's cache). */
  deletedImages: number;
  /** Layers still on the daemon after the removal, because other images use them. */
  sharedLayers: SharedLayer[];
  /** References that could not be put back, with why (empty when all came back). */
  notRestored: Array<{ reference: string; why: string }>;
}

export type Readiness = { kind: 'healthcheck'; test: string[] } | { kind: 'http'; url: string } | { kind: 'log'; pattern: string };

/** One measured run, in milliseconds (docs/coldstart.md "Phases"). */
export interface RunPhases {
  /** Only with --cold: pull request → last layer unpacked. */
  pull?: number;
  /** Only with --cold: first layer download message → last layer downloaded (inside pull). */
  download?: number;
  /** Only with --cold: first layer extract message → last layer unpacked (inside pull; overlaps download). */
  extract?: number;
  /** Create request sent → `create` event. */
  create: number;
  /** `create` event → `start` event. */
  start: number;
  /** `start` event → first passing readiness probe. */
  ready: number;
  /** Create request → ready: create + start + ready. */
  startToReady: number;
  /** Everything: pull (when cold) + startToReady. */
  total: number;
}

export interface ColdStart {
  reference: string;
  imageId: string;
  readiness: Readiness & { note: string };
  gpus: DeviceRequest[] | null;
  warmupRuns: number;
  /** Milliseconds per measured run. */
  runs: RunPhases[];
  /** Milliseconds: median, p90, min, max per phase over the measured runs. */
  phases: { pull?: Stats; download?: Stats; extract?: Stats; create: Stats; start: Stats; ready: Stats; startToReady: Stats; total: Stats };
  /** With --cold: what was removed, shared and restored; null for a warm start. */
  cold: ColdRecord | null;
  /** With --cold: each measured run's pull, layer by layer (aligned with runs); null for a warm start. */
  pulls: PullTrace[] | null;
  imports: ImportProfile | null;
  /** With --trace-files: the files opened before ready; null otherwise or when tracing was impossible (see notes). */
  workingSet: WorkingSet | null;
  /** What the user should know about this measurement (each also printed on stderr as it happens). */
  notes: string[];
}

/** One image's cold-start document (an array of them for several images). */
export interface ColdStartReport {
  schemaVersion: 1;
  tool: { name: 'imgscope'; version: string };
  generatedAt: string;
  coldStart: ColdStart;
}
