/** `imgscope analyze`: every byte of one or more images attributed, one report, budgets checked. */
import { type Command, Option } from 'commander';
import type { Analysis } from '../report/types.js';
import type { TreeData } from '../visual/tree.js';
import { renderAnalysisMarkdown, renderAnalysisTable } from '../render/analyze.js';
import { readDockerfile } from '../dockerfile/read.js';
import { transportUsage } from '../image/transports.js';
import { checkOutputPath } from '../util/atomic.js';
import { inputError } from '../errors.js';
import { addBudgetOptions, type BudgetCliOptions, checkBudgets, resolveBudgets } from './budgets.js';
import { addModelOptions, analyzeWith, emit, type Format, type ModelCliOptions, modelOptions, options, type OutputCliOptions, platformOption, progress } from './shared.js';

interface AnalyzeCliOptions extends OutputCliOptions, ModelCliOptions, BudgetCliOptions {
  dockerfile?: string;
  platform?: string;
  pull?: boolean;
  top: string;
  verify?: boolean;
  daemonRead?: 'auto' | 'store' | 'export';
  /** commander's --no-cache: false when given. */
  cache?: boolean;
  baseline?: string;
  compact?: boolean;
}

export function analyzeCommand(program: Command): Command {
  const cmd = program
    .command('analyze')
    .description('attribute every byte of an image to owners (pip/apt/conda/apk) and kinds, per layer')
    .argument('<ref...>', transportUsage())
    .addOption(options.format(['sarif']))
    .addOption(options.output())
    .addOption(options.platform('platform to pick from a multi-platform index (default: this host)'))
    .option('--pull', 'pull the image through the daemon when it is missing')
    .option('--verify', 'also verify digests of uncompressed layers (reads them in full; bypasses the layer cache)')
    .addOption(
      new Option('--daemon-read <how>', "docker-daemon: images: read the engine's layer store when it can (auto), only the store (store), or export the image (export)")
        .choices(['auto', 'store', 'export'])
        .default('auto'),
    )
    .addOption(options.noCache('neither read nor fill the layer cache (IMGSCOPE_CACHE_DIR, default ~/.cache/imgscope)'))
    .option('--compact', 'Markdown for a PR comment: cut the longest tables first to stay under 64 KiB, saying what was cut')
    .addOption(options.dockerfile())
    .option('--top <n>', 'owners and hidden paths to list in table, Markdown and HTML output', '15')
    .addOption(options.quiet())
    .option('--baseline <report.json>', 'a saved report to measure --max-growth against');
  addModelOptions(cmd);
  return addBudgetOptions(cmd).action(runAnalyze);
}

async function render(results: Analysis[], format: Format, top: number, compact: boolean, trees: TreeData[]): Promise<string> {
  if (format === 'json') return JSON.stringify(results.length === 1 ? results[0] : results, null, 2) + '\n';
  if (format === 'sarif') return (await import('../render/sarif.js')).renderSarif(results);
  if (format === 'markdown' && compact) {
    const { analysesMarkdown, COMMENT_LIMIT } = await import('../render/trim.js');
    return analysesMarkdown(results, top, COMMENT_LIMIT, '64 KiB (a PR comment)');
  }
  if (format === 'markdown') return results.map((a) => renderAnalysisMarkdown(a, top)).join('\n');
  if (format === 'html') return (await import('../render/html.js')).renderAnalysisHtml(results, top, trees);
  return results.map((a) => renderAnalysisTable(a, top)).join('\n');
}

async function runAnalyze(refs: string[], o: AnalyzeCliOptions): Promise<void> {
  // every flag value and budget is read before the first image: a typo fails at once, not after minutes
  const model = await modelOptions(o);
  const budgets = await resolveBudgets(o, o.baseline, false);
  if (o.compact && o.format !== 'markdown') throw inputError(`--compact: only with --format markdown (a PR comment), not ${o.format}`);
  if (o.output) checkOutputPath(o.output);
  const platform = platformOption(o.platform);
  const dockerfile = o.dockerfile !== undefined ? readDockerfile(o.dockerfile) : undefined;
  const onProgress = progress(o.quiet);
  const results: Analysis[] = [];
  // HTML draws a treemap: only then is its data built (pipeline.ts onTree), one per image in order
  const trees: TreeData[] = [];
  const onTree = o.format === 'html' ? (t: TreeData) => void trees.push(t) : undefined;
  try {
    for (const ref of refs) results.push(await analyzeWith(ref, { ...o, platform, dockerfile, ...(onProgress ? { onProgress } : {}), ...(onTree ? { onTree } : {}) }, model));
  } finally {
    onProgress?.clear();
  }
  const top = Math.max(1, Number.parseInt(o.top, 10) || 15);
  await emit(await render(results, o.format, top, !!o.compact, trees), o.output, o.format);
  const images = results.map((a) => ({ name: a.image.reference, analysis: a }));
  const { analysesMarkdown } = await import('../render/trim.js');
  // the job summary: the same document, its longest tables cut to GitHub's limit less the budget lines
  await checkBudgets(budgets, images, (limit) => analysesMarkdown(results, top, limit, "1 MiB (GitHub's job summary limit)"));
}
