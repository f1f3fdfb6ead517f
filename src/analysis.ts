import { readFileSync } from 'node:fs';
import { assignOwners, type PackageRecord, UNOWNED } from './attribute/owners.js';
import { classify, type Kind, KINDS } from './attribute/kinds.js';
import { MergedFs } from './fs/filesystem.js';
import { loadImage } from './image/load.js';
import { formatPlatform } from './image/platform.js';
import type { HealthcheckConfig, LoadedImage, LoadOptions } from './image/types.js';
import { wantsBody } from './attribute/metadata.js';
import { withContext } from './errors.js';
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
  waste: {
    bytes: number;
    topPaths: Array<{ path: string; bytes: number; addedInLayer: number; hiddenInLayer: number; how: string }>;
  };
  warnings: string[];
}

const COPY_STEP = /(^|\s|\(nop\)\s+)(COPY|ADD)\s/;

/** Maps non-empty history entries to layers (FORMATS.md §2); positional fallback when counts differ. */
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
export function analyze(img: LoadedImage, merged?: MergedFs): Analysis {
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
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const owner = owners[i]!;
    const layer = f.node.inode?.layer ?? f.node.layer;
    const kind = classify(f.path, owner, layer, ctx, f.node.name);
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

  return {
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
    waste: {
      bytes: fs.wasteBytes,
      topPaths: fs.topWaste.map((w) => ({ path: w.path, bytes: w.bytes, addedInLayer: w.addedIn, hiddenInLayer: w.hiddenIn, how: w.how })),
    },
    warnings,
  };
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
export async function analyzeReference(ref: string, opts: Omit<LoadOptions, 'capture' | 'onLayer'> = {}): Promise<Analysis> {
  try {
    const fs = new MergedFs();
    const img = await loadImage(ref, {
      ...opts,
      capture: wantsBody,
      onLayer: (_i, layer) => {
        fs.applyLayer(layer.walk);
        layer.walk.entries = [];
      },
    });
    return analyze(img, fs);
  } catch (err) {
    throw withContext(ref, err);
  }
}
