import type { ProbeResult, ProbeSpec } from '../inspect/probe.js';

/** What a layer tar entry is, reduced to what byte accounting needs. */
export type EntryType = 'file' | 'hardlink' | 'symlink' | 'dir' | 'other';

export interface WalkedEntry {
  /** Root-relative normalized path (no leading `/` or `./`). Whiteouts keep their `.wh.` names. */
  path: string;
  type: EntryType;
  /** Bytes of content present in the archive for this entry (0 for dirs, symlinks, devices). */
  size: number;
  /** Symlink target as written, or the hardlink target (normalized). */
  link?: string;
  /** Body of a small metadata file that an attributor asked for. */
  body?: Buffer;
  /** What partial reads of the body found (ELF dependencies, CUDA fatbin architectures). */
  probe?: ProbeResult;
}

export interface LayerWalk {
  entries: WalkedEntry[];
  /** Bytes of the uncompressed tar stream, headers and padding included. */
  tarBytes: number;
  /** Sum of regular-file content bytes in this layer (apparent size, hardlinks without data = 0). */
  fileBytes: number;
  /** Regular files and hardlinks in this layer. */
  files: number;
  /** Whether the archive ended with the end-of-archive zero block (null when the reader cannot tell). */
  endMarker: boolean | null;
  /** Bytes of sparse files that are holes, not stored (sizes are apparent sizes, as `du -b` gives). */
  holeBytes?: number;
  warnings: string[];
}

/** Decides, from the path and size alone, whether a file's body must be read. */
export type CapturePredicate = (path: string, size: number) => boolean;

/** Decides, from the path and size alone, which partial reads a file's body gets. */
export type ProbePredicate = (path: string, size: number) => ProbeSpec | undefined;

export interface WalkOptions {
  capture?: CapturePredicate;
  probe?: ProbePredicate;
}
