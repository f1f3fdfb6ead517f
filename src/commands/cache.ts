/** `imgscope cache` and `imgscope cache clear`: where the layer cache is, what it holds, emptying it. */
import type { Command } from 'commander';
import { escapeText } from '../util/escape.js';
import { formatBytes } from '../util/format.js';

export function cacheCommand(program: Command): Command {
  const cmd = program
    .command('cache')
    .description('where the layer cache is and what it holds (see also: cache clear)')
    .action(async () => {
      const { defaultCacheDir, LayerCache, cacheDisabledByEnv } = await import('../image/layer-cache.js');
      const u = new LayerCache(defaultCacheDir(), '').usage();
      const state = cacheDisabledByEnv() ? ' (off: IMGSCOPE_CACHE)' : '';
      process.stdout.write(`layer cache${state}: ${escapeText(u.dir)}\n${u.entries} entries, ${formatBytes(u.bytes)} of at most ${formatBytes(u.maxBytes)} (IMGSCOPE_CACHE_MAX)\n`);
    });
  cmd
    .command('clear')
    .description('remove every entry of the layer cache')
    .action(async () => {
      const { defaultCacheDir, LayerCache } = await import('../image/layer-cache.js');
      const c = new LayerCache(defaultCacheDir(), '');
      const dir = c.usage().dir;
      process.stdout.write(`removed ${formatBytes(c.clear())} from ${escapeText(dir)}\n`);
    });
  return cmd;
}
