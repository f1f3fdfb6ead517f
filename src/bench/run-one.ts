/** Runs one analysis in this process and prints {ms, maxRssBytes, finalBytes, files} as JSON. */
import { analyzeRef } from '../cli.js';

const ref = process.argv[2];
if (!ref) {
  process.stderr.write('usage: run-one REF\n');
  process.exit(2);
}
const t0 = process.hrtime.bigint();
const a = await analyzeRef(ref, {});
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
// resourceUsage().maxRSS is in KiB
process.stdout.write(JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024, finalBytes: a.totals.finalBytes, files: a.totals.files }) + '\n');
