#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { toolVersion } from './analysis.js';
import { analyzeReference } from './pipeline.js';
import type { Analysis, ColdStart } from './report/types.js';
import { SCHEMA_VERSION } from './report/version.js';
import { appendFileSync, existsSync } from 'node:fs';
import { EXIT_INPUT, EXIT_RULE, ImgscopeError, inputError } from './errors.js';
import { parsePlatform } from './image/platform.js';
import { renderAnalysisMarkdown, renderAnalysisTable } from './render/analyze.js';
import { checkOutputPath, writeFileAtomic } from './util/atomic.js';
import { escapeLines, escapeMarkdown, escapeText } from './util/escape.js';
import { formatBytes } from './util/format.js';
import { runCleanups } from './util/cleanup.js';

type Format = 'table' | 'markdown' | 'json' | 'html';

interface CompareCliOptions {
  names?: string;
  baseline: string;
  coldstart?: boolean;
  cold?: boolean;
  runs: string;
  format: Format;
  output?: string;
  platform?: string;
  quiet?: boolean;
  cache?: boolean;
}

interface ColdStartCliOptions {
  runs: string;
  bandwidth?: string;
  traceFiles?: boolean;
  platform?: string;
  warmup: string;
  gpus?: string;
  http?: string;
  log?: string;
  timeout: string;
  cold?: boolean;
  env: string[];
  publish: string[];
  healthInterval: string;
  imports: boolean;
  format: Format;
  output?: string;
  quiet?: boolean;
}

interface AnalyzeOptions {
  format: Format;
  output?: string;
  platform?: string;
  pull?: boolean;
  quiet?: boolean;
  top: string;
  verify?: boolean;
  /** commander's --no-cache: false when given. */
  cache?: boolean;
}

function progress(quiet: boolean | undefined): ((msg: string) => void) | undefined {
  if (quiet || !process.stderr.isTTY) return undefined;
  return (msg) => process.stderr.write(`\r\x1b[K${escapeText(msg).slice(0, (process.stderr.columns ?? 100) - 1)}`);
}

interface ModelCliOptions {
  gpuArch?: string;
  bandwidth?: string;
  unpackRate?: string;
}

/** --gpu-arch sm_89 | 8.9 → sm_89; --bandwidth/--unpack-rate 50MB[/s] → bytes per second. */
export async function modelOptions(o: ModelCliOptions): Promise<{ gpuArch?: string; networkBytesPerSec?: number; unpackBytesPerSec?: number }> {
  const out: { gpuArch?: string; networkBytesPerSec?: number; unpackBytesPerSec?: number } = {};
  if (o.gpuArch !== undefined) {
    const { parseArch } = await import('./attribute/cuda.js');
    const a = parseArch(o.gpuArch);
    if (a === undefined) throw inputError(`--gpu-arch: '${o.gpuArch}' is not a GPU architecture (expected sm_89, sm_90, 8.6 …)`);
    out.gpuArch = `sm_${a}`;
  }
  if (o.bandwidth === undefined && o.unpackRate === undefined) return out;
  const { parseSize } = await import('./gates.js'); // loads yaml: only when a rate is given
  const rate = (v: string, flag: string): number => {
    const n = parseSize(v.replace(/\/s(ec)?$/i, ''), flag);
    if (!(n > 0)) throw inputError(`${flag}: '${v}' must be a positive rate such as 100MB/s`);
    return n;
  };
  if (o.bandwidth !== undefined) out.networkBytesPerSec = rate(o.bandwidth, '--bandwidth');
  if (o.unpackRate !== undefined) out.unpackBytesPerSec = rate(o.unpackRate, '--unpack-rate');
  return out;
}

export async function analyzeRef(
  ref: string,
  opts: { platform?: string; pull?: boolean; verify?: boolean; cache?: boolean; onProgress?: (m: string) => void } & ModelCliOptions,
): Promise<Analysis> {
  return analyzeReference(ref, {
    ...(opts.platform ? { platform: parsePlatform(opts.platform) } : {}),
    pull: !!opts.pull,
    verifyLayers: !!opts.verify,
    noCache: opts.cache === false,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(await modelOptions(opts)),
  });
}

function addModelOptions(cmd: Command): Command {
  return cmd
    .option('--gpu-arch <sm_XX>', 'deployment GPU architecture: check that CUDA libraries have kernels for it (sm_80, sm_89, 9.0 …)')
    .option('--bandwidth <rate>', 'network rate for the seconds-saved estimates (default 100MB/s)')
    .option('--unpack-rate <rate>', 'layer decompress+write rate for the seconds-saved estimates (default 150MB/s)');
}

/**
 * Writes a report. A human-readable one (not JSON, which JSON.stringify escapes) gets a last pass of
 * escapeLines: the renderers escape every value already (util/escape.ts), and this makes sure no
 * control or bidi character they missed reaches a terminal or a file someone cats. It changes
 * nothing the renderers escaped (escapeText is idempotent).
 */
async function emit(text: string, output: string | undefined, format: Format): Promise<void> {
  if (format !== 'json') text = escapeLines(text);
  if (output) await writeFileAtomic(output, text);
  else process.stdout.write(text);
}

interface GateCliOptions {
  failOn?: string;
  maxSize?: string;
  maxCompressed?: string;
  maxWaste?: string;
  minEfficiency?: string;
  forbidKind?: string;
  maxKind: string[];
  maxOwner: string[];
  maxGrowth?: string;
  config?: string;
}

const collect = (v: string, a: string[]): string[] => [...a, v];

function addGateOptions(cmd: Command): Command {
  return cmd
    .option('--max-size <size>', 'fail when the image size exceeds SIZE (e.g. 2GB, 1.5GiB)')
    .option('--max-compressed <size>', 'fail when the compressed (pull) size exceeds SIZE')
    .option('--max-waste <size>', 'fail when the waste exceeds SIZE')
    .option('--min-efficiency <x>', 'fail when dive efficiency is below X (0.95 or 95%)')
    .option('--forbid-kind <kinds>', 'fail when the image carries any of these kinds (comma-separated)')
    .option('--max-kind <kind=size>', 'fail when a kind exceeds SIZE (repeatable)', collect, [] as string[])
    .option('--max-owner <owner=size>', 'fail when an owner (pip:torch, apt:gcc-12…) exceeds SIZE (repeatable)', collect, [] as string[])
    .option('--max-growth <pct>', 'fail when the image grew more than PCT against the baseline')
    .option('--config <file>', 'rules file (default: .imgscope.yml in the current directory)')
    .option('--fail-on <ids|severity>', 'fail on findings: ids (layer-order,…) and/or a severity (high: high only; medium: high and medium…)');
}

async function resolveRules(o: GateCliOptions, baseline?: string) {
  const { loadConfig, mergeRaw, parseRules } = await import('./gates.js');
  const cfg = loadConfig(o.config);
  const flags = {
    maxSize: o.maxSize,
    maxCompressed: o.maxCompressed,
    maxWaste: o.maxWaste,
    minEfficiency: o.minEfficiency,
    forbidKind: o.forbidKind,
    maxKind: o.maxKind.length ? o.maxKind : undefined,
    maxOwner: o.maxOwner.length ? o.maxOwner : undefined,
    maxGrowth: o.maxGrowth,
    baseline,
  };
  if (cfg.file) parseRules(cfg.raw, cfg.file); // a bad value in the file is reported with the file's name
  return parseRules(mergeRaw(cfg.raw, flags), cfg.file ?? 'flags');
}

async function findingFailures(images: Array<{ name: string; analysis: Analysis }>, spec: string | undefined) {
  if (!spec) return [];
  const { failingFindings } = await import('./findings/rules.js');
  return images.flatMap(({ name, analysis }) =>
    failingFindings(analysis.findings ?? [], spec).map((f) => ({ image: name, rule: `finding ${f.id} (${f.severity})`, message: f.title })),
  );
}

/** Prints each failed rule on its own line and appends to the GitHub job summary when set. */
async function reportGates(fails: Array<{ image: string; rule: string; message: string }>, markdown: string): Promise<number> {
  const { formatFailures } = await import('./gates.js');
  const lines = formatFailures(fails);
  for (const l of lines) process.stderr.write(`imgscope: ${escapeText(l)}\n`);
  const summary = process.env.GITHUB_STEP_SUMMARY;
  if (summary) {
    const gate = lines.length ? `\n### Budgets: ${lines.length} failed\n\n${lines.map((l) => `- ${escapeMarkdown(l)}`).join('\n')}\n` : '';
    try {
      appendFileSync(summary, `${markdown}${gate}\n`);
    } catch (err) {
      throw inputError(`GITHUB_STEP_SUMMARY (${summary}): ${(err as Error).message}`);
    }
  }
  return lines.length ? EXIT_RULE : 0;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('imgscope')
    .description('Why is this container image so big, what does it cost at start-up, and what to cut')
    .version(toolVersion())
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(escapeLines(s)) }); // commander echoes bad arguments

  program
    .command('analyze')
    .description('attribute every byte of an image to owners (pip/apt/conda/apk) and kinds, per layer')
    .argument('<ref...>', 'docker-archive:PATH[:TAG] | oci:DIR[:TAG] | oci-archive:PATH[:TAG] | docker-daemon:NAME | PATH | NAME')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'markdown', 'json', 'html']).default('table'))
    .option('-o, --output <file>', 'write the report to FILE (atomically) instead of stdout')
    .option('--platform <os/arch[/variant]>', 'platform to pick from a multi-platform index (default: this host)')
    .option('--pull', 'pull the image through the daemon when it is missing')
    .option('--verify', 'also verify digests of uncompressed layers (reads them in full; bypasses the layer cache)')
    .option('--no-cache', 'neither read nor fill the layer cache (IMGSCOPE_CACHE_DIR, default ~/.cache/imgscope)')
    .option('--top <n>', 'owners to list in table/markdown output', '15')
    .option('-q, --quiet', 'no progress output')
    .option('--baseline <report.json>', 'a saved report to measure --max-growth against');
  addModelOptions(program.commands[program.commands.length - 1]!);
  addGateOptions(program.commands[program.commands.length - 1]!).action(async (refs: string[], o: AnalyzeOptions & GateCliOptions & ModelCliOptions & { baseline?: string }) => {
      await modelOptions(o); // bad flag values fail before any image is read
      if (o.output) checkOutputPath(o.output);
      const onProgress = progress(o.quiet);
      const results: Analysis[] = [];
      for (const ref of refs) results.push(await analyzeRef(ref, { ...o, ...(onProgress ? { onProgress } : {}) }));
      if (onProgress) process.stderr.write('\r\x1b[K');
      const top = Math.max(1, Number.parseInt(o.top, 10) || 15);
      let text: string;
      if (o.format === 'json') text = JSON.stringify(results.length === 1 ? results[0] : results, null, 2) + '\n';
      else if (o.format === 'markdown') text = results.map((a) => renderAnalysisMarkdown(a, top)).join('\n');
      else if (o.format === 'html') text = (await import('./render/html.js')).renderAnalysisHtml(results, top);
      else text = results.map((a) => renderAnalysisTable(a, top)).join('\n');
      const rules = await resolveRules(o, o.baseline);
      await emit(text, o.output, o.format);
      const { evaluate, hasRules } = await import('./gates.js');
      if (hasRules(rules) || o.failOn || process.env.GITHUB_STEP_SUMMARY) {
        let base: Analysis | undefined;
        if (rules.baselineReport) {
          const { loadReportFile } = await import('./reports.js');
          base = loadReportFile(rules.baselineReport).analyses[0];
          if (!base) throw inputError(`${rules.baselineReport}: holds no analysis report`);
        }
        const fails = evaluate(results.map((a) => ({ name: a.image.reference, analysis: a })), rules, base);
        fails.push(...(await findingFailures(results.map((a) => ({ name: a.image.reference, analysis: a })), o.failOn)));
        process.exitCode = await reportGates(fails, results.map((a) => renderAnalysisMarkdown(a, top)).join('\n'));
      }
    });
  const cmp = program
    .command('compare')
    .description('side-by-side table of several images (or saved reports) with what differs')
    .argument('<input...>', 'image references and/or saved reports (analyze/coldstart --format json)')
    .option('--names <a,b,c>', 'labels for the compared images, in order')
    .option('--baseline <n>', 'which image the others are compared with (1-based)', '1')
    .option('--coldstart', 'also time image inputs from container create to ready with the image present (warm start; HEALTHCHECK readiness)')
    .option('--cold', 'with --coldstart: remove each image and pull it before each run (cold start: pull + start → ready)')
    .option('--runs <n>', 'cold-start runs with --coldstart', '5')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'markdown', 'json', 'html']).default('table'))
    .option('-o, --output <file>', 'write the report to FILE (atomically) instead of stdout')
    .option('--platform <os/arch[/variant]>', 'platform to pick from multi-platform images')
    .option('--no-cache', 'neither read nor fill the layer cache')
    .option('-q, --quiet', 'no progress output');
  addModelOptions(cmp);
  addGateOptions(cmp).action(async (inputs: string[], o: CompareCliOptions & GateCliOptions & ModelCliOptions) => {
    await modelOptions(o);
    if (o.output) checkOutputPath(o.output);
    const { compare } = await import('./compare.js');
    const { loadReportFile, matchColdStarts } = await import('./reports.js');
    const { renderComparisonMarkdown, renderComparisonTable } = await import('./render/compare.js');
    const onProgress = progress(o.quiet);
    const items: Array<{ analysis: Analysis; starts: ColdStart[] }> = [];
    const coldStarts: ColdStart[] = [];
    for (const input of inputs) {
      if (input.endsWith('.json') && existsSync(input)) {
        const r = loadReportFile(input);
        for (const a of r.analyses) items.push({ analysis: a, starts: [] });
        coldStarts.push(...r.coldStarts);
        continue;
      }
      const a = await analyzeRef(input, { ...o, ...(o.platform ? { platform: o.platform } : {}), ...(onProgress ? { onProgress } : {}) });
      const starts = [];
      if (o.coldstart || o.cold) {
        const { coldStart } = await import('./coldstart/engine.js');
        starts.push(await coldStart(input, { runs: Number(o.runs) || 5, warmup: o.cold ? 0 : 1, timeoutS: 120, cold: !!o.cold, env: [], publish: [], imports: false, healthIntervalMs: 100, ...(onProgress ? { onProgress } : {}) }));
      }
      items.push({ analysis: a, starts });
    }
    if (onProgress) process.stderr.write('\r\x1b[K');
    for (const it of items) if (it.starts.length === 0) it.starts = matchColdStarts(it.analysis, coldStarts);
    if (items.length < 2) throw inputError(`compare needs at least two images or analysis reports, got ${items.length}`);
    const names = o.names ? o.names.split(',').map((n) => n.trim()) : items.map((i) => i.analysis.image.tags[0] ?? i.analysis.image.reference);
    if (names.length !== items.length) throw inputError(`--names has ${names.length} labels for ${items.length} images`);
    const baseline = Number(o.baseline) - 1;
    if (!Number.isInteger(baseline) || baseline < 0 || baseline >= items.length) throw inputError(`--baseline must be between 1 and ${items.length}, got '${o.baseline}'`);
    const c = compare(items.map((it, i) => ({ name: names[i]!, analysis: it.analysis, starts: it.starts })), baseline, toolVersion());
    const text =
      o.format === 'json' ? JSON.stringify(c, null, 2) + '\n'
      : o.format === 'markdown' ? renderComparisonMarkdown(c)
      : o.format === 'html' ? (await import('./render/html.js')).renderComparisonHtml(c)
      : renderComparisonTable(c);
    await emit(text, o.output, o.format);
    const rules = await resolveRules(o);
    const { evaluate, hasRules } = await import('./gates.js');
    if (hasRules(rules) || o.failOn || process.env.GITHUB_STEP_SUMMARY) {
      let base = items[baseline]!.analysis;
      if (rules.baselineReport) {
        const loaded = loadReportFile(rules.baselineReport).analyses[0];
        if (!loaded) throw inputError(`${rules.baselineReport}: holds no analysis report`);
        base = loaded;
      }
      const fails = evaluate(items.map((it, i) => ({ name: names[i]!, analysis: it.analysis })), rules, base);
      fails.push(...(await findingFailures(items.map((it, i) => ({ name: names[i]!, analysis: it.analysis })), o.failOn)));
      process.exitCode = await reportGates(fails, renderComparisonMarkdown(c));
    }
  });

  program
    .command('coldstart')
    .description('time what a node pays to run the image: pull (with --cold), create, start, first passing probe, over repeated runs')
    .argument('<ref...>', 'image name in the Docker daemon (docker-daemon:NAME also accepted; docker://NAME with --cold)')
    .option('--runs <n>', 'measured runs', '5')
    .option('--warmup <n>', 'runs before measuring (discarded)', '1')
    .option('--gpus <spec>', 'GPU request as docker run --gpus: all | N | "device=0,1" | driver=…,count=…,capabilities=…')
    .option('--http <url>', 'readiness: poll this URL every 10 ms (publish the port with -p)')
    .option('--log <regex>', 'readiness: first log line matching REGEX')
    .option('--timeout <s>', 'seconds a run may take to become ready', '120')
    .option('--cold', 'remove the image under every reference and pull it before each run (pull becomes a timed phase); references are restored afterwards')
    .option('--bandwidth <rate>', 'with --cold: pull through a relay on 127.0.0.1 limited to RATE (e.g. 100MB/s; plain-HTTP registries)')
    .option('--trace-files', 'one extra run under fatrace (root, local daemon): the image files opened before ready')
    .option('--platform <os/arch[/variant]>', 'with --cold: platform to pull when the daemon does not have the image')
    .option('--env <K=V>', 'environment variable for the container (repeatable)', (v: string, a: string[]) => [...a, v], [] as string[])
    .option('-p, --publish <[ip:]host:container>', 'publish a port, on 127.0.0.1 unless an address is given (repeatable)', (v: string, a: string[]) => [...a, v], [] as string[])
    .option('--health-interval <ms>', 'HEALTHCHECK interval used for the measurement', '100')
    .option('--no-imports', 'skip the Python import profile run')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'markdown', 'json', 'html']).default('table'))
    .option('-o, --output <file>', 'write the report to FILE (atomically) instead of stdout')
    .option('-q, --quiet', 'no progress output')
    .action(async (refs: string[], o: ColdStartCliOptions) => {
      if (o.output) checkOutputPath(o.output);
      const { coldStart } = await import('./coldstart/engine.js');
      const { parseGpus } = await import('./coldstart/gpus.js');
      const { renderColdStartMarkdown, renderColdStartTable } = await import('./render/coldstart.js');
      const onProgress = progress(o.quiet);
      const int = (v: string, flag: string, min: number): number => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < min) throw inputError(`${flag} must be an integer ≥ ${min}, got '${v}'`);
        return n;
      };
      const timeoutS = Number(o.timeout);
      if (!(timeoutS > 0)) throw inputError(`--timeout must be a positive number of seconds, got '${o.timeout}'`);
      for (const e of o.env) if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(e)) throw inputError(`--env '${e}': expected KEY=VALUE`);
      const { networkBytesPerSec } = await modelOptions({ ...(o.bandwidth !== undefined ? { bandwidth: o.bandwidth } : {}) });
      const results = [];
      for (const ref of refs) {
        results.push(
          await coldStart(ref, {
            runs: int(o.runs, '--runs', 1),
            warmup: int(o.warmup, '--warmup', 0),
            ...(o.gpus ? { gpus: parseGpus(o.gpus), gpusFlag: o.gpus } : {}),
            ...(o.http ? { http: o.http } : {}),
            ...(o.log ? { log: o.log } : {}),
            timeoutS,
            cold: !!o.cold,
            ...(networkBytesPerSec !== undefined ? { bandwidthBytesPerSec: networkBytesPerSec } : {}),
            ...(o.platform ? { platform: parsePlatform(o.platform) } : {}),
            ...(o.traceFiles ? { traceFiles: true } : {}),
            env: o.env,
            publish: o.publish,
            imports: o.imports,
            healthIntervalMs: int(o.healthInterval, '--health-interval', 1),
            ...(onProgress ? { onProgress } : {}),
          }),
        );
      }
      if (onProgress) process.stderr.write('\r\x1b[K');
      let text: string;
      if (o.format === 'json') {
        const docs = results.map((c) => ({ schemaVersion: SCHEMA_VERSION, tool: { name: 'imgscope', version: toolVersion() }, generatedAt: new Date().toISOString(), coldStart: c }));
        text = JSON.stringify(docs.length === 1 ? docs[0] : docs, null, 2) + '\n';
      } else if (o.format === 'markdown') text = results.map((c) => renderColdStartMarkdown(c)).join('\n');
      else if (o.format === 'html') text = (await import('./render/html.js')).renderColdStartHtml(results);
      else text = results.map((c) => renderColdStartTable(c)).join('\n');
      await emit(text, o.output, o.format);
    });
  const cacheCmd = program
    .command('cache')
    .description('where the layer cache is and what it holds (see also: cache clear)')
    .action(async () => {
      const { defaultCacheDir, LayerCache, cacheDisabledByEnv } = await import('./image/layer-cache.js');
      const u = new LayerCache(defaultCacheDir(), '').usage();
      const state = cacheDisabledByEnv() ? ' (off: IMGSCOPE_CACHE)' : '';
      process.stdout.write(`layer cache${state}: ${escapeText(u.dir)}\n${u.entries} entries, ${formatBytes(u.bytes)} of at most ${formatBytes(u.maxBytes)} (IMGSCOPE_CACHE_MAX)\n`);
    });
  cacheCmd
    .command('clear')
    .description('remove every entry of the layer cache')
    .action(async () => {
      const { defaultCacheDir, LayerCache } = await import('./image/layer-cache.js');
      const c = new LayerCache(defaultCacheDir(), '');
      const dir = c.usage().dir;
      process.stdout.write(`removed ${formatBytes(c.clear())} from ${escapeText(dir)}\n`);
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length <= 2) {
    // no command is a usage error: the help on stderr, exit 2 (a CI step that forgot its arguments fails)
    program.outputHelp({ error: true });
    return EXIT_INPUT;
  }
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return EXIT_INPUT; // commander already printed the one-line usage error
    }
    // an error names files, tags, paths and snippets from the image: escaped (util/escape.ts), one line
    if (err instanceof ImgscopeError) {
      process.stderr.write(`imgscope: ${escapeText(err.message)}\n`);
      return err.exitCode;
    }
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`imgscope: ${escapeText(msg.split('\n')[0]!)}\n`);
    return EXIT_INPUT;
  } finally {
    await runCleanups();
  }
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${(await import('node:fs')).realpathSync(process.argv[1])}`).href;
if (isMain) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
