/**
 * Issue 15's acceptance for --dockerfile: every sample image's layers, history steps and findings map
 * to the right line of its Dockerfile, the builder stage of the multi-stage ones included.
 *
 * The right lines are computed here, not by imgscope's parser: the instruction lines are found by
 * scanning the Dockerfile text (a line starting with a keyword that does not continue the line before
 * it), the history and its empty_layer flags come from the engine's own image config file, and the
 * steps of the image's stage are the last history entries, one per instruction (no sample has an
 * ONBUILD), the entries before them coming with the base image (its FROM line). Where a finding names
 * a path or a package but no layer, the layer is found in the engine's layer directories: the top-most
 * one holding the path, or dpkg's file list of the package.
 *
 * The builder stages exist as images only when built: each is built here with `docker build --target
 * builder` from the sample's own Dockerfile, with a stub context (the install and training scripts
 * replaced by ones that only create what the later steps read) on the small python fixture image, and
 * removed after.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis } from '../../src/report/types.js';
import { BASE_IMAGE as BASE, buildFixture, docker, dockerAvailable, ensureBase, requireDocker, ROOT } from '../helpers/docker.js';
import { expectStoreEqualsExport } from '../helpers/store.js';
import { tmpDir } from '../helpers/images.js';
import { checkReport } from '../helpers/report.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const available = await dockerAvailable();
if (requireDocker && !available) throw new Error('IMGSCOPE_REQUIRE_DOCKER=1 but no Docker daemon answers `docker info`');
const info = available ? (await execa('docker', ['info', '--format', '{{.Driver}} {{.DockerRootDir}}'])).stdout.trim().split(' ') : [];
// the engine's config files and layer directories are read directly: root on the daemon's host, overlay2
const readable = info[0] === 'overlay2' && process.getuid?.() === 0 && !/^(tcp|ssh|http)/.test(process.env.DOCKER_HOST ?? '');
const SAMPLES = ['cpu-naive', 'cpu-multistage', 'cpu-pruned', 'gpu-devel', 'gpu-runtime'];
const PYAPP = 'imgscope-test/pyapp:1';
const builderTag = (s: string): string => `imgscope-test/dockerfile-lines-${s}-builder:1`;

interface Ins {
  line: number;
  keyword: string;
  stage: number;
  stageName?: string;
}

/** Instruction start lines by scanning the text: comment and blank lines skipped, `\` continues. */
function scan(text: string): Ins[] {
  const out: Ins[] = [];
  let continuing = false;
  let stage = -1;
  let stageName: string | undefined;
  text.split('\n').forEach((l, i) => {
    if (/^\s*(#|$)/.test(l)) return;
    if (!continuing) {
      const keyword = /^\s*([A-Za-z]+)/.exec(l)![1]!.toUpperCase();
      if (keyword === 'FROM') {
        stage++;
        stageName = / AS (\S+)/i.exec(l)?.[1];
      }
      out.push({ line: i + 1, keyword, stage, ...(stageName ? { stageName } : {}) });
    }
    continuing = /\\\s*$/.test(l);
  });
  return out;
}

interface Expected {
  /** Per history entry: the line and keyword that made it. */
  steps: Array<{ line: number; keyword: string }>;
  stage: string;
}

/** What each history entry of an image built to `stage` must map to. */
function expected(text: string, history: Array<{ created_by?: string }>, stage: number): Expected {
  const all = scan(text);
  const from = all.find((i) => i.keyword === 'FROM' && i.stage === stage)!;
  const own = all.filter((i) => i.stage === stage && i.keyword !== 'FROM');
  const base = history.length - own.length;
  const steps = history.map((_h, j) => (j < base ? { line: from.line, keyword: 'FROM' } : { line: own[j - base]!.line, keyword: own[j - base]!.keyword }));
  // the pairing is sound only if each paired entry is of its instruction's kind
  history.forEach((h, j) => {
    if (j < base) return;
    const k = steps[j]!.keyword;
    const c = h.created_by ?? '';
    expect([j, k, k === 'RUN' ? /^(\|\d+ .*? )?\/bin\/sh -c (?!#\(nop\))/.test(c) : c.includes(`#(nop) `) && new RegExp(`\\b${k}\\b`).test(c)]).toEqual([j, k, true]);
  });
  return { steps, stage: from.stageName ?? String(stage) };
}

/** The image config as the engine stored it, and its layer directories (stacking order). */
async function engineImage(ref: string): Promise<{ history: Array<{ created_by?: string; empty_layer?: boolean }>; diffs: string[] }> {
  const id = (await docker('image', 'inspect', '-f', '{{.Id}}', ref)).trim().replace(/^sha256:/, '');
  const config = JSON.parse(readFileSync(path.join(info[1]!, 'image/overlay2/imagedb/content/sha256', id), 'utf8')) as { history: Array<{ created_by?: string; empty_layer?: boolean }> };
  const data = JSON.parse(await docker('image', 'inspect', '-f', '{{json .GraphDriver.Data}}', ref)) as { LowerDir?: string; UpperDir: string };
  const diffs = [...(data.LowerDir ? data.LowerDir.split(':').reverse() : []), data.UpperDir];
  return { history: config.history, diffs };
}

/** The top-most layer whose directory holds `p`. */
function layerHolding(diffs: string[], p: string): number | undefined {
  for (let i = diffs.length - 1; i >= 0; i--) {
    try {
      lstatSync(path.join(diffs[i]!, p));
      return i;
    } catch {
      // not in this layer
    }
  }
  return undefined;
}

async function analyze(ref: string, dockerfile: string): Promise<Analysis> {
  const r = await execa('node', [CLI, 'analyze', '-q', '-f', 'json', '--dockerfile', dockerfile, `docker-daemon:${ref}`]);
  return checkReport(JSON.parse(r.stdout));
}

/** Checks one analysed image against its Dockerfile, computed independently. */
async function check(ref: string, dockerfile: string, stage: number): Promise<Analysis> {
  const text = readFileSync(path.join(ROOT, dockerfile), 'utf8');
  const a = await analyze(ref, dockerfile);
  const { history, diffs } = await engineImage(ref);
  const want = expected(text, history, stage);
  expect(a.history.map((h) => h.createdBy)).toEqual(history.map((h) => h.created_by ?? ''));
  expect(a.dockerfile).toMatchObject({ file: dockerfile, stage: want.stage, unmatched: [] });
  expect(a.history.map((h) => [h.dockerfile?.line, h.dockerfile?.instruction])).toEqual(want.steps.map((s) => [s.line, s.keyword]));
  // layers: the non-empty history entries, in order
  const layerSteps = history.flatMap((h, j) => (h.empty_layer ? [] : [want.steps[j]!]));
  expect(a.layers.map((l) => l.dockerfile?.line)).toEqual(layerSteps.map((s) => s.line));
  expect(diffs).toHaveLength(a.layers.length);
  for (const f of a.findings) {
    const line = findingLine(f, want, layerSteps, diffs);
    expect([f.id, f.location?.line]).toEqual([f.id, line]);
    if (f.location) expect(f.location.file).toBe(dockerfile);
  }
  return a;
}

/** The line a finding is about, from its evidence and the independent step lines. */
function findingLine(f: Analysis['findings'][number], want: Expected, layerSteps: Expected['steps'], diffs: string[]): number | undefined {
  const e = f.evidence;
  if (e.steps?.length) return want.steps[e.steps[0]!]!.line;
  const layer = e.layers?.[0] ?? e.items?.find((i) => i.layer !== undefined)?.layer;
  if (layer !== undefined) return layerSteps[layer]!.line;
  const p = e.items?.[0]?.path;
  if (p !== undefined) return layerSteps[layerHolding(diffs, p)!]!.line;
  const pkg = e.packages?.[0];
  if (pkg?.startsWith('apt:')) {
    const name = pkg.slice(4);
    const l = layerHolding(diffs, `var/lib/dpkg/info/${name}.list`) ?? layerHolding(diffs, `var/lib/dpkg/info/${name}:amd64.list`);
    return layerSteps[l!]!.line;
  }
  return undefined; // about the image's config (no USER, no HEALTHCHECK, the CUDA driver it needs)
}

/** A build context for the builder stage: the sample's Dockerfile, stub scripts, the files it COPYs. */
function stubContext(sample: string): string {
  const ctx = tmpDir('imgscope-dflines-');
  writeFileSync(path.join(ctx, 'Dockerfile'), readFileSync(path.join(ROOT, 'sample-images', sample, 'Dockerfile')));
  writeFileSync(path.join(ctx, 'requirements.txt'), 'stub\n');
  writeFileSync(path.join(ctx, 'install-deps.sh'), 'mkdir -p "${PREFIX:-/install}/lib"\n');
  writeFileSync(path.join(ctx, 'prune.sh'), 'true\n');
  writeFileSync(path.join(ctx, 'train.py'), "import os\nos.makedirs('/out', exist_ok=True)\nopen('/out/model.joblib', 'w').write('stub')\n");
  return ctx;
}

const MULTI = SAMPLES.filter((s) => existsSync(path.join(ROOT, 'sample-images', s, 'Dockerfile')) && / AS builder/i.test(readFileSync(path.join(ROOT, 'sample-images', s, 'Dockerfile'), 'utf8')));

describe.skipIf(!available || !readable)('findings on Dockerfile lines (sample images)', () => {
  const built: string[] = [];

  beforeAll(async () => {
    for (const s of SAMPLES) {
      const have = await execa('docker', ['image', 'inspect', `imgscope-sample/${s}:latest`], { reject: false });
      if (have.exitCode !== 0) throw new Error(`imgscope-sample/${s}:latest is not built: npm run samples`);
    }
    await ensureBase();
    await buildFixture(PYAPP, path.join(ROOT, 'test/fixtures/pyapp'));
    for (const s of MULTI) {
      await execa('docker', ['build', '-q', '--force-rm', '--target', 'builder', '--build-arg', `BASE=${PYAPP}`, '--build-arg', 'INSTALL=apt', '-t', builderTag(s), stubContext(s)], { env: { DOCKER_BUILDKIT: '0' } });
      built.push(builderTag(s));
    }
  }, 300_000);

  afterAll(async () => {
    if (built.length) await execa('docker', ['rmi', ...built], { reject: false });
  });

  it.each(SAMPLES)('%s: every layer, step and finding on its line of the final stage', async (s) => {
    const text = readFileSync(path.join(ROOT, 'sample-images', s, 'Dockerfile'), 'utf8');
    const finalStage = scan(text).filter((i) => i.keyword === 'FROM').length - 1;
    const a = await check(`imgscope-sample/${s}:latest`, `sample-images/${s}/Dockerfile`, finalStage);
    // every finding about layers, steps, paths or packages is located
    for (const f of a.findings) {
      const e = f.evidence;
      if (e.steps?.length || e.layers?.length || e.items?.length || e.packages?.length) expect([f.id, f.location]).toEqual([f.id, expect.anything()]);
    }
  }, 120_000);

  it('the builder-stage images built here: the store read gives the export\'s report (issue 14)', async () => {
    for (const ref of built) await expectStoreEqualsExport(ref);
  }, 300_000);

  it('the multi-stage samples are the ones expected (their builder stages are checked below)', () => {
    expect(MULTI).toEqual(['cpu-multistage', 'cpu-pruned', 'gpu-runtime']);
  });

  it.each(MULTI)('%s builder stage (docker build --target builder): its steps on the builder lines', async (s) => {
    const text = readFileSync(path.join(ROOT, 'sample-images', s, 'Dockerfile'), 'utf8');
    const builder = scan(text).find((i) => i.keyword === 'FROM' && i.stageName === 'builder')!.stage;
    const a = await check(builderTag(s), `sample-images/${s}/Dockerfile`, builder);
    expect(a.dockerfile!.stage).toBe('builder');
    expect(a.dockerfile!.baseImage).toBeGreaterThan(1); // the python fixture's own steps
  }, 120_000);

  it('the python fixture: a file written then deleted is located at the RUN that wrote it', async () => {
    const a = await check(PYAPP, 'test/fixtures/pyapp/Dockerfile', 0);
    const text = readFileSync(path.join(ROOT, 'test/fixtures/pyapp/Dockerfile'), 'utf8').split('\n');
    const waste = a.findings.find((f) => f.id === 'layer-waste')!;
    expect(text[waste.location!.line - 1]).toMatch(/^RUN head -c .* > \/opt\/scratch\.dat/);
  }, 120_000);
});

/**
 * Review 15's wrong lines, each on a real legacy-builder image: built from one Dockerfile, analysed
 * with an edited one. What is right is computed from the texts and the engine's history: the line of
 * each instruction from the Dockerfile text (scan), the base image's length from `docker history` of
 * the base, the step of each instruction by its text in the engine's history.
 */
const SECRET = 'RUN mkdir -p /root/.aws && echo "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" > /root/.aws/credentials';
const dfTag = (n: string): string => `imgscope-test/df-${n}:1`;

interface Case {
  name: string;
  dockerfile: string;
  files?: Record<string, string>;
  target?: string;
  /** Where the Dockerfile lies in the context (default `Dockerfile`): built with `-f`. */
  at?: string;
}

const CASES: Case[] = [
  { name: 'removed', dockerfile: `FROM ${BASE}\n${SECRET}\nRUN echo b > /b\nRUN echo c > /c\n` },
  {
    name: 'copy',
    dockerfile: `FROM ${BASE}\nWORKDIR /app\nCOPY requirements.txt /app/\nRUN echo built > /app/built.txt\nCOPY . /app/\n`,
    files: { 'requirements.txt': 'flask==3\n', 'main.py': 'print(1)\n', 'config.yml': 'a: 1\n', '.env': 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n' },
  },
  { name: 'repeat', dockerfile: `FROM ${BASE}\n${['a', 'b', 'a', 'b', 'c'].map((x) => `RUN echo ${x} >> /log`).join('\n')}\n` },
  { name: 'target', dockerfile: `FROM ${BASE} AS builder\n${SECRET}\nRUN echo a > /a\n\nFROM ${BASE}\n${SECRET}\nRUN echo a > /a\n`, target: 'builder' },
  // review 15b: two directory COPYs to one place, the same file name (other sizes) under both
  { name: 'swap', dockerfile: `FROM ${BASE}\nRUN echo one > /one.txt\nCOPY a/ /app/\nCOPY b/ /app/\nRUN echo two > /two.txt\n`, files: { 'a/x.py': 'aaa\n', 'b/x.py': 'bbbbbbbb\n' } },
  // review 15b: two COPY --from of directories after an ENV, then the whole context
  {
    name: 'ms',
    dockerfile: `FROM ${BASE} AS builder\nRUN mkdir -p /out/a /out/b && echo aa > /out/a/f && echo bbbb > /out/b/f\nFROM ${BASE}\nENV APP_V=2\nCOPY --from=builder /out/a/ /app/\nCOPY --from=builder /out/b/ /app/\nCOPY . /src/\nRUN echo done\n`,
    files: { 'src/m.py': 'm\n' },
  },
  // review 15c W1: built with `docker build -f docker/Dockerfile .`; docker/ holds what the second COPY adds
  {
    name: 'ctxroot',
    at: 'docker/Dockerfile',
    dockerfile: `FROM ${BASE}\nWORKDIR /app\nCOPY . /app/\nCOPY docker/ /app/\nRUN rm -f /app/Dockerfile\nCMD ["python3", "src/main.py"]\n`,
    files: { 'settings.py': 'DEBUG = False\n', 'src/main.py': 'print(1)\n', 'docker/settings.py': 'DEBUG = True\n', 'docker/entrypoint.sh': '#!/bin/sh\nexec "$@"\n', 'docker/.env': 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n' },
  },
  // review 15c W2: a builder stage holding the final stage's first RUNs
  {
    name: 'twin',
    dockerfile: `FROM ${BASE} AS builder\nRUN echo certs > /etc/bundle\nRUN echo 'deb x' > /etc/extra.list\nRUN mkdir /out && echo bin > /out/app\n\nFROM ${BASE}\nRUN echo certs > /etc/bundle\nRUN echo 'deb x' > /etc/extra.list\nCOPY --from=builder /out /opt/app\n`,
  },
];

describe.skipIf(!available || !readable)('never a wrong line: Dockerfiles edited after the build (review 15)', () => {
  const built: string[] = [];
  const contexts = new Map<string, string>();
  let baseLength = 0;

  beforeAll(async () => {
    await ensureBase();
    baseLength = (await docker('history', '-q', BASE)).trim().split('\n').length;
    for (const c of CASES) {
      const ctx = tmpDir('imgscope-dfx-');
      contexts.set(c.name, ctx);
      mkdirSync(path.dirname(path.join(ctx, c.at ?? 'Dockerfile')), { recursive: true });
      writeFileSync(path.join(ctx, c.at ?? 'Dockerfile'), c.dockerfile);
      for (const [f, body] of Object.entries(c.files ?? {})) {
        mkdirSync(path.dirname(path.join(ctx, f)), { recursive: true });
        writeFileSync(path.join(ctx, f), body);
      }
      // a builder stage the final image copies from is built and tagged first: the final build reuses
      // it from the cache, so removing the tags leaves no untagged stage image behind
      if (!c.target && / AS builder\n/.test(c.dockerfile)) {
        await execa('docker', ['build', '-q', '--force-rm', '--target', 'builder', '-t', dfTag(`${c.name}-builder`), ctx], { env: { DOCKER_BUILDKIT: '0' } });
        built.push(dfTag(`${c.name}-builder`));
      }
      await execa('docker', ['build', '-q', '--force-rm', ...(c.target ? ['--target', c.target] : []), ...(c.at ? ['-f', path.join(ctx, c.at)] : []), '-t', dfTag(c.name), ctx], { env: { DOCKER_BUILDKIT: '0' } });
      built.push(dfTag(c.name));
    }
  }, 300_000);

  afterAll(async () => {
    if (built.length) await execa('docker', ['rmi', ...built.reverse()], { reject: false });
  });

  it('the images built here: the store read gives the export\'s report (issue 14)', async () => {
    for (const ref of built) await expectStoreEqualsExport(ref);
  }, 120_000);

  /** Analyses `name`'s image with `text` as its Dockerfile (written to a temporary file, or into its build context). */
  async function withDockerfile(name: string, text: string, inContext = false): Promise<{ a: Analysis; history: string[]; lineOf: (s: string) => number }> {
    const f = path.join(inContext ? contexts.get(name)! : tmpDir('imgscope-dfx-edit-'), inContext ? 'Dockerfile.edited' : 'Dockerfile');
    writeFileSync(f, text);
    const a = await analyze(dfTag(name), f);
    const { history } = await engineImage(dfTag(name));
    const lines = text.split('\n');
    const lineOf = (s: string): number => {
      const hits = lines.flatMap((l, i) => (l === s ? [i + 1] : []));
      expect(hits).toHaveLength(1);
      return hits[0]!;
    };
    return { a, history: history.map((h) => h.created_by ?? ''), lineOf };
  }

  const secretFinding = (a: Analysis) => a.findings.find((f) => f.id === 'secrets-in-image');

  it('1: an instruction removed from the Dockerfile: its step is unmatched, never the FROM line', async () => {
    const edited = CASES[0]!.dockerfile.replace(`${SECRET}\n`, '');
    const { a, history, lineOf } = await withDockerfile('removed', edited);
    const secretStep = history.findIndex((c) => c.includes('aws_secret_access_key'));
    expect(secretStep).toBe(baseLength);
    expect(a.history[secretStep]!.dockerfile).toBeUndefined();
    expect(a.history.slice(0, baseLength).map((h) => h.dockerfile?.line)).toEqual(new Array(baseLength).fill(lineOf(`FROM ${BASE}`)));
    expect(a.history.slice(secretStep + 1).map((h) => h.dockerfile?.line)).toEqual([lineOf('RUN echo b > /b'), lineOf('RUN echo c > /c')]);
    expect(secretFinding(a)).toBeDefined();
    expect(secretFinding(a)!.location).toBeUndefined();
    // the Dockerfile it was built from puts the secret on its RUN line
    const orig = await withDockerfile('removed', CASES[0]!.dockerfile);
    expect(secretFinding(orig.a)!.location?.line).toBe(orig.lineOf(SECRET));
  }, 120_000);

  it('2: a classic COPY record (hashed sources) pairs only with the COPY whose file the layer holds', async () => {
    const text = CASES[1]!.dockerfile;
    const copyDot = 'COPY . /app/';
    // a: a COPY appended after the build does not take the directory COPY's step (the .env's)
    const appended = await withDockerfile('copy', `${text}COPY config.yml /app/\n`);
    expect(secretFinding(appended.a)!.location?.line).not.toBe(appended.lineOf('COPY config.yml /app/'));
    expect([undefined, appended.lineOf(copyDot)]).toContain(secretFinding(appended.a)!.location?.line);
    // b: another single file to the same directory: that step is unmatched
    const swapped = await withDockerfile('copy', text.replace('COPY requirements.txt /app/', 'COPY main.py /app/'));
    const fileStep = swapped.history.findIndex((c) => / COPY file:[0-9a-f]+ in \/app\//.test(c));
    expect(swapped.a.history[fileStep]!.dockerfile).toBeUndefined();
    expect(swapped.a.history.filter((h) => h.dockerfile?.instruction === 'COPY').map((h) => h.dockerfile!.line)).toEqual([swapped.lineOf(copyDot)]);
    // c: another project's Dockerfile with the same destinations: nothing matches
    const other = await withDockerfile('copy', 'FROM node:20\nWORKDIR /app\nCOPY package.json /app/\nRUN npm ci\nCOPY . /app/\n');
    expect(other.a.dockerfile!.matched).toBe(0);
    expect(other.a.history.every((h) => h.dockerfile === undefined)).toBe(true);
    // and the right Dockerfile: the secret on the directory COPY's line
    const right = await withDockerfile('copy', text);
    expect(secretFinding(right.a)!.location?.line).toBe(right.lineOf(copyDot));
    // the RUN before it edited: away from its build context the directory COPY is unmatched; beside
    // it (the Dockerfile in the context directory) the context's files confirm it
    const edited = text.replace('echo built', 'echo rebuilt');
    const away = await withDockerfile('copy', edited);
    expect(secretFinding(away.a)!.location).toBeUndefined();
    const beside = await withDockerfile('copy', edited, true);
    expect(secretFinding(beside.a)!.location?.line).toBe(beside.lineOf(copyDot));
  }, 120_000);

  it('3: repeated instruction text after an insertion: each step on the line that made it', async () => {
    const edited = `${CASES[2]!.dockerfile}RUN echo x >> /log\nRUN echo y >> /log\n`;
    const { a, lineOf } = await withDockerfile('repeat', edited);
    const lines = edited.split('\n');
    const built = lines.flatMap((l, i) => (/^RUN echo [abc] >>/.test(l) ? [i + 1] : []));
    expect(a.history.slice(baseLength).map((h) => h.dockerfile?.line)).toEqual(built);
    expect(a.history.slice(0, baseLength).every((h) => h.dockerfile?.line === lineOf(`FROM ${BASE}`))).toBe(true);
  }, 120_000);

  it('4: --target builder where the final stage holds the same text: ambiguous, no line', async () => {
    const { a } = await withDockerfile('target', CASES[3]!.dockerfile);
    expect(a.warnings.join('\n')).toContain('ambiguous: stages builder and 1');
    expect(a.dockerfile!.stage).toBeUndefined();
    expect(a.history.every((h) => h.dockerfile === undefined)).toBe(true);
    expect(secretFinding(a)!.location).toBeUndefined();
  }, 120_000);

  /** The line of each of the image's own steps (after the base image's), or undefined where unmatched. */
  const own = (a: Analysis): Array<number | undefined> => a.history.slice(baseLength).map((h) => h.dockerfile?.line);

  it('15b 1: two directory COPYs swapped after the build: unmatched, never each on the other line', async () => {
    const text = CASES.find((c) => c.name === 'swap')!.dockerfile;
    const swapped = text.replace('COPY a/ /app/\nCOPY b/ /app/', 'COPY b/ /app/\nCOPY a/ /app/');
    // beside the context (a/x.py and b/x.py differ in size) and away from it (nothing tells them apart)
    for (const inContext of [true, false]) {
      const { a, lineOf } = await withDockerfile('swap', swapped, inContext);
      expect([inContext, own(a)]).toEqual([inContext, [lineOf('RUN echo one > /one.txt'), undefined, undefined, lineOf('RUN echo two > /two.txt')]]);
    }
    // the Dockerfile it was built from, beside its context: each COPY on its own line (the build order)
    const right = await withDockerfile('swap', text, true);
    expect(own(right.a)).toEqual(['RUN echo one > /one.txt', 'COPY a/ /app/', 'COPY b/ /app/', 'RUN echo two > /two.txt'].map(right.lineOf));
  }, 120_000);

  it('15b 2 and 3: COPY . edited to COPY src/, and two COPY --from swapped beside an exact ENV: unmatched', async () => {
    const text = CASES.find((c) => c.name === 'ms')!.dockerfile;
    const edited = text.replace('COPY --from=builder /out/a/ /app/\nCOPY --from=builder /out/b/ /app/', 'COPY --from=builder /out/b/ /app/\nCOPY --from=builder /out/a/ /app/').replace('COPY . /src/', 'COPY src/ /src/');
    const { a, lineOf } = await withDockerfile('ms', edited, true);
    expect(own(a)).toEqual([lineOf('ENV APP_V=2'), undefined, undefined, undefined, lineOf('RUN echo done')]);
    // the Dockerfile it was built from: COPY . confirmed by its context; the two COPY --from stay alike, so unmatched
    const right = await withDockerfile('ms', text, true);
    expect(own(right.a)).toEqual([right.lineOf('ENV APP_V=2'), undefined, undefined, right.lineOf('COPY . /src/'), right.lineOf('RUN echo done')]);
  }, 120_000);
  it('15c W1: built with -f docker/Dockerfile from the folder above: docker/ is not taken for the context, neither COPY is given', async () => {
    const c = CASES.find((x) => x.name === 'ctxroot')!;
    const f = path.join(contexts.get('ctxroot')!, c.at!);
    const a = await analyze(dfTag('ctxroot'), f);
    const lines = c.dockerfile.split('\n');
    const lineOf = (t: string): number => lines.indexOf(t) + 1;
    // the engine's history: WORKDIR, the two directory COPYs, RUN, CMD after the base image's entries
    const { history } = await engineImage(dfTag('ctxroot'));
    expect(history.slice(baseLength).map((h) => / COPY dir:/.test(h.created_by ?? ''))).toEqual([false, true, true, false, false]);
    expect(own(a)).toEqual([lineOf('WORKDIR /app'), undefined, undefined, lineOf('RUN rm -f /app/Dockerfile'), lineOf('CMD ["python3", "src/main.py"]')]);
    // docker/.env, copied by COPY docker/ (to /app/.env): never on the COPY . line
    const secret = secretFinding(a);
    expect(secret).toBeDefined();
    expect(secret!.location?.line).not.toBe(lineOf('COPY . /app/'));
  }, 120_000);

  it('15c W2: one RUN of the final stage edited: its steps are not handed to the builder holding the same RUNs', async () => {
    const text = CASES.find((x) => x.name === 'twin')!.dockerfile;
    const edited = text.replace("RUN echo 'deb x' > /etc/extra.list\nCOPY", "RUN echo 'deb y' > /etc/extra.list\nCOPY");
    const lines = edited.split('\n');
    const finalFrom = lines.lastIndexOf(`FROM ${BASE}`) + 1;
    const f = path.join(tmpDir('imgscope-dfx-edit-'), 'Dockerfile');
    writeFileSync(f, edited);
    const a = await analyze(dfTag('twin'), f);
    expect(a.dockerfile!.stage).toBe('1');
    expect(a.history.every((h) => h.dockerfile === undefined || h.dockerfile.line >= finalFrom)).toBe(true);
    expect(own(a)[0]).toBe(finalFrom + 1); // RUN echo certs, unedited, in the final stage
    expect(own(a).slice(1)).toEqual([undefined, undefined]);
    // the Dockerfile it was built from: every step on the final stage's lines
    writeFileSync(f, text);
    const right = await analyze(dfTag('twin'), f);
    expect(own(right)).toEqual([finalFrom + 1, finalFrom + 2, finalFrom + 3]);
  }, 120_000);
});
