/**
 * The GitHub Action's script (action.yml runs `node dist/ci/action.js`). It reads the inputs a runner
 * hands over as INPUT_* variables (the name upper-cased; `fail-on` as INPUT_FAIL-ON, or INPUT_FAIL_ON as
 * action.yml sets it), runs one `imgscope analyze` (the CLI, so a budget fails the step exactly as it
 * fails a shell step, and writes the job summary, fitted to GitHub's 1 MiB), then writes the SARIF file
 * and the PR-comment Markdown from the saved JSON report, and the step outputs (report, verdict,
 * sarif-file) to $GITHUB_OUTPUT in the runner's multi-line form. Exit: the CLI's (0 pass, 1 a budget
 * or --fail-on failed, 2 bad input, 3 environment).
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { EXIT_INPUT, EXIT_RULE, ImgscopeError, inputError } from '../errors.js';
import { BUDGETS } from '../gates.js';
import { loadReportFile } from '../reports.js';
import { readDockerfile } from '../dockerfile/read.js';
import { renderSarif, sourceRoot } from '../render/sarif.js';
import { analysesMarkdown, COMMENT_LIMIT } from '../render/trim.js';
import { escapeText } from '../util/escape.js';

type Env = Record<string, string | undefined>;

/** An input as the runner sets it: INPUT_ + the name upper-cased, spaces as '_' (hyphens kept), or with '_' for '-'. */
export function getInput(env: Env, name: string): string {
  const key = `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
  return (env[key] ?? env[key.replace(/-/g, '_')] ?? '').trim();
}

/** @actions/core's getBooleanInput: YAML 1.2 core schema booleans. */
function boolInput(env: Env, name: string, dflt: boolean): boolean {
  const v = getInput(env, name);
  if (v === '') return dflt;
  if (['true', 'True', 'TRUE'].includes(v)) return true;
  if (['false', 'False', 'FALSE'].includes(v)) return false;
  throw inputError(`input ${name}: '${v}' is not a boolean (true or false)`);
}

export interface ActionPlan {
  /** The analyze command line, without the program. */
  args: string[];
  report: string;
  sarif?: string;
  comment?: string;
  summary: boolean;
  top: string;
  /** Why ./Dockerfile, found by default, was left out (shown as a ::warning:: annotation). */
  warnings: string[];
}

/** `budgets`: one `name=value` a line (blank lines and # comments skipped), each a budget's flag. */
function budgetArgs(text: string): string[] {
  const names = new Set<string>([...BUDGETS.map((b) => b.name), 'baseline']);
  return text.split('\n').flatMap((raw) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return [];
    const i = line.indexOf('=');
    const name = (i > 0 ? line.slice(0, i) : '').trim().replace(/^--/, '');
    if (!names.has(name)) throw inputError(`input budgets: '${line}' is not NAME=VALUE with a budget name (${[...names].join(', ')})`);
    return [`--${name}`, line.slice(i + 1).trim()];
  });
}

/** The inputs read and checked, and the analyze command line they make; `cwd` is where relative paths and the default Dockerfile are found. */
export function planAction(env: Env, cwd: string): ActionPlan {
  const image = getInput(env, 'image');
  if (!image) throw inputError('input image: required (an image reference, e.g. docker-daemon:app:latest or docker-archive:image.tar)');
  const report = getInput(env, 'report-file') || path.join(env.RUNNER_TEMP || os.tmpdir(), `imgscope-report-${randomUUID()}.json`);
  const args = ['analyze', image, '--format', 'json', '--output', report, '--quiet', ...budgetArgs(getInput(env, 'budgets'))];
  const opt = (input: string, flag: string): void => {
    const v = getInput(env, input);
    if (v) args.push(flag, v);
  };
  opt('fail-on', '--fail-on');
  opt('config', '--config');
  opt('ci-config', '--ci-config');
  opt('platform', '--platform');
  opt('top', '--top');
  // --dockerfile: the input, else ./Dockerfile when the workspace has one (never a file that is not there)
  const { dockerfile, warnings } = pickDockerfile(env, cwd);
  if (dockerfile) args.push('--dockerfile', dockerfile);
  const sarif = getInput(env, 'sarif-file');
  const comment = getInput(env, 'comment-file');
  const top = getInput(env, 'top') || '15';
  return { args, report, summary: boolInput(env, 'summary', true), top, warnings, ...(sarif ? { sarif } : {}), ...(comment ? { comment } : {}) };
}

/**
 * The Dockerfile to pass: the input as given (a bad one fails the step, as the user named it), else
 * ./Dockerfile when the workspace has one and it reads as a Dockerfile; one that does not is left
 * out with a warning, since the user never asked for it.
 */
function pickDockerfile(env: Env, cwd: string): { dockerfile: string; warnings: string[] } {
  const given = getInput(env, 'dockerfile');
  if (given) return { dockerfile: given, warnings: [] };
  if (!existsSync(path.join(cwd, 'Dockerfile'))) return { dockerfile: '', warnings: [] };
  const label = './Dockerfile';
  try {
    readDockerfile(path.join(cwd, 'Dockerfile'), label);
    return { dockerfile: 'Dockerfile', warnings: [] };
  } catch (err) {
    // the user passed no --dockerfile (nor the input): the reason names the file only
    const msg = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    const why = msg.startsWith(`${label}: `) ? msg.slice(label.length + 2) : msg;
    return {
      dockerfile: '',
      warnings: [`./Dockerfile was found but not used (${why}); findings are not put on Dockerfile lines. It is read by default when the action's dockerfile input is empty: set that input to the Dockerfile the image was built from.`],
    };
  }
}

/** A workflow command's message, escaped as the runner reads it (% \r \n), on one line. */
export function workflowCommand(command: 'warning' | 'error', message: string): string {
  return `::${command}::${escapeText(message).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}\n`;
}

/** Step outputs in the runner's file format: `name<<DELIMITER`, the value, the delimiter (safe for any value). */
export function formatOutputs(outputs: Record<string, string>): string {
  return Object.entries(outputs)
    .map(([k, v]) => {
      const d = `ghadelimiter_${randomUUID()}`;
      return `${k}<<${d}\n${v}\n${d}\n`;
    })
    .join('');
}

/** Runs the action with this environment; returns the exit code. */
export async function runAction(env: Env = process.env, cwd = process.cwd()): Promise<number> {
  const plan = planAction(env, cwd);
  for (const w of plan.warnings) process.stdout.write(workflowCommand('warning', w));
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  const childEnv: Env = { ...env };
  if (!plan.summary) delete childEnv.GITHUB_STEP_SUMMARY;
  const r = await execa(process.execPath, [cli, ...plan.args], { cwd, env: childEnv, extendEnv: false, reject: false, stdout: 'inherit', stderr: 'inherit' });
  const code = typeof r.exitCode === 'number' ? r.exitCode : EXIT_INPUT;
  if (code !== 0 && code !== EXIT_RULE) return code;
  const { analyses } = loadReportFile(plan.report);
  const outputs: Record<string, string> = { report: plan.report, verdict: code === 0 ? 'pass' : 'fail' };
  if (plan.sarif) {
    writeFileSync(path.resolve(cwd, plan.sarif), renderSarif(analyses, { root: sourceRoot(env, cwd), cwd }));
    outputs['sarif-file'] = plan.sarif;
  }
  if (plan.comment) {
    const top = Math.max(1, Number.parseInt(plan.top, 10) || 15);
    writeFileSync(path.resolve(cwd, plan.comment), analysesMarkdown(analyses, top, COMMENT_LIMIT, '64 KiB (a PR comment)'));
    outputs['comment-file'] = plan.comment;
  }
  if (env.GITHUB_OUTPUT) appendFileSync(env.GITHUB_OUTPUT, formatOutputs(outputs));
  return code;
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${(await import('node:fs')).realpathSync(process.argv[1])}`).href;
if (isMain) {
  runAction().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      const msg = err instanceof Error ? err.message.split('\n')[0]! : String(err);
      process.stderr.write(`imgscope action: ${escapeText(msg)}\n`);
      process.exitCode = err instanceof ImgscopeError ? err.exitCode : EXIT_INPUT;
    },
  );
}
