/** `imgscope compare`: several images or saved reports side by side, budgets checked against the baseline. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { toolVersion } from '../report/version.js';
import type { Analysis, ColdStart } from '../report/types.js';
import { inputError } from '../errors.js';
import type { LoadedReports } from '../reports.js';
import { checkOutputPath } from '../util/atomic.js';
import type { OnProgress } from '../util/progress.js';
import { addBudgetOptions, type BudgetCliOptions, checkBudgets, resolveBudgets } from './budgets.js';
import { addModelOptions, analyzeWith, emit, type ModelCliOptions, modelOptions, options, type OutputCliOptions, platformOption, progress } from './shared.js';

interface CompareCliOptions extends OutputCliOptions, ModelCliOptions, BudgetCliOptions {
  names?: string;
  baseline: string;
  coldstart?: boolean;
  cold?: boolean;
  runs: string;
  platform?: string;
  cache?: boolean;
}

export function compareCommand(program: Command): Command {
  const cmd = program
    .command('compare')
    .description('side-by-side table of several images (or saved reports) with what differs')
    .argument('<input...>', 'image references and/or saved reports (analyze/coldstart --format json)')
    .option('--names <a,b,c>', 'labels for the compared images, in order')
    .option('--baseline <n>', 'which image the others are compared with (1-based)', '1')
    .option('--coldstart', 'also time image inputs from container create to ready with the image present (warm start; HEALTHCHECK readiness)')
    .option('--cold', 'with --coldstart: remove each image and pull it before each run (cold start: pull + start → ready)')
    .option('--runs <n>', 'cold-start runs with --coldstart', '5')
    .addOption(options.format())
    .addOption(options.output())
    .addOption(options.platform('platform to pick from multi-platform images'))
    .addOption(options.noCache('neither read nor fill the layer cache'))
    .addOption(options.quiet());
  addModelOptions(cmd);
  return addBudgetOptions(cmd).action(runCompare);
}

interface Item {
  analysis: Analysis;
  starts: ColdStart[];
}

/**
 * The saved reports among the inputs, read first (per input; undefined for an image), and the
 * --names/--baseline checks their count allows: each image input is one analysis, each report holds
 * its own number of them. All of it before any image is read.
 */
async function readInputs(inputs: string[], o: CompareCliOptions): Promise<{ reports: Array<LoadedReports | undefined>; baseline: number }> {
  const { loadReportFile } = await import('../reports.js');
  const reports = inputs.map((input) => (input.endsWith('.json') && existsSync(input) ? loadReportFile(input) : undefined));
  const count = reports.reduce((n, r) => n + (r ? r.analyses.length : 1), 0);
  if (count < 2) throw inputError(`compare needs at least two images or analysis reports, got ${count}`);
  const names = o.names ? o.names.split(',').length : undefined;
  if (names !== undefined && names !== count) throw inputError(`--names has ${names} labels for ${count} images`);
  const baseline = Number(o.baseline) - 1;
  if (!Number.isInteger(baseline) || baseline < 0 || baseline >= count) throw inputError(`--baseline must be between 1 and ${count}, got '${o.baseline}'`);
  return { reports, baseline };
}

/** --runs, read like coldstart's own. */
function runsOption(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw inputError(`--runs must be an integer ≥ 1, got '${v}'`);
  return n;
}

async function collect(inputs: string[], reports: Array<LoadedReports | undefined>, o: CompareCliOptions, runs: number, analyzeOne: (input: string, onProgress?: OnProgress) => Promise<Analysis>): Promise<Item[]> {
  const { matchColdStarts } = await import('../reports.js');
  const onProgress = progress(o.quiet);
  const items: Item[] = [];
  const coldStarts: ColdStart[] = [];
  try {
    for (const [i, input] of inputs.entries()) {
      const r = reports[i];
      if (r) {
        for (const a of r.analyses) items.push({ analysis: a, starts: [] });
        coldStarts.push(...r.coldStarts);
        continue;
      }
      const a = await analyzeOne(input, onProgress);
      const starts = [];
      if (o.coldstart || o.cold) {
        const { coldStart } = await import('../coldstart/engine.js');
        starts.push(await coldStart(input, { runs, warmup: o.cold ? 0 : 1, timeoutS: 120, cold: !!o.cold, env: [], publish: [], imports: false, healthIntervalMs: 100, ...(onProgress ? { onProgress } : {}) }));
      }
      items.push({ analysis: a, starts });
    }
  } finally {
    onProgress?.clear();
  }
  for (const it of items) if (it.starts.length === 0) it.starts = matchColdStarts(it.analysis, coldStarts);
  return items;
}

async function runCompare(inputs: string[], o: CompareCliOptions): Promise<void> {
  // every flag value, budget and saved report is read before the first image
  const model = await modelOptions(o);
  const runs = runsOption(o.runs);
  const budgets = await resolveBudgets(o, undefined, true);
  if (o.output) checkOutputPath(o.output);
  const platform = platformOption(o.platform);
  const { reports, baseline } = await readInputs(inputs, o);
  const { compare } = await import('../compare.js');
  const { renderComparisonMarkdown, renderComparisonTable } = await import('../render/compare.js');
  const items = await collect(inputs, reports, o, runs, (input, onProgress) => analyzeWith(input, { ...o, platform, ...(onProgress ? { onProgress } : {}) }, model));
  const names = o.names ? o.names.split(',').map((n) => n.trim()) : items.map((i) => i.analysis.image.tags[0] ?? i.analysis.image.reference);
  const c = compare(items.map((it, i) => ({ name: names[i]!, analysis: it.analysis, starts: it.starts })), baseline, toolVersion());
  const text =
    o.format === 'json' ? JSON.stringify(c, null, 2) + '\n'
    : o.format === 'markdown' ? renderComparisonMarkdown(c)
    : o.format === 'html' ? (await import('../render/html.js')).renderComparisonHtml(c)
    : renderComparisonTable(c);
  await emit(text, o.output, o.format);
  const images = items.map((it, i) => ({ name: names[i]!, analysis: it.analysis }));
  await checkBudgets(budgets, images, () => renderComparisonMarkdown(c), items[baseline]!.analysis);
}
