/**
 * Runs one analysis in this process and prints {ms, maxRssBytes, finalBytes, files} as JSON.
 * With --walk-only it only loads the image (reads every layer's headers, nothing merged or
 * attributed): the like-for-like figure next to `tar -tf`.
 */
import { wantsBody } from '../catalog/metadata.js';
import { loadImage } from '../image/load.js';
import { analyzeReference } from '../pipeline.js';

const walkOnly = process.argv[2] === '--walk-only';
const ref = process.argv[walkOnly ? 3 : 2];
if (!ref) {
  process.stderr.write('usage: run-one [--walk-only] REF\n');
  process.exit(2);
}
const t0 = process.hrtime.bigint();
let finalBytes = 0;
let files = 0;
if (walkOnly) {
  const img = await loadImage(ref, {
    capture: wantsBody,
    onLayer: (_i, l) => {
      files += l.walk.files;
      finalBytes += l.walk.fileBytes;
      l.walk.entries = [];
    },
  });
  void img;
} else {
  const a = await analyzeReference(ref, {});
  finalBytes = a.totals.finalBytes;
  files = a.totals.files;
}
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
// resourceUsage().maxRSS is in KiB
process.stdout.write(JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024, finalBytes, files }) + '\n');
