/**
 * The GitHub Action's script, run as a runner runs it: INPUT_* and GITHUB_* variables, a real image.
 * It writes the job summary, the SARIF file and the step outputs, and exits 1 on a failed budget.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { formatOutputs, planAction } from '../../src/ci/action.js';
import { dockerAvailable } from '../helpers/docker.js';
import { tmpDir, writeDockerArchiveLegacy } from '../helpers/images.js';
import { checkSarif } from '../helpers/sarif.js';
import { file, whiteout } from '../helpers/tar.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = path.join(ROOT, 'dist/ci/action.js');

/** The step outputs a runner reads back from GITHUB_OUTPUT (`name<<DELIM` … `DELIM`). */
function outputs(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2\n/gm)) out[m[1]!] = m[3]!;
  return out;
}

/** A runner's environment for one step, in a fresh workspace. */
function runner(inputs: Record<string, string>) {
  const ws = tmpDir('imgscope-ws-');
  const temp = tmpDir('imgscope-runner-temp-');
  const files = { summary: path.join(temp, 'step_summary'), output: path.join(temp, 'output') };
  writeFileSync(files.summary, '');
  writeFileSync(files.output, '');
  const env: Record<string, string> = {
    GITHUB_ACTIONS: 'true', CI: 'true', GITHUB_WORKSPACE: ws, RUNNER_TEMP: temp,
    GITHUB_STEP_SUMMARY: files.summary, GITHUB_OUTPUT: files.output,
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
  };
  const run = () => execa('node', [SCRIPT], { cwd: ws, env, extendEnv: true, reject: false });
  return { ws, env, files, run };
}

async function wastefulImage(): Promise<string> {
  const p = path.join(tmpDir(), 'app.tar');
  await writeDockerArchiveLegacy(p, {
    layers: [
      { entries: [file('usr/bin/tool', 50_000)] },
      { entries: [file('opt/blob.bin', 2_000_000), file('root/.ssh/id_rsa', 400)] },
      { entries: [whiteout('opt/blob.bin'), whiteout('root/.ssh/id_rsa')] },
    ],
  });
  return p;
}

describe('the GitHub Action script', () => {
  it('a failed budget: exit 1, the summary with the failed rules, SARIF, and outputs report / verdict=fail', async () => {
    const tar = await wastefulImage();
    const totalBytes = 50_000 + 2_000_000 + 400;
    // the names as a JavaScript action's runner writes them (hyphens kept)
    const r = runner({ image: `docker-archive:${tar}`, budgets: `max-size=${totalBytes - 1}\n# dive's rule\nlowest-efficiency=0.5\n\nmax-waste=10MB`, 'sarif-file': 'imgscope.sarif', 'comment-file': 'comment.md' });
    const res = await r.run();
    expect(res.exitCode, res.stderr).toBe(1);
    const failLines = res.stderr.split('\n').filter((l) => l.startsWith('imgscope: FAIL'));
    expect(failLines.map((l) => /FAIL ([a-z-]+):/.exec(l)![1])).toEqual(['max-size', 'lowest-efficiency']);
    const out = outputs(r.files.output);
    expect(out.verdict).toBe('fail');
    expect(path.dirname(out.report!)).toBe(r.env.RUNNER_TEMP);
    const report = JSON.parse(readFileSync(out.report!, 'utf8')) as { totals: { imageBytes: number }; findings: Array<{ id: string }> };
    expect(report.totals.imageBytes).toBe(totalBytes);
    expect(out['sarif-file']).toBe('imgscope.sarif');
    const sarif = checkSarif(readFileSync(path.join(r.ws, 'imgscope.sarif'), 'utf8'));
    expect(sarif.runs[0]!.results.map((x) => x.ruleId)).toEqual(report.findings.map((f) => f.id));
    expect(sarif.runs[0]!.results.find((x) => x.ruleId === 'secrets-in-image')?.level).toBe('error');
    const summary = readFileSync(r.files.summary, 'utf8');
    expect(summary).toContain(`## imgscope: <code>docker-archive:${tar}</code>`);
    expect(summary).toContain('### Budgets: 2 failed');
    expect(summary).toContain('FAIL max-size');
    expect(readFileSync(path.join(r.ws, 'comment.md'), 'utf8')).toContain(`## imgscope: <code>docker-archive:${tar}</code>`);
  });

  it('within budget: exit 0, verdict=pass; summary: false leaves the job summary alone', async () => {
    const tar = await wastefulImage();
    const r = runner({ image: `docker-archive:${tar}`, budgets: 'max-size=1GB', summary: 'false', report_file: 'report.json' });
    const res = await r.run();
    expect(res.exitCode, res.stderr).toBe(0);
    expect(outputs(r.files.output)).toEqual({ report: 'report.json', verdict: 'pass' });
    expect(existsSync(path.join(r.ws, 'report.json'))).toBe(true);
    expect(readFileSync(r.files.summary, 'utf8')).toBe('');
  });

  it('a bad input is one line and exit 2, before any image is read', async () => {
    for (const [inputs, msg] of [
      [{ image: 'docker-archive:/nonexistent.tar', budgets: 'max-sise=1GB' }, /input budgets: 'max-sise=1GB' is not NAME=VALUE with a budget name/],
      [{ image: '' }, /input image: required/],
      [{ image: 'docker-archive:/nonexistent.tar', summary: 'yes' }, /input summary: 'yes' is not a boolean/],
      [{ image: 'docker-archive:/nonexistent.tar', budgets: 'max-size=lots' }, /--max-size: invalid size 'lots'/],
    ] as Array<[Record<string, string>, RegExp]>) {
      const res = await runner(inputs).run();
      expect(res.exitCode).toBe(2);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toMatch(msg);
    }
  });

  it('passes --dockerfile for the input, or ./Dockerfile when the workspace has one, and never a missing default', () => {
    const ws = tmpDir();
    expect(planAction({ INPUT_IMAGE: 'x' }, ws).args).not.toContain('--dockerfile');
    writeFileSync(path.join(ws, 'Dockerfile'), 'FROM scratch\n');
    expect(planAction({ INPUT_IMAGE: 'x' }, ws).args.join(' ')).toContain('--dockerfile Dockerfile');
    expect(planAction({ INPUT_IMAGE: 'x', INPUT_DOCKERFILE: 'build/Dockerfile.gpu' }, ws).args.join(' ')).toContain('--dockerfile build/Dockerfile.gpu');
    const plan = planAction({ INPUT_IMAGE: 'img', 'INPUT_FAIL-ON': 'high', INPUT_CI_CONFIG: '.dive-ci', INPUT_BUDGETS: 'max-owner=pip:torch=2GB' }, ws);
    expect(plan.args).toEqual(expect.arrayContaining(['--fail-on', 'high', '--ci-config', '.dive-ci', '--max-owner', 'pip:torch=2GB']));
  });

  it('outputs survive values with newlines and delimiter-like text', () => {
    const f = path.join(tmpDir(), 'out');
    writeFileSync(f, formatOutputs({ a: 'one\ntwo', b: 'EOF' }));
    expect(outputs(f)).toEqual({ a: 'one\ntwo', b: 'EOF' });
  });

  it('action.yml hands every input to the script and names its outputs', () => {
    const action = parse(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as {
      inputs: Record<string, { default?: string }>;
      outputs: Record<string, unknown>;
      runs: { using: string; steps: Array<{ id?: string; env?: Record<string, string>; run?: string }> };
    };
    const step = action.runs.steps.find((s) => s.id === 'imgscope')!;
    for (const name of Object.keys(action.inputs)) expect(step.env![`INPUT_${name.toUpperCase().replace(/-/g, '_')}`]).toBe(`\${{ inputs.${name} }}`);
    expect(step.run).toContain('dist/ci/action.js');
    expect(Object.keys(action.outputs)).toEqual(expect.arrayContaining(['report', 'verdict', 'sarif-file']));
    expect(action.inputs.summary!.default).toBe('true');
  });

  it('against an image in the daemon', async () => {
    if (!(await dockerAvailable())) return;
    const r = runner({ image: 'docker-daemon:imgscope-test/pyapp:1', budgets: 'max-size=10GB', 'sarif-file': 'out.sarif' });
    const res = await r.run();
    expect(res.exitCode, res.stderr).toBe(0);
    expect(outputs(r.files.output).verdict).toBe('pass');
    checkSarif(readFileSync(path.join(r.ws, 'out.sarif'), 'utf8'));
    expect(readFileSync(r.files.summary, 'utf8')).toContain('## imgscope: <code>docker-daemon:imgscope-test/pyapp:1</code>');
  }, 120_000);
});
