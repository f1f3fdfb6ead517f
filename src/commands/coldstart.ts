/** `imgscope coldstart`: what a node pays to run the image, over repeated runs. */
import type { Command } from 'commander';
import type { ColdStartOptions } from '../coldstart/engine.js';
import type { ColdStart } from '../report/types.js';
import { SCHEMA_VERSION, toolVersion } from '../report/version.js';
import { inputError } from '../errors.js';
import { coldstartUsage } from '../image/transports.js';
import { checkOutputPath } from '../util/atomic.js';
import { emit, type Format, modelOptions, options, type OutputCliOptions, platformOption, progress } from './shared.js';

interface ColdStartCliOptions extends OutputCliOptions {
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
}

export function coldstartCommand(program: Command): Command {
  return program
    .command('coldstart')
    .description('time what a node pays to run the image: pull (with --cold), create, start, first passing probe, over repeated runs')
    .argument('<ref...>', coldstartUsage())
    .option('--runs <n>', 'measured runs', '5')
    .option('--warmup <n>', 'runs before measuring (discarded)', '1')
    .option('--gpus <spec>', 'GPU request as docker run --gpus: all | N | "device=0,1" | driver=…,count=…,capabilities=…')
    .option('--http <url>', 'readiness: poll this URL every 10 ms (publish the port with -p)')
    .option('--log <regex>', 'readiness: first log line matching REGEX')
    .option('--timeout <s>', 'seconds a run may take to become ready', '120')
    .option('--cold', 'remove the image under every reference and pull it before each run (pull becomes a timed phase); references are restored afterwards')
    .option('--bandwidth <rate>', 'with --cold: pull through a relay on 127.0.0.1 limited to RATE (e.g. 100MB/s; plain-HTTP registries)')
    .option('--trace-files', 'one extra run under fatrace (root, local daemon): the image files opened before ready')
    .addOption(options.platform('with --cold: platform to pull when the daemon does not have the image'))
    .addOption(options.repeatable('--env <K=V>', 'environment variable for the container (repeatable)'))
    .addOption(options.repeatable('-p, --publish <[ip:]host:container>', 'publish a port, on 127.0.0.1 unless an address is given (repeatable)'))
    .option('--health-interval <ms>', 'HEALTHCHECK interval used for the measurement', '100')
    .option('--no-imports', 'skip the Python import profile run')
    .addOption(options.format())
    .addOption(options.output())
    .addOption(options.quiet())
    .action(runColdstart);
}

function int(v: string, flag: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw inputError(`${flag} must be an integer ≥ ${min}, got '${v}'`);
  return n;
}

/** Every flag read and checked once, before the first image is touched; the same for every reference. */
async function runOptions(o: ColdStartCliOptions): Promise<Omit<ColdStartOptions, 'onProgress'>> {
  const timeoutS = Number(o.timeout);
  if (!(timeoutS > 0)) throw inputError(`--timeout must be a positive number of seconds, got '${o.timeout}'`);
  for (const e of o.env) if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(e)) throw inputError(`--env '${e}': expected KEY=VALUE`);
  const { networkBytesPerSec } = await modelOptions({ ...(o.bandwidth !== undefined ? { bandwidth: o.bandwidth } : {}) });
  const { parseGpus } = await import('../coldstart/gpus.js');
  const runs = int(o.runs, '--runs', 1);
  const warmup = int(o.warmup, '--warmup', 0);
  const gpus = o.gpus ? { gpus: parseGpus(o.gpus), gpusFlag: o.gpus } : {};
  const platform = platformOption(o.platform);
  return {
    runs,
    warmup,
    ...gpus,
    ...(o.http ? { http: o.http } : {}),
    ...(o.log ? { log: o.log } : {}),
    timeoutS,
    cold: !!o.cold,
    ...(networkBytesPerSec !== undefined ? { bandwidthBytesPerSec: networkBytesPerSec } : {}),
    ...(platform ? { platform } : {}),
    ...(o.traceFiles ? { traceFiles: true } : {}),
    env: o.env,
    publish: o.publish,
    imports: o.imports,
    healthIntervalMs: int(o.healthInterval, '--health-interval', 1),
  };
}

async function render(results: ColdStart[], format: Format): Promise<string> {
  const { renderColdStartMarkdown, renderColdStartTable } = await import('../render/coldstart.js');
  if (format === 'json') {
    const docs = results.map((c) => ({ schemaVersion: SCHEMA_VERSION, tool: { name: 'imgscope', version: toolVersion() }, generatedAt: new Date().toISOString(), coldStart: c }));
    return JSON.stringify(docs.length === 1 ? docs[0] : docs, null, 2) + '\n';
  }
  if (format === 'markdown') return results.map((c) => renderColdStartMarkdown(c)).join('\n');
  if (format === 'html') return (await import('../render/html.js')).renderColdStartHtml(results);
  return results.map((c) => renderColdStartTable(c)).join('\n');
}

async function runColdstart(refs: string[], o: ColdStartCliOptions): Promise<void> {
  if (o.output) checkOutputPath(o.output);
  const { coldStart } = await import('../coldstart/engine.js');
  const opts = await runOptions(o);
  const onProgress = progress(o.quiet);
  const results: ColdStart[] = [];
  try {
    for (const ref of refs) results.push(await coldStart(ref, { ...opts, ...(onProgress ? { onProgress } : {}) }));
  } finally {
    onProgress?.clear();
  }
  await emit(await render(results, o.format), o.output, o.format);
}
