/**
 * The pipeline in one call (docs/architecture.md "Pipeline"): load the image and walk its layers,
 * merge them into one filesystem, attribute owners, analyse, compute the findings. Each stage only
 * reads what the one before returned; this module is the only one that knows their order.
 */
import { assignOwners } from './attribute/owners.js';
import { type AnalyzeOptions, analyzeImage } from './analysis.js';
import { wantsBody } from './catalog/metadata.js';
import { withContext } from './errors.js';
import { computeFindings } from './findings/rules.js';
import { MergedFs } from './fs/filesystem.js';
import { LayerCache } from './image/layer-cache.js';
import { loadImage } from './image/load.js';
import type { LoadedImage, LoadOptions } from './image/types.js';
import { wantsProbe } from './inspect/probe.js';
import type { Analysis } from './report/types.js';

interface CacheOptions {
  /** Neither read nor fill the layer cache (image/layer-cache.ts). */
  noCache?: boolean;
}

/**
 * The Analysis of a loaded image, findings included. `merged` is the image's filesystem when the
 * caller already merged the layers while loading them (analyzeReference); else they are merged here.
 */
export function analyze(img: LoadedImage, merged?: MergedFs, opts: AnalyzeOptions = {}): Analysis {
  const fs = merged ?? new MergedFs();
  if (!merged) for (const l of img.layers) fs.applyLayer(l.walk);
  fs.finish();
  const files = fs.visible().filter((f) => f.node.inode !== undefined);
  const analysis = analyzeImage(img, fs, files, assignOwners(fs, files), opts);
  analysis.findings = computeFindings(analysis);
  return analysis;
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
