/**
 * The CI budgets of analyze and compare: their options (from the table in gates.ts), reading them —
 * config file, flags and baseline report — before any image is read, and failing the job after the
 * report is written.
 */
import { type Command, Option } from 'commander';
import { appendFileSync } from 'node:fs';
import type { Analysis } from '../report/types.js';
import { EXIT_RULE, inputError } from '../errors.js';
import { BUDGETS, evaluate, formatFailures, hasRules, isCiEnv, loadConfig, loadDiveConfig, type RawRules, resolveRules, type Rules } from '../gates.js';
import { escapeMarkdown, escapeText } from '../util/escape.js';
import { statOrUndefined } from '../util/files.js';
import { options } from './shared.js';

/** The budget flags as commander hands them over: strings, and lists for the repeatable ones. */
export type BudgetCliOptions = { [K in (typeof BUDGETS)[number]['raw']]?: string | string[] } & { failOn?: string; config?: string; ciConfig?: string };

export function addBudgetOptions(cmd: Command): Command {
  for (const b of BUDGETS) cmd.addOption(b.repeatable ? options.repeatable(b.flags, b.help) : new Option(b.flags, b.help));
  return cmd
    .option('--config <file>', 'rules file (default: .imgscope.yml in the current directory)')
    .option('--ci-config <file>', "dive's CI rules file (default: .dive-ci in the current directory when CI=true, as dive, and there is no imgscope rules file)")
    .option('--fail-on <ids|severity>', 'fail on findings: ids (layer-order,…) and/or a severity (high: high only; medium: high and medium…)');
}

/** The budgets a command runs with, read in full before any image is. */
export interface Budgets {
  rules: Rules;
  failOn?: string;
  /** The analysis of --baseline's saved report (analyze), or of the config file's `baseline:`. */
  baseline?: Analysis;
}

/**
 * The config file and the budget flags, parsed and checked, and the baseline report loaded: a bad
 * value fails here, with exit 2, before the first image is read. `baselineFlag` is analyze's
 * --baseline; `growthBase` says whether the command has a baseline of its own (compare's --baseline image).
 */
export async function resolveBudgets(o: BudgetCliOptions, baselineFlag: string | undefined, growthBase: boolean): Promise<Budgets> {
  const flags: RawRules = {};
  for (const b of BUDGETS) {
    const v = o[b.raw];
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) (flags as Record<string, unknown>)[b.raw] = v;
  }
  if (baselineFlag !== undefined) flags.baseline = baselineFlag;
  const config = loadConfig(o.config);
  // dive's file: given, or .dive-ci found in CI mode (CI=true, as dive) when no imgscope rules file
  // is in play (dive's defaults fill it); outside CI dive evaluates no rules, and neither does a local run
  const dive = loadDiveConfig(o.ciConfig, isCiEnv(process.env.CI) && !o.config && !config.file);
  const rules = resolveRules([config, dive], flags);
  if (rules.maxGrowth !== undefined && !rules.baselineReport && !growthBase) {
    const from = flags.maxGrowth !== undefined ? '--max-growth' : `${config.file} max-growth`;
    throw inputError(`${from}: no baseline to measure growth against: give --baseline <report.json>, a saved analyze report`);
  }
  if (o.failOn) await checkFailOn(o.failOn);
  let baseline: Analysis | undefined;
  if (rules.baselineReport) {
    const { loadReportFile } = await import('../reports.js');
    baseline = loadReportFile(rules.baselineReport).analyses[0];
    if (!baseline) throw inputError(`${rules.baselineReport}: holds no analysis report`);
  }
  return { rules, ...(o.failOn ? { failOn: o.failOn } : {}), ...(baseline ? { baseline } : {}) };
}

/** --fail-on's value: every part a severity or a finding id the rules know (the catalog in render/sarif.ts); else exit 2 naming them. */
async function checkFailOn(spec: string): Promise<void> {
  const [{ SEVERITIES }, { FINDING_IDS }] = await Promise.all([import('../findings/rules.js'), import('../render/sarif.js')]);
  const parts = spec.split(',').map((p) => p.trim()).filter(Boolean);
  if (!parts.length) throw inputError(`--fail-on: '${spec}' names no finding id or severity (severities: ${SEVERITIES.join(', ')}; ids: ${FINDING_IDS.join(', ')})`);
  const unknown = parts.filter((p) => !(SEVERITIES as string[]).includes(p) && !FINDING_IDS.includes(p));
  if (unknown.length) throw inputError(`--fail-on: unknown ${unknown.map((u) => `'${u}'`).join(', ')} (severities: ${SEVERITIES.join(', ')}; finding ids: ${FINDING_IDS.join(', ')})`);
}

async function findingFailures(images: Array<{ name: string; analysis: Analysis }>, spec: string | undefined) {
  if (!spec) return [];
  const { failingFindings } = await import('../findings/rules.js');
  return images.flatMap(({ name, analysis }) =>
    failingFindings(analysis.findings ?? [], spec).map((f) => ({ image: name, rule: `finding ${f.id} (${f.severity})`, message: f.title })),
  );
}

/**
 * Prints each failed rule on its own line and appends to the GitHub job summary when set: the report
 * fitted to what is left of GitHub's 1 MiB a step (the limit counts the whole file, so what earlier
 * commands of the step wrote to it is subtracted), less the budget lines (render/trim.ts), which come
 * first when they alone are long. With no room left, nothing is appended and stderr says so.
 */
async function reportGates(fails: Array<{ image: string; rule: string; message: string }>, markdown: (limitBytes: number) => string): Promise<number> {
  const lines = formatFailures(fails);
  for (const l of lines) process.stderr.write(`imgscope: ${escapeText(l)}\n`);
  const summary = process.env.GITHUB_STEP_SUMMARY;
  if (summary) {
    const { STEP_SUMMARY_LIMIT, truncateMarkdown } = await import('../render/trim.js');
    const why = "1 MiB (GitHub's job summary limit)";
    const left = STEP_SUMMARY_LIMIT - (statOrUndefined(summary)?.size ?? 0);
    if (left < SUMMARY_MIN_ROOM) {
      process.stderr.write(`imgscope: GITHUB_STEP_SUMMARY (${escapeText(summary)}) already holds ${STEP_SUMMARY_LIMIT - left} bytes of GitHub's 1 MiB; nothing added to it\n`);
      return lines.length ? EXIT_RULE : 0;
    }
    const gate = truncateMarkdown(lines.length ? `\n### Budgets: ${lines.length} failed\n\n${lines.map((l) => `- ${escapeMarkdown(l)}`).join('\n')}\n` : '', Math.floor(left / 4), why);
    const room = left - Buffer.byteLength(gate) - 2;
    try {
      appendFileSync(summary, `${truncateMarkdown(markdown(room), room, why)}${gate}\n`);
    } catch (err) {
      throw inputError(`GITHUB_STEP_SUMMARY (${summary}): ${(err as Error).message}`);
    }
  }
  return lines.length ? EXIT_RULE : 0;
}

/** Below this many bytes left in the step's summary, no report is squeezed in (it would be its cut notes alone). */
const SUMMARY_MIN_ROOM = 1024;

/**
 * After the report is written: every budget and --fail-on checked on every image, each failure on
 * stderr, the job summary appended, and exit 1 when anything failed. `baseline` is what growth is
 * measured against when no baseline report was given (compare's --baseline image).
 */
export async function checkBudgets(b: Budgets, images: Array<{ name: string; analysis: Analysis }>, markdown: (limitBytes: number) => string, baseline?: Analysis): Promise<void> {
  if (!hasRules(b.rules) && !b.failOn && !process.env.GITHUB_STEP_SUMMARY) return;
  const fails = evaluate(images, b.rules, b.baseline ?? baseline);
  fails.push(...(await findingFailures(images, b.failOn)));
  process.exitCode = await reportGates(fails, markdown);
}
