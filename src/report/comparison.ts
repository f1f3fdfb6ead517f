/** The JSON `imgscope compare --format json` writes (compare.ts builds it). */
import type { Kind } from './analysis.js';
import type { Severity } from './finding.js';

/** One image's row (docs/coldstart.md "In the comparison"); times are medians over measured runs, ms. */
export interface ComparisonRow {
  name: string;
  reference: string;
  imageBytes: number;
  compressedBytes: number | null;
  finalBytes: number;
  wasteBytes: number;
  /** Pull request → last layer unpacked, on a daemon the image was removed from (null: no cold run). */
  pullMs: number | null;
  /** Compressed bytes the cold pull downloaded (median over runs; less than compressedBytes when layers were shared). */
  downloadedBytes: number | null;
  /** Compressed bytes of layers the daemon still held at the cold pull (shared with other images); 0: fully cold. */
  presentBytes: number | null;
  /** Create request → ready: after the pull in a cold run, else in a warm run. */
  startToReadyMs: number | null;
  /** Pull + start → ready, per run, median (null: no cold run). */
  coldStartMs: number | null;
  /** Create request → ready with the image already present (null: no warm run). */
  warmStartMs: number | null;
  /** Bytes of the image's files opened before ready (coldstart --trace-files), and their share of finalBytes. */
  workingSetBytes: number | null;
  workingSetShare: number | null;
  vsBaseline: { imageBytes: number; imageRatio: number | null; coldStartMs: number | null; warmStartMs: number | null };
}

export interface OwnerDelta {
  owner: string;
  baseline: number;
  bytes: number;
  delta: number;
}

export interface ImageDiff {
  name: string;
  /** Owners whose bytes grew / shrank most against the baseline (present in both). */
  growers: OwnerDelta[];
  shrinkers: OwnerDelta[];
  onlyHere: Array<{ owner: string; bytes: number }>;
  onlyInBaseline: Array<{ owner: string; bytes: number }>;
  /** Dockerfile steps (layer-making history entries) found in one image and not the other. */
  stepsOnlyHere: Array<{ step: string; bytes: number }>;
  stepsOnlyInBaseline: Array<{ step: string; bytes: number }>;
}

export interface FindingAcross {
  id: string;
  /** The worst severity among the images that have it. */
  severity: Severity;
  /** The title from the first image that has it. */
  title: string;
  /** Per image (rows order): null where the finding is absent. */
  images: Array<{ severity: Severity; savingBytes: number | null; savingSeconds?: number | null } | null>;
}

export interface Comparison {
  schemaVersion: 1;
  kind: 'comparison';
  tool: { name: 'imgscope'; version: string };
  generatedAt: string;
  baseline: number;
  rows: ComparisonRow[];
  kinds: Array<{ kind: Kind; bytes: number[]; delta: number[] }>;
  diffs: ImageDiff[];
  /** Which findings each image has (absent in comparisons written before findings were compared). */
  findings?: FindingAcross[];
}
