/**
 * The pipeline in one call (docs/architecture.md "Pipeline"): load the image and walk its layers,
 * merge them into one filesystem, attribute owners, analyse, compute the findings. Each stage only
 * reads what the one before returned; this module is the only one that knows their order.
 */
import { assignOwners } from './attribute/owners.js';
import { type AnalyzeOptions, analyzeImage } from './analysis.js';
import { wantsBody } from './catalog/metadata.js';
import { type BaseEvidence, baseSteps } from './dockerfile/base.js';
import { type LayerPaths, layerPaths } from './dockerfile/layer-paths.js';
import { type LayerLookup, type LocateEvidence, locate } from './dockerfile/locate.js';
import { contextProbe } from './dockerfile/read.js';
import type { Dockerfile } from './dockerfile/parse.js';
import { withContext } from './errors.js';
import { computeFindings } from './findings/rules.js';
import { MergedFs, type VisibleFile } from './fs/filesystem.js';
import { LayerCache } from './image/layer-cache.js';
import { loadImage } from './image/load.js';
import type { LoadedImage, LoadOptions } from './image/types.js';
import { wantsProbe } from './inspect/probe.js';
import type { Analysis, Kind } from './report/types.js';
import { buildTree, type TreeData } from './visual/tree.js';

export interface DockerfileOptions {
  /** --dockerfile: history steps, layers and findings get the lines that made them (docs/dockerfile.md). */
  dockerfile?: Dockerfile;
  /** With `dockerfile`: each layer's paths (dockerfile/layer-paths.ts), taken while its entries were alive. */
  layerPaths?: Array<LayerPaths | undefined>;
  /** With `dockerfile`: what the source tells of the base images' history lengths (dockerfile/base.ts). */
  baseSteps?: BaseEvidence;
}

export interface TreeOptions {
  /**
   * `--format html`: called with the treemap's data (visual/tree.ts) once the analysis is done. Only
   * when given is that data built; the Analysis itself is the same either way.
   */
  onTree?: (tree: TreeData) => void;
}

interface CacheOptions {
  /** Neither read nor fill the layer cache (image/layer-cache.ts). */
  noCache?: boolean;
}

/**
 * The Analysis of a loaded image, findings included. `merged` is the image's filesystem when the
 * caller already merged the layers while loading them (analyzeReference); else they are merged here.
 */
export function analyze(img: LoadedImage, merged?: MergedFs, opts: AnalyzeOptions & DockerfileOptions & TreeOptions = {}): Analysis {
  const fs = merged ?? new MergedFs(wasteOptions(opts));
  if (!merged) for (const l of img.layers) fs.applyLayer(l.walk);
  fs.finish();
  const files = fs.visible().filter((f) => f.node.inode !== undefined);
  const owners = assignOwners(fs, files);
  // the treemap needs each file's kind: the analysis computes it once per file, in `files` order
  const kinds: Kind[] | undefined = opts.onTree ? [] : undefined;
  const onFile: AnalyzeOptions['onFile'] = kinds
    ? (path, owner, kind, layer) => {
        kinds.push(kind);
        opts.onFile?.(path, owner, kind, layer);
      }
    : opts.onFile;
  const analysis = analyzeImage(img, fs, files, owners, { ...opts, ...(onFile ? { onFile } : {}) });
  analysis.findings = computeFindings(analysis);
  if (opts.dockerfile) locate(analysis, opts.dockerfile, layerLookup(files, owners.owners), locateEvidence(img, !!merged, opts));
  if (opts.onTree && kinds) opts.onTree(buildTree({ fs, files, owners: owners.owners, kinds, analysis }));
  return analysis;
}

/** The treemap's waste view names this many of the largest hidden paths (the rest: one record a layer). */
const WASTE_PATHS = 5000;
const wasteOptions = (opts: TreeOptions): { keepWaste?: number } => (opts.onTree ? { keepWaste: WASTE_PATHS } : {});

/** What --dockerfile matching may use beyond the report (docs/dockerfile.md "Matching"). */
function locateEvidence(img: LoadedImage, merged: boolean, opts: DockerfileOptions): LocateEvidence {
  const paths = opts.layerPaths ?? (merged ? undefined : img.layers.map((l) => layerPaths(l.walk.entries)));
  return {
    ...(paths ? { layerPaths: paths } : {}),
    ...(opts.baseSteps ? { baseSteps: opts.baseSteps.known, baseCandidates: opts.baseSteps.candidates } : {}),
    ...(opts.dockerfile ? { context: contextProbe(opts.dockerfile.file) } : {}),
  };
}

/**
 * Where a finding's path or package is, for findings whose evidence names no layer: the layer that
 * holds the path, or the one holding most of the owner's visible bytes. Built on first use.
 */
function layerLookup(files: readonly VisibleFile[], owners: readonly string[]): LayerLookup {
  let byOwner: Map<string, number> | undefined;
  return {
    path: (p) => files.find((f) => f.path === p)?.node.layer,
    owner: (o) => {
      if (!byOwner) {
        const bytes = new Map<string, Map<number, number>>();
        files.forEach((f, i) => {
          const per = bytes.get(owners[i]!) ?? new Map<number, number>();
          per.set(f.node.layer, (per.get(f.node.layer) ?? 0) + f.bytes);
          bytes.set(owners[i]!, per);
        });
        byOwner = new Map([...bytes].map(([k, per]) => [k, [...per].sort((x, y) => y[1] - x[1] || x[0] - y[0])[0]![0]]));
      }
      return byOwner.get(o);
    },
  };
}

/**
 * Loads and analyzes one reference, merging each layer into the filesystem as soon as it is walked and
 * releasing its entries, so memory holds one layer's entries plus the merged tree.
 */
export async function analyzeReference(
  ref: string,
  opts: Omit<LoadOptions, 'capture' | 'probe' | 'onLayer' | 'cache'> & AnalyzeOptions & CacheOptions & DockerfileOptions & TreeOptions = {},
): Promise<Analysis> {
  try {
    const fs = new MergedFs(wasteOptions(opts));
    const { noCache, ...loadOpts } = opts;
    const cache = LayerCache.open({ disabled: !!noCache });
    const paths: Array<LayerPaths | undefined> = [];
    const img = await loadImage(ref, {
      ...loadOpts,
      ...(cache ? { cache } : {}),
      capture: wantsBody,
      probe: wantsProbe,
      onLayer: (i, layer) => {
        if (opts.dockerfile) paths[i] = layerPaths(layer.walk.entries);
        fs.applyLayer(layer.walk);
        layer.walk.entries = [];
      },
    });
    const base = opts.dockerfile ? await baseSteps(opts.dockerfile, img.transport, img.config) : undefined;
    const a = analyze(img, fs, { ...opts, ...(opts.dockerfile ? { layerPaths: paths } : {}), ...(base ? { baseSteps: base } : {}) });
    await cache?.flush();
    return a;
  } catch (err) {
    throw withContext(ref, err);
  }
}
