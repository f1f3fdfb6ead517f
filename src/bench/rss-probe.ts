/**
 * Preloaded into a timed `imgscope` CLI run (`node --import`): on exit, writes the process's peak RSS
 * in bytes to $BENCH_RSS_FILE, so the bench measures the real command, report rendering included.
 */
import { writeFileSync } from 'node:fs';

const out = process.env.BENCH_RSS_FILE;
// resourceUsage().maxRSS is in KiB
if (out) process.on('exit', () => writeFileSync(out, String(process.resourceUsage().maxRSS * 1024)));
