/**
 * A pull through the Docker daemon, timed layer by layer from its progress stream (docs/coldstart.md
 * "The pull, layer by layer"), as `pullRecorded` (image/daemon.ts) recorded it: each message stamped
 * when it arrived. Layers are named by the first 12 hex digits of their compressed blob digest, which
 * is how the Engine names them in the stream.
 */
import type { PullEvent } from '../image/daemon.js';
import type { PullLayer, PullTrace } from '../report/types.js';

export type { PullEvent } from '../image/daemon.js';

/** What the registry's manifest says of one layer, in stacking order. */
export interface ManifestLayer {
  digest: string;
  size: number;
}

const ms = (ns: bigint): number => Number(ns) / 1e6;

/** One layer's progress messages, folded: the first and last time of each step (ns), the size seen. */
interface LayerProgress {
  id: string;
  present: boolean;
  total: number | null;
  dlStart: bigint | null;
  dlEnd: bigint | null;
  exStart: bigint | null;
  exEnd: bigint | null;
}

/** Applies one progress message to its layer's record. */
function foldMessage(a: LayerProgress, status: string, ev: PullEvent): void {
  const total = ev.progressDetail?.total;
  switch (status) {
    case 'Already exists':
      a.present = true;
      break;
    case 'Downloading':
      a.dlStart ??= ev.t;
      if (typeof total === 'number' && total > 0) a.total = Math.max(a.total ?? 0, total);
      break;
    case 'Verifying Checksum':
      a.dlStart ??= ev.t;
      break;
    case 'Download complete':
      a.dlStart ??= ev.t;
      a.dlEnd = ev.t;
      break;
    case 'Extracting':
      a.exStart ??= ev.t;
      // the extract progress counts the compressed bytes read, against the same total
      if (typeof total === 'number' && total > 0 && a.total === null) a.total = total;
      break;
    case 'Pull complete':
      a.exStart ??= ev.t;
      a.exEnd = ev.t;
      break;
    default:
      break; // "Pulling fs layer", "Waiting", "Retrying in N seconds", ...
  }
}

/** The stream folded per layer short id (in the order the stream first named them), and the manifest digest it reported. */
function foldStream(events: PullEvent[]): { byId: Map<string, LayerProgress>; digest: string | null } {
  const byId = new Map<string, LayerProgress>();
  let digest: string | null = null;
  for (const ev of events) {
    const s = ev.status ?? '';
    const d = /^Digest: (sha256:[0-9a-f]{64})$/.exec(s);
    if (d) digest = d[1]!;
    if (!ev.id || !/^[0-9a-f]{12}$/.test(ev.id)) continue;
    let a = byId.get(ev.id);
    if (!a) byId.set(ev.id, (a = { id: ev.id, present: false, total: null, dlStart: null, dlEnd: null, exStart: null, exEnd: null }));
    foldMessage(a, s, ev);
  }
  return { byId, digest };
}

/** The manifest's layers in stacking order, then the ones the stream named that the manifest did not (or no manifest at all), in stream order. */
function layerList(byId: Map<string, LayerProgress>, manifest: ManifestLayer[] | null, start: bigint): PullLayer[] {
  const rel = (t: bigint | null): number | null => (t === null ? null : ms(t - start));
  const layers: PullLayer[] = [];
  const used = new Set<string>();
  const fromAcc = (index: number, dg: string, size: number | null, a: LayerProgress | undefined): PullLayer => {
    const present = a ? a.present && a.dlEnd === null && a.exEnd === null : false;
    return {
      index,
      digest: dg,
      compressedBytes: size,
      status: present ? 'present' : 'downloaded',
      downloadedBytes: present ? 0 : (a?.total ?? null),
      downloadStartMs: rel(a?.dlStart ?? null),
      downloadEndMs: rel(a?.dlEnd ?? null),
      extractStartMs: rel(a?.exStart ?? null),
      extractEndMs: rel(a?.exEnd ?? null),
    };
  };
  if (manifest) {
    manifest.forEach((l, i) => {
      const short = l.digest.replace(/^sha256:/, '').slice(0, 12);
      used.add(short);
      layers.push(fromAcc(i, l.digest, l.size, byId.get(short)));
    });
  }
  for (const a of byId.values()) if (!used.has(a.id)) layers.push(fromAcc(layers.length, a.id, null, a));
  return layers;
}

/** Earliest start → latest end of one step over all layers, ms (0 when no layer has both). */
function span(layers: PullLayer[], pick: (l: PullLayer) => [number | null, number | null]): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const l of layers) {
    const [s, e] = pick(l);
    if (s !== null) lo = Math.min(lo, s);
    if (e !== null) hi = Math.max(hi, e);
  }
  return hi >= lo ? hi - lo : 0;
}

function byteTotals(layers: PullLayer[]): { downloadedBytes: number; presentBytes: number; estimatedLayers: number } {
  let downloadedBytes = 0;
  let presentBytes = 0;
  let estimatedLayers = 0;
  for (const l of layers) {
    if (l.status === 'present') presentBytes += l.compressedBytes ?? 0;
    else if (l.downloadedBytes !== null) downloadedBytes += l.downloadedBytes;
    else {
      estimatedLayers++;
      downloadedBytes += l.compressedBytes ?? 0;
    }
  }
  return { downloadedBytes, presentBytes, estimatedLayers };
}

/**
 * Folds a recorded progress stream into the per-layer breakdown (pure: the unit tests feed it
 * recorded streams). `start` is when the pull request was sent; `manifest` lists the image's layers
 * in order (their digests name the stream's short ids).
 */
export function pullBreakdown(pulled: string, start: bigint, end: bigint, events: PullEvent[], manifest: ManifestLayer[] | null): PullTrace {
  const { byId, digest } = foldStream(events);
  const layers = layerList(byId, manifest, start);
  const { downloadedBytes, presentBytes, estimatedLayers } = byteTotals(layers);
  return {
    pulled,
    totalMs: ms(end - start),
    downloadMs: span(layers, (l) => [l.downloadStartMs, l.downloadEndMs]),
    extractMs: span(layers, (l) => [l.extractStartMs, l.extractEndMs]),
    downloadedBytes,
    presentBytes,
    estimatedLayers,
    layers,
    digest,
  };
}
