/**
 * `analyze --format sarif`: every log validates against the SARIF 2.1.0 schema; a private key added in
 * one layer and deleted in the next is an error-level result at the Dockerfile line of its layer
 * (when the report carries it); fingerprints survive a rebuild that changes sizes and layer numbers.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderSarif } from '../../src/render/sarif.js';
import type { Analysis } from '../../src/report/types.js';
import { run } from '../helpers/cli.js';
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

async function archive(img: FixtureImage): Promise<string> {
  const p = path.join(tmpDir(), 'img.tar');
  await writeDockerArchiveLegacy(p, img);
  return p;
}

async function analyzeJson(tar: string): Promise<Analysis> {
  const r = await run(['analyze', `docker-archive:${tar}`, '-f', 'json', '-q']);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Analysis;
}

describe('SARIF', () => {
  it('one valid result per finding: ruleId, rule metadata, level, security-severity for the secret, savings in properties', async () => {
    const tar = await archive(leaky());
    const r = await run(['analyze', `docker-archive:${tar}`, '--format', 'sarif', '-q']);
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
      // no Dockerfile known: line 1 of the default Dockerfile, the image as the logical location
      expect(res.locations[0].physicalLocation).toEqual({ artifactLocation: { uri: 'Dockerfile' }, region: { startLine: 1 } });
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
    const log = checkSarif(renderSarif([{ ...a, layers, findings } as Analysis]));
    const res = log.runs[0]!.results.find((x) => x.ruleId === 'secrets-in-image')!;
    expect(res.level).toBe('error');
    expect(res.locations[0].physicalLocation).toEqual({ artifactLocation: { uri: 'Dockerfile' }, region: { startLine: 3, endLine: 4 } });
    // a finding without a location points at line 1 of the Dockerfile the layers were mapped to
    const other = log.runs[0]!.results.find((x) => x.ruleId !== 'secrets-in-image')!;
    expect(other.locations[0].physicalLocation.region).toEqual({ startLine: 1 });
  });

  it('partial fingerprints stay when sizes and layer numbers change, and differ between rules', async () => {
    const one = checkSarif(renderSarif([await analyzeJson(await archive(leaky()))]));
    const two = checkSarif(renderSarif([await analyzeJson(await archive(leaky(777)))]));
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
});
