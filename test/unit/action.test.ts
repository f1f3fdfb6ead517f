/**
 * The GitHub Action's script, run as a runner runs it: INPUT_* and GITHUB_* variables, a real image.
 * It writes the job summary, the SARIF file and the step outputs, and exits 1 on a failed budget.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
    // a default ./Dockerfile that does not read as one is left out with a warning; a named one is passed as given
    writeFileSync(path.join(ws, 'Dockerfile'), 'RUN echo no FROM here\n');
    const bad = planAction({ INPUT_IMAGE: 'x' }, ws);
    expect(bad.args).not.toContain('--dockerfile');
    expect(bad.warnings).toHaveLength(1);
    expect(bad.warnings[0]).toMatch(/^\.\/Dockerfile was found but not used \(.+\)/);
    // the user passed no --dockerfile: the warning names the action's input, never a flag they did not give
    expect(bad.warnings[0]).not.toContain('--dockerfile');
    expect(bad.warnings[0]).toContain("action's dockerfile input");
    expect(planAction({ INPUT_IMAGE: 'x', INPUT_DOCKERFILE: 'Dockerfile' }, ws).args.join(' ')).toContain('--dockerfile Dockerfile');
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

  it('a default ./Dockerfile that fails to parse: a ::warning:: and the run goes on without it', async () => {
    const tar = await wastefulImage();
    const r = runner({ image: `docker-archive:${tar}`, 'sarif-file': 'imgscope.sarif' });
    writeFileSync(path.join(r.ws, 'Dockerfile'), 'RUN echo no FROM here\n');
    const res = await r.run();
    expect(res.exitCode, res.stderr).toBe(0);
    const warnings = res.stdout.split('\n').filter((l) => l.startsWith('::warning::'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('./Dockerfile was found but not used');
    expect(outputs(r.files.output).verdict).toBe('pass');
    // SARIF still written, on the image only: the Dockerfile left out is named nowhere
    const log = checkSarif(readFileSync(path.join(r.ws, 'imgscope.sarif'), 'utf8'));
    expect(log.runs[0]!.results.length).toBeGreaterThan(0);
    for (const res of log.runs[0]!.results) expect(res.locations[0].physicalLocation).toBeUndefined();
    // a directory named Dockerfile: the same
    const d = runner({ image: `docker-archive:${tar}` });
    mkdirSync(path.join(d.ws, 'Dockerfile'), { recursive: true });
    const dres = await d.run();
    expect(dres.exitCode, dres.stderr).toBe(0);
    expect(dres.stdout).toMatch(/^::warning::\.\/Dockerfile was found but not used \(.*not a regular file\)/m);
    expect(dres.stdout).not.toContain('--dockerfile');
  });

  it("action.yml keeps the job's Node: setup-node only with node-version; the build checks node >= 20 and installs dev dependencies without install scripts", async () => {
    const action = parse(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as {
      inputs: Record<string, { default?: string }>;
      runs: { steps: Array<{ name?: string; uses?: string; if?: string; run?: string; with?: Record<string, string> }> };
    };
    expect(action.inputs['node-version']!.default).toBe('');
    for (const s of action.runs.steps.filter((x) => x.uses?.startsWith('actions/setup-node'))) {
      expect(s.if).toBe("inputs.node-version != ''");
      expect(s.with!['node-version']).toBe('${{ inputs.node-version }}');
    }
    const build = action.runs.steps.find((x) => x.run?.includes('npm ci'))!;
    // run the build step with stand-ins for node and npm on PATH: what it would run, and its refusal of an old node
    const bin = tmpDir('imgscope-fakebin-');
    mkdirSync(bin, { recursive: true });
    const log = path.join(bin, 'calls');
    const fake = (name: string, body: string) => {
      writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(path.join(bin, name), 0o755);
    };
    fake('npm', `echo "npm $*" >> ${log}`);
    const actionPath = tmpDir('imgscope-action-path-');
    mkdirSync(actionPath, { recursive: true });
    const step = (major: string) => {
      fake('node', `case "$1" in -p) echo ${major};; --version) echo v${major}.0.0;; esac`);
      writeFileSync(log, '');
      return execa('bash', ['-e', '-c', build.run!], { reject: false, env: { PATH: `${bin}:/usr/bin:/bin`, GITHUB_ACTION_PATH: actionPath, NODE_ENV: 'production' }, extendEnv: false });
    };
    const old = await step('18');
    expect(old.exitCode).toBe(1);
    expect(old.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^::error::imgscope needs Node\.js 20 or later, and this runner's node is v18\.0\.0: set the action's node-version input/)]);
    expect(readFileSync(log, 'utf8')).toBe('');
    const ok = await step('20');
    expect(ok.exitCode, ok.stderr).toBe(0);
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    expect(calls[0]!.split(' ')).toEqual(expect.arrayContaining(['npm', 'ci', '--include=dev', '--ignore-scripts']));
    expect(calls[1]).toBe('npm run build');
  });

  it('every install script in the lockfile belongs to something imgscope loads without it', () => {
    // what --ignore-scripts skips: ssh2's optional native crypto (it falls back to node's), cpu-features (optional), protobufjs (a version warning)
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
    const withScripts = Object.entries(lock.packages).filter(([, v]) => v.hasInstallScript).map(([k]) => k.replace(/^.*node_modules\//, ''));
    for (const name of withScripts) expect(['ssh2', 'cpu-features', 'protobufjs'], name).toContain(name);
  });

  it("the README's workflow uploads SARIF also after a failed budget, from a fixed path, with the permissions upload-sarif needs", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const block = /```yaml\n(name: image\n[\s\S]*?)```/.exec(readme)![1]!;
    const wf = parse(block) as { permissions: Record<string, string>; jobs: Record<string, { steps: Array<{ id?: string; uses?: string; if?: string; with?: Record<string, string> }> }> };
    expect(wf.permissions).toMatchObject({ 'security-events': 'write', actions: 'read', contents: 'read' });
    const steps = Object.values(wf.jobs)[0]!.steps;
    const ours = steps.find((x) => x.id === 'imgscope')!;
    const upload = steps.find((x) => x.uses?.startsWith('github/codeql-action/upload-sarif'))!;
    expect(upload.if).toMatch(/always\(\)/);
    expect(upload.with!.sarif_file).not.toMatch(/steps\./);
    expect(upload.with!.sarif_file).toBe(ours.with!['sarif-file']);
  });
});
