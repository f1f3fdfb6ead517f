/**
 * `analyze --format sarif`: every log validates against the SARIF 2.1.0 schema; a private key added in
 * one layer and deleted in the next is an error-level result at the Dockerfile line of its layer
 * (when the report carries it); fingerprints survive a rebuild that changes sizes and layer numbers.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { fileUri, imageRepository, renderSarif, sourceRoot } from '../../src/render/sarif.js';
import type { Analysis, Finding } from '../../src/report/types.js';
import { CLI, run } from '../helpers/cli.js';
import { dockerAvailable } from '../helpers/docker.js';
import { type FixtureImage, tmpDir, writeDockerArchiveLegacy } from '../helpers/images.js';
import { checkSarif } from '../helpers/sarif.js';
import { file, text, whiteout } from '../helpers/tar.js';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n';

/** base → a layer that adds a private key and a big file → a layer that deletes both. `pad` changes sizes and adds a leading layer. */
function leaky(pad = 0): FixtureImage {
  const layers: FixtureImage['layers'] = [
    { entries: [text('etc/app.conf', 'x=1\n')], createdBy: '/bin/sh -c #(nop) ADD file:base in /' },
    { entries: [text('root/.ssh/id_rsa', KEY + ' '.repeat(pad)), file('app/big.bin', 2_000_000 + pad)], createdBy: '/bin/sh -c cp -r ctx/. /' },
    { entries: [whiteout('root/.ssh/id_rsa'), whiteout('app/big.bin')], createdBy: '/bin/sh -c rm -rf /root/.ssh/id_rsa /app/big.bin' },
  ];
  if (pad) layers.unshift({ entries: [file('opt/extra.bin', 1000 + pad)], createdBy: '/bin/sh -c #(nop) ADD file:extra in /' });
  return { layers };
}

async function archive(img: FixtureImage, tags?: string[]): Promise<string> {
  const p = path.join(tmpDir(), 'img.tar');
  await writeDockerArchiveLegacy(p, img, tags);
  return p;
}

/** URIs relative to a root of the test's own, whatever the environment holds (GITHUB_WORKSPACE, the checkout). */
const BASE = { root: '/work-root', cwd: '/work-root' };

async function analyzeJson(tar: string): Promise<Analysis> {
  const r = await run(['analyze', `docker-archive:${tar}`, '-f', 'json', '-q']);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Analysis;
}

describe('SARIF', () => {
  it('one valid result per finding: ruleId, rule metadata, level, security-severity for the secret, savings in properties', async () => {
    const tar = await archive(leaky());
    const ws = tmpDir();
    mkdirSync(ws, { recursive: true });
    const r = await execa('node', [CLI, 'analyze', `docker-archive:${tar}`, '--format', 'sarif', '-q'], { cwd: ws, reject: false, env: { GITHUB_WORKSPACE: ws } });
    expect(r.exitCode, r.stderr).toBe(0);
    const log = checkSarif(r.stdout);
    const a = await analyzeJson(tar);
    const [runObj] = log.runs;
    expect(log.version).toBe('2.1.0');
    expect(runObj!.tool.driver.name).toBe('imgscope');
    expect(runObj!.tool.driver.version).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
    expect(runObj!.results.map((x) => x.ruleId)).toEqual(a.findings.map((f) => f.id));
    const secret = runObj!.results.find((x) => x.ruleId === 'secrets-in-image')!;
    expect(secret.level).toBe('error');
    const rule = runObj!.tool.driver.rules[secret.ruleIndex]!;
    expect(rule.id).toBe('secrets-in-image');
    expect(rule.properties['security-severity']).toMatch(/^\d+(\.\d+)?$/);
    expect(Number(rule.properties['security-severity'])).toBeGreaterThan(7);
    for (const f of a.findings) {
      const res = runObj!.results.find((x) => x.ruleId === f.id)!;
      const rl = runObj!.tool.driver.rules[res.ruleIndex]!;
      expect(rl.shortDescription.text.length).toBeGreaterThan(0);
      expect(rl.fullDescription.text.length).toBeGreaterThan(0);
      expect(rl.help.text).toContain(f.fix);
      expect(rl.help.markdown).toContain(f.fix);
      expect(res.level).toBe({ high: 'error', medium: 'warning', low: 'note', info: 'note' }[f.severity]);
      expect(res.properties.savingBytes).toBe(f.savingBytes);
      expect(res.message.text).toContain(a.image.reference);
      // no Dockerfile given: no file named (not even a default `Dockerfile`); the image is the only location
      expect(res.locations[0].physicalLocation).toBeUndefined();
      expect(res.locations[0].logicalLocations[0].name).toBe(a.image.reference);
    }
    // the big file deleted in the next layer: waste that the layer-waste result saves, in bytes
    const waste = runObj!.results.find((x) => x.ruleId === 'layer-waste')!;
    expect(waste.properties.savingBytes).toBe(2_000_000 + Buffer.byteLength(KEY)); // both files of layer 2 are deleted in layer 3
  });

  it('a secret deleted in a later layer is an error at the Dockerfile line that added it', async () => {
    const a = await analyzeJson(await archive(leaky()));
    // the report as --dockerfile writes it (hand-made here: the secret's layer is layer 1, made by lines 3-4)
    const df = (line: number, endLine: number, instruction: string) => ({ file: 'Dockerfile', line, endLine, stage: '0', instruction });
    const layers = a.layers.map((l, i) => ({ ...l, dockerfile: [df(1, 1, 'FROM base'), df(3, 4, 'COPY ctx/ /'), df(5, 5, 'RUN rm -rf …')][i] }));
    const findings = a.findings.map((f) => (f.id === 'secrets-in-image' ? { ...f, location: { file: 'Dockerfile', line: 3, endLine: 4 } } : f));
    const log = checkSarif(renderSarif([{ ...a, layers, findings } as Analysis], BASE));
    const res = log.runs[0]!.results.find((x) => x.ruleId === 'secrets-in-image')!;
    expect(res.level).toBe('error');
    expect(res.locations[0].physicalLocation).toEqual({ artifactLocation: { uri: 'Dockerfile', uriBaseId: '%SRCROOT%' }, region: { startLine: 3, endLine: 4 } });
    // a finding without a location names no line (review 15c W5: was line 1 of the Dockerfile): the image only
    const other = log.runs[0]!.results.find((x) => x.ruleId !== 'secrets-in-image')!;
    expect(other.locations[0].physicalLocation).toBeUndefined();
    expect(other.locations[0].logicalLocations[0].name).toBe(a.image.reference);
  });

  it('partial fingerprints name the Dockerfile by its root-relative URI: ./Dockerfile, Dockerfile and its absolute path are one file', async () => {
    const a = await analyzeJson(await archive(leaky()));
    const with_ = (file: string) => ({ ...a, findings: a.findings.map((f) => ({ ...f, location: { file, line: 3, endLine: 4 } })), dockerfile: { file, matched: 1, unmatched: [] } }) as unknown as Analysis;
    const fps = (file: string) => checkSarif(renderSarif([with_(file)], BASE)).runs[0]!.results.map((x) => x.partialFingerprints['imgscopeFinding/v1'] as string);
    const plain = fps('Dockerfile');
    expect(plain.length).toBeGreaterThan(0);
    expect(fps('./Dockerfile')).toEqual(plain);
    expect(fps('/work-root/Dockerfile')).toEqual(plain);
    expect(fps('sub/../Dockerfile')).toEqual(plain);
    // another file is another alert
    expect(fps('sub/Dockerfile').some((fp, i) => fp === plain[i])).toBe(false);
  });

  it('partial fingerprints stay when sizes and layer numbers change, and differ between rules', async () => {
    const one = checkSarif(renderSarif([await analyzeJson(await archive(leaky()))], BASE));
    const two = checkSarif(renderSarif([await analyzeJson(await archive(leaky(777)))], BASE));
    const fp = (log: typeof one, id: string) => log.runs[0]!.results.find((x) => x.ruleId === id)!.partialFingerprints['imgscopeFinding/v1'] as string;
    for (const id of ['secrets-in-image', 'layer-waste']) {
      expect(fp(one, id)).toMatch(/^[0-9a-f]{64}$/);
      expect(fp(two, id)).toBe(fp(one, id));
    }
    expect(fp(one, 'secrets-in-image')).not.toBe(fp(one, 'layer-waste'));
  });

  it('validates for the sample images in the daemon', async () => {
    if (!(await dockerAvailable())) return;
    for (const ref of ['docker-daemon:imgscope-sample/cpu-multistage:latest', 'docker-daemon:imgscope-test/pyapp:1']) {
      const r = await run(['analyze', ref, '--format', 'sarif', '-q']);
      expect(r.exitCode, r.stderr).toBe(0);
      const log = checkSarif(r.stdout);
      expect(log.runs[0]!.results.every((x) => log.runs[0]!.tool.driver.rules[x.ruleIndex]!.id === x.ruleId)).toBe(true);
    }
  }, 240_000);

  it('--dockerfile that matches nothing: results name no line of it (review 15c W5: was line 1), never a Dockerfile not named', async () => {
    const tar = await archive(leaky());
    const ws = realpathSync(tmpDir());
    mkdirSync(path.join(ws, 'sub'), { recursive: true });
    writeFileSync(path.join(ws, 'sub', 'Other.Dockerfile'), 'FROM scratch\nRUN echo something else entirely\n');
    writeFileSync(path.join(ws, 'Dockerfile'), 'FROM scratch\n');
    const r = await execa('node', [CLI, 'analyze', `docker-archive:${tar}`, '--format', 'sarif', '-q', '--dockerfile', 'sub/Other.Dockerfile'], { cwd: ws, reject: false, env: { GITHUB_WORKSPACE: ws } });
    expect(r.exitCode, r.stderr).toBe(0);
    const log = checkSarif(r.stdout) as unknown as { runs: Array<{ results: Array<Record<string, any>>; originalUriBaseIds: Record<string, { uri: string }> }> };
    expect(log.runs[0]!.originalUriBaseIds['%SRCROOT%']!.uri).toBe(`file://${ws}/`);
    const uris = new Set(log.runs[0]!.results.map((x) => x.locations[0].physicalLocation?.artifactLocation.uri));
    expect(log.runs[0]!.results.length).toBeGreaterThan(0);
    expect([...uris]).toEqual([undefined]);
    for (const x of log.runs[0]!.results) expect(x.locations[0].logicalLocations[0].kind).toBe('module');
  });

  it('URIs: relative to $GITHUB_WORKSPACE, else the git top level, else the working directory; each segment encoded; none outside the root', () => {
    const ws = realpathSync(tmpDir());
    mkdirSync(path.join(ws, 'a', 'b'), { recursive: true });
    expect(sourceRoot({ GITHUB_WORKSPACE: ws }, path.join(ws, 'a'))).toBe(ws);
    execFileSync('git', ['init', '-q', ws]);
    expect(sourceRoot({}, path.join(ws, 'a', 'b'))).toBe(ws);
    const plain = realpathSync(tmpDir());
    mkdirSync(plain, { recursive: true });
    // a temp directory is in no git work tree (unless TMPDIR lies inside one): the working directory
    let inGit = true;
    try {
      execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: plain, stdio: 'ignore' });
    } catch {
      inGit = false;
    }
    if (!inGit) expect(sourceRoot({}, plain)).toBe(plain);
    const base = { root: ws, cwd: path.join(ws, 'a') };
    expect(fileUri('Dockerfile', base)).toBe('a/Dockerfile');
    expect(fileUri('b/x#1?.Dockerfile', base)).toBe(`a/b/${encodeURIComponent('x#1?.Dockerfile')}`);
    expect(fileUri('b/100% sure.Dockerfile', base)).toBe('a/b/100%25%20sure.Dockerfile');
    expect(fileUri(path.join(ws, 'a', 'Dockerfile'), base)).toBe('a/Dockerfile');
    expect(fileUri('../../outside/Dockerfile', base)).toBeUndefined();
    expect(fileUri('/etc/Dockerfile', base)).toBeUndefined();
  });

  it('a Dockerfile outside the root gets no physical location; the image stays the logical one', async () => {
    const a = await analyzeJson(await archive(leaky()));
    const withDf = { ...a, dockerfile: { file: '/elsewhere/Dockerfile', matched: 0, unmatched: [] } } as Analysis;
    const log = checkSarif(renderSarif([withDf], BASE));
    for (const res of log.runs[0]!.results) {
      expect(res.locations[0].physicalLocation).toBeUndefined();
      expect(res.locations[0].logicalLocations[0].name).toBe(a.image.reference);
    }
  });

  it('image-level findings point at the target stage FROM line when its base steps matched it, else at no line (review 15c W5)', async () => {
    const a = await analyzeJson(await archive(leaky()));
    const extra = (id: string): Finding => ({ id, severity: 'low', title: id, savingBytes: null, evidence: {}, fix: 'x' }) as Finding;
    const findings = [...a.findings.filter((f) => !['runs-as-root', 'no-healthcheck', 'layer-waste'].includes(f.id)), extra('runs-as-root'), extra('no-healthcheck'), { ...a.findings.find((f) => f.id === 'layer-waste')! }];
    const df = (line: number, stage: string, instruction: string) => ({ file: 'Dockerfile', line, endLine: line, stage, instruction });
    // two stages: the build stage's FROM on line 1, the final stage's on line 7; the base layer came with the final stage's FROM
    const layers = a.layers.map((l, i) => ({ ...l, dockerfile: [df(7, 'final', 'FROM'), undefined, undefined][i] }));
    const mapped = { ...a, layers, findings, dockerfile: { file: 'Dockerfile', stage: 'final', matched: 1, unmatched: [] } } as unknown as Analysis;
    const at = (log: ReturnType<typeof checkSarif>, id: string) => log.runs[0]!.results.find((x) => x.ruleId === id)!.locations[0].physicalLocation?.region.startLine as number | undefined;
    const log = checkSarif(renderSarif([mapped], BASE));
    expect(at(log, 'runs-as-root')).toBe(7);
    expect(at(log, 'no-healthcheck')).toBe(7);
    expect(at(log, 'layer-waste')).toBeUndefined(); // not image-level, no line of its own
    // the base steps on another stage's FROM (the chain's root, `FROM build AS final`): not the target's, no line
    const other = { ...mapped, layers: a.layers.map((l, i) => ({ ...l, dockerfile: [df(1, 'build', 'FROM'), undefined, undefined][i] })) } as unknown as Analysis;
    expect(at(checkSarif(renderSarif([other], BASE)), 'runs-as-root')).toBeUndefined();
    // no base step matched at all: no line
    const none = { ...mapped, layers: a.layers.map((l) => ({ ...l, dockerfile: undefined })) } as unknown as Analysis;
    expect(at(checkSarif(renderSarif([none], BASE)), 'no-healthcheck')).toBeUndefined();
  });

  it('help Markdown escapes the fix; fingerprints keep two images apart but not two tags; informationUri only from package.json; automationDetails per repository', async () => {
    const a = await analyzeJson(await archive(leaky(), ['registry.example/team/app:1.0']));
    const evil = '<img src=x onerror=alert(1)> [click](https://evil.example) | `code` *bold* $x$';
    const findings = a.findings.map((f) => ({ ...f, fix: `${f.fix} ${evil}` }));
    const log = checkSarif(renderSarif([{ ...a, findings }], BASE));
    for (const rl of log.runs[0]!.tool.driver.rules) {
      expect(rl.help.markdown).not.toContain('<img');
      expect(rl.help.markdown).not.toContain('[click](');
      expect(rl.help.markdown).toContain('&lt;img src=x onerror=alert(1)&gt; \\[click\\](https://evil.example) \\| \\`code\\` \\*bold\\*');
      expect(rl.help.text).toContain(evil); // plain text stays as it is
    }
    expect(imageRepository(a)).toBe('registry.example/team/app');
    const runObj = log.runs[0] as unknown as { automationDetails: { id: string }; tool: { driver: { informationUri?: string } } };
    expect(runObj.automationDetails.id).toBe('imgscope/registry.example/team/app/');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const info = pkg.homepage ?? (typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url);
    if (info) expect(runObj.tool.driver.informationUri).toBeDefined();
    else expect(runObj.tool.driver.informationUri).toBeUndefined();
    // the same image under another repository: other fingerprints; under another tag of the same: the same
    const fps = async (tags: string[]) => {
      const b = await analyzeJson(await archive(leaky(), tags));
      return checkSarif(renderSarif([b], BASE)).runs[0]!.results.map((x) => x.partialFingerprints['imgscopeFinding/v1'] as string);
    };
    const [app1, app2, other] = [await fps(['team/app:1.0']), await fps(['team/app:2.0']), await fps(['team/worker:1.0'])];
    expect(app2).toEqual(app1);
    for (let i = 0; i < app1.length; i++) expect(other[i]).not.toBe(app1[i]);
    // two images in one run: every result keeps its own fingerprint
    const both = checkSarif(renderSarif([await analyzeJson(await archive(leaky(), ['team/app:1.0'])), await analyzeJson(await archive(leaky(), ['team/worker:1.0']))], BASE));
    const all = both.runs[0]!.results.map((x) => x.partialFingerprints['imgscopeFinding/v1']);
    expect(new Set(all).size).toBe(all.length);
  });
});
