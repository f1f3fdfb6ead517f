import type { LayerCache } from './layer-cache.js';
import type { LayerWalk, ProbePredicate } from '../walk/types.js';
import type { Compression } from './compression.js';
import type { HealthcheckConfig } from '../report/types.js';
import type { OnProgress } from '../util/progress.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform & { 'os.version'?: string };
  artifactType?: string;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The image config JSON (OCI config.md / Docker v1.2), the parts imgscope reads. */
export interface ImageConfigJson {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: {
    User?: string;
    Env?: string[] | null;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    ExposedPorts?: Record<string, unknown> | null;
    Healthcheck?: HealthcheckConfig | null;
  };
  rootfs?: { type?: string; diff_ids?: string[] };
  history?: HistoryEntry[];
}

/** One layer after its tar was walked. */
export interface LoadedLayer {
  /** Blob digest as the manifest names it (compressed form), when known. */
  digest?: string;
  /** sha256 of the uncompressed tar, from the config's rootfs.diff_ids. */
  diffId?: string;
  mediaType?: string;
  compression: Compression;
  /** Blob bytes a pull transfers; null when the source holds layers uncompressed (docker save). */
  compressedBytes: number | null;
  walk: LayerWalk;
}

/**
 * The one image abstraction every source produces (docs/architecture.md "Sources"); nothing downstream knows
 * where it came from.
 */
export interface LoadedImage {
  reference: string;
  /** The transport's name (a row of transports.ts). */
  transport: string;
  tags: string[];
  manifestDigest?: string;
  configDigest: string;
  config: ImageConfigJson;
  layers: LoadedLayer[];
  warnings: string[];
}

export interface LoadOptions {
  platform?: Platform;
  /** Walk options: which metadata file bodies to keep. */
  capture?: (path: string, size: number) => boolean;
  /** Walk options: which files get partial reads (ELF dynamic section, fatbin headers). */
  probe?: ProbePredicate;
  /** Pull a missing image through the daemon. */
  pull?: boolean;
  /** Verify digests of uncompressed layers read by seeking (costs a full read). */
  verifyLayers?: boolean;
  /** How `docker-daemon:` reads an image: its layer store when it can (default), only the store, or the export. */
  daemonRead?: 'auto' | 'store' | 'export';
  /** Progress events: a line of text, and bytes done of a total where the work counts bytes (util/progress.ts). */
  onProgress?: OnProgress;
  /**
   * Called with each layer, in stacking order, as soon as it is walked: a consumer can merge it and
   * release its entries (`walk.entries`) so that only one layer's entries are alive at a time.
   */
  onLayer?: (index: number, layer: LoadedLayer) => void;
  /**
   * Walked layers kept by content address (see image/layer-cache.ts). Only for the standard capture
   * and probe predicates (what analysis uses): entries hold their output. Ignored with verifyLayers.
   */
  cache?: LayerCache;
}

export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  schema1: 'application/vnd.docker.distribution.manifest.v1+json',
  schema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export const LAYER_MEDIA_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.diff.tar.zstd',
  'application/vnd.docker.image.rootfs.foreign.diff.tar',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);
