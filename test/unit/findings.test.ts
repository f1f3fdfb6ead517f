import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { Analysis } from '../../src/report/types.js';
import { computeFindings, failingFindings } from '../../src/findings/rules.js';
import { evidenceLine } from '../../src/render/evidence.js';
import { makeAnalysis } from '../helpers/analysis.js';
import { type FixtureImage, tmpDir, writeOciDir } from '../helpers/images.js';
import { analyzeChecked, kindBytes } from '../helpers/report.js';
import { type FEntry, file, text, whiteout } from '../helpers/tar.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const MiB = 1024 * 1024;
const SP = 'usr/local/lib/python3.11/site-packages';
const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';

let n = 0;
async function run(img: FixtureImage): Promise<Analysis> {
  const d = path.join(tmpDir(), `f${n++}`);
  await writeOciDir(d, [{ img }]);
  return analyzeChecked(`oci:${d}`);
}
const ok: Record<string, unknown> = { User: 'app', Healthcheck: { Test: ['CMD', 'true'] } };
const one = (entries: FEntry[], config: Record<string, unknown> = ok, createdBy = 'RUN build'): FixtureImage => ({ config, layers: [{ entries, createdBy }] });
const ids = (a: Analysis): string[] => a.findings.map((f) => f.id);
const find = (a: Analysis, id: string) => a.findings.find((f) => f.id === id);
/** An evidence item as the views word it (the spans' text side by side). */
const words = (f: { evidence: { items?: Parameters<typeof evidenceLine>[0][] } }): string[] =>
  (f.evidence.items ?? []).map((i) => evidenceLine(i).map((x) => (typeof x === 'string' ? x : 'code' in x ? x.code : '')).join(''));

describe('findings: one rule each, positive and negative', () => {
  it('cuda-devel-in-image saves the cuda-devel bytes', async () => {
    const pos = await run(one([file('usr/local/cuda-12.4/bin/nvcc', 2 * MiB), file('usr/local/cuda-12.4/include/cuda_runtime.h', MiB)]));
    expect(find(pos, 'cuda-devel-in-image')).toMatchObject({ severity: 'high', savingBytes: kindBytes(pos, 'cuda-devel') });
    expect(kindBytes(pos, 'cuda-devel')).toBe(3 * MiB);
    expect(ids(await run(one([file('usr/local/cuda-12.4/lib64/libcudart.so.12', 2 * MiB)])))).not.toContain('cuda-devel-in-image');
  });

  it('toolchain-in-image saves the toolchain bytes', async () => {
    const pos = await run(one([file('usr/bin/x86_64-linux-gnu-gcc-12', 2 * MiB), file('usr/include/stdio.h', MiB)]));
    expect(find(pos, 'toolchain-in-image')).toMatchObject({ savingBytes: 3 * MiB });
    expect(ids(await run(one([file('usr/bin/python3.11', 2 * MiB)])))).not.toContain('toolchain-in-image');
  });

  it('package-caches gives the exact fix for each cache present', async () => {
    const pos = await run(one([file('root/.cache/pip/http/a/b', 3 * MiB), file('var/lib/apt/lists/deb_Packages', MiB)]));
    const f = find(pos, 'package-caches')!;
    expect(f.savingBytes).toBe(4 * MiB);
    expect(f.fix).toContain('--no-cache-dir');
    expect(f.fix).toContain('rm -rf /var/lib/apt/lists/*');
    expect(f.fix).not.toContain('conda');
    expect(ids(await run(one([file('usr/lib/python3/dist-packages/x/__pycache__/a.cpython-311.pyc', MiB)])))).not.toContain('package-caches');
  });

  it('layer-waste names the paths and the layers that added them', async () => {
    const pos = await run({ config: ok, layers: [{ entries: [file('opt/build/big.o', 2 * MiB)] }, { entries: [whiteout('opt/build')] }] });
    const f = find(pos, 'layer-waste')!;
    expect(f.savingBytes).toBe(2 * MiB);
    expect(f.evidence.items![0]).toEqual({ path: 'opt/build/big.o', bytes: 2 * MiB, layer: 0, deletedIn: 1 });
    expect(words(f)[0]).toBe('/opt/build/big.o (2.00 MiB, added in layer 1, deleted in layer 2)');
    expect(ids(await run({ config: ok, layers: [{ entries: [file('opt/a', 2 * MiB)] }, { entries: [file('opt/b', 1)] }] }))).not.toContain('layer-waste');
  });

  it('duplicate-cuda-libraries saves all but one copy of each soname', async () => {
    const record = 'nvidia/cublas/lib/libcublas.so.12,,\n';
    const pos = await run(
      one([
        text(`${SP}/nvidia_cublas_cu12-12.1.3.1.dist-info/RECORD`, record),
        file(`${SP}/nvidia/cublas/lib/libcublas.so.12`, 3 * MiB),
        file('usr/local/cuda-12.1/lib64/libcublas.so.12.1.3.1', 2 * MiB),
      ]),
    );
    const f = find(pos, 'duplicate-cuda-libraries')!;
    expect(f.savingBytes).toBe(2 * MiB);
    expect(f.evidence.packages!.sort()).toEqual(['pip:nvidia-cublas-cu12', 'unowned']);
    expect(ids(await run(one([file('usr/local/cuda-12.1/lib64/libcublas.so.12.1.3.1', 2 * MiB)])))).not.toContain('duplicate-cuda-libraries');
  });

  it('baked-model-weights: the layer, and whether it comes after the code', async () => {
    const pos = await run({
      config: ok,
      layers: [{ entries: [file('app/main.py', 100)], createdBy: 'COPY . /app # buildkit' }, { entries: [file('app/model.safetensors', 3 * MiB)], createdBy: 'RUN python download.py' }],
    });
    const f = find(pos, 'baked-model-weights')!;
    expect(f).toMatchObject({ severity: 'info', savingBytes: null, evidence: { layers: [1] } });
    expect(f.title).toContain('after the application code');
    expect(f.fix).toMatch(/dedicated early stage/);
    expect(ids(await run(one([file('app/main.py', 100)])))).not.toContain('baked-model-weights');
    // over 2 GB: a model store, and the whole size is the saving
    const big = makeAnalysis({ reference: 'x', imageBytes: 5 * 1024 ** 3, kinds: { 'model-weights': 3 * 1024 ** 3 } });
    const fb = computeFindings(big).find((x) => x.id === 'baked-model-weights')!;
    expect(fb).toMatchObject({ severity: 'medium', savingBytes: 3 * 1024 ** 3 });
    expect(fb.fix).toMatch(/model store/);
  });

  it('layer-order: code copied before the dependency install', async () => {
    const layers = (steps: string[]): FixtureImage => ({ config: ok, layers: steps.map((s, i) => ({ entries: [file(`f${i}`, 1)], createdBy: s })) });
    const pos = await run(layers(['/bin/sh -c #(nop) COPY dir:0123abcd in /app ', '/bin/sh -c pip install -r requirements.txt']));
    expect(find(pos, 'layer-order')!.evidence.steps).toEqual([0, 1]);
    expect(find(pos, 'layer-order')!.evidence.detail).toMatch(/^step 1 `COPY dir:0123abcd in \/app` comes before step 2 `RUN pip install -r requirements.txt`$/);
    const neg = await run(layers(['COPY requirements.txt . # buildkit', 'RUN /bin/sh -c pip install -r requirements.txt # buildkit', 'COPY . . # buildkit']));
    expect(ids(neg)).not.toContain('layer-order');
  });

  it('runs-as-root, no-healthcheck and base-not-pinned read the config', async () => {
    const pos = await run(one([file('a', 1)], { Labels: { 'org.opencontainers.image.base.name': 'docker.io/library/python:3.11-slim' } }));
    expect(ids(pos)).toEqual(expect.arrayContaining(['runs-as-root', 'no-healthcheck', 'base-not-pinned']));
    const neg = await run(one([file('a', 1)], { ...ok, Labels: { 'org.opencontainers.image.base.name': 'python:3.11-slim', 'org.opencontainers.image.base.digest': `sha256:${'a'.repeat(64)}` } }));
    expect(ids(neg)).not.toEqual(expect.arrayContaining(['runs-as-root']));
    expect(ids(neg).filter((i) => ['runs-as-root', 'no-healthcheck', 'base-not-pinned'].includes(i))).toEqual([]);
    expect(ids(await run(one([file('a', 1)], { User: '0:0', Healthcheck: { Test: ['NONE'] } })))).toEqual(expect.arrayContaining(['runs-as-root', 'no-healthcheck']));
  });

  it('musl-scientific-python: numpy on Alpine', async () => {
    const numpy = [text(`${SP}/numpy-1.26.4.dist-info/RECORD`, 'numpy/__init__.py,,\n'), file(`${SP}/numpy/__init__.py`, 10)];
    const pos = await run(one([file('lib/ld-musl-x86_64.so.1', 600), text('etc/os-release', 'ID=alpine\nVERSION_ID=3.19.1\n'), ...numpy]));
    expect(find(pos, 'musl-scientific-python')).toMatchObject({ evidence: { packages: ['pip:numpy'], detail: 'os alpine 3.19.1, musl libc' } });
    expect(ids(await run(one([file('lib64/ld-linux-x86-64.so.2', 600), ...numpy])))).not.toContain('musl-scientific-python');
    expect(ids(await run(one([file('lib/ld-musl-x86_64.so.1', 600)])))).not.toContain('musl-scientific-python');
  });

  it('secrets-in-image and unwanted-files look at every layer, deleted files included, and never print content', async () => {
    const pos = await run({
      config: ok,
      layers: [
        { entries: [text('app/.env', 'TOKEN=abc123'), text('root/.ssh/id_rsa', KEY), file('app/.git/objects/ab/cdef', 3000), file('app/notebooks/eda.ipynb', 2000)] },
        { entries: [whiteout('root/.ssh/id_rsa'), whiteout('app/.git')] },
      ],
    });
    const s = find(pos, 'secrets-in-image')!;
    expect(s.severity).toBe('high');
    expect(s.evidence.items).toEqual([{ path: 'app/.env', layer: 0, visible: true }, { path: 'root/.ssh/id_rsa', layer: 0, visible: false, privateKey: true }]);
    expect(words(s)).toEqual(['/app/.env (layer 1, in the final filesystem)', '/root/.ssh/id_rsa (layer 1, deleted later but still in that layer, contains a private key)']);
    expect(JSON.stringify(pos)).not.toContain('b3BlbnNzaC1rZXktdjEAAAAA');
    expect(JSON.stringify(pos)).not.toContain('abc123');
    const u = find(pos, 'unwanted-files')!;
    expect(u.savingBytes).toBe(5000);
    expect(u.evidence.items).toEqual([{ path: 'app/.git', layer: 0, visible: false }, { path: 'app/notebooks/eda.ipynb', layer: 0, visible: true }]);
    expect(words(u)).toEqual(['/app/.git (layer 1, deleted later but still in that layer)', '/app/notebooks/eda.ipynb (layer 1, in the final filesystem)']);
    const neg = await run(one([file(`${SP}/nbformat/tests/test.ipynb`, 100), file('usr/share/doc/x/README.env', 5), file('etc/ssl/private/ssl-cert-snakeoil.key', 10)]));
    expect(ids(neg).filter((i) => i === 'secrets-in-image' || i === 'unwanted-files')).toEqual([]);
  });

  it('ranks by bytes saved, and --fail-on takes ids or a severity', async () => {
    const a = await run({
      config: {},
      layers: [{ entries: [file('usr/bin/gcc-12', 3 * MiB), file('root/.cache/pip/x', 5 * MiB), file('usr/local/cuda/bin/nvcc', 2 * MiB)] }],
    });
    expect(ids(a).slice(0, 3)).toEqual(['package-caches', 'toolchain-in-image', 'cuda-devel-in-image']);
    expect(failingFindings(a.findings, 'high').map((f) => f.id)).toEqual(['cuda-devel-in-image']);
    expect(failingFindings(a.findings, 'medium').map((f) => f.id).sort()).toEqual(['cuda-devel-in-image', 'runs-as-root', 'toolchain-in-image']);
    expect(failingFindings(a.findings, 'low').map((f) => f.id)).toContain('package-caches');
    expect(failingFindings(a.findings, 'no-healthcheck').map((f) => f.id)).toEqual(['no-healthcheck']);
  });

  it('analyze --fail-on high exits 1 on a private key planted in a deleted layer', async () => {
    const d = path.join(tmpDir(), 'planted');
    await writeOciDir(d, [{ img: { config: ok, layers: [{ entries: [text('opt/deploy/server.pem', KEY), file('opt/app.py', 10)] }, { entries: [whiteout('opt/deploy/server.pem')] }] } }]);
    const r = await execa('node', [CLI, 'analyze', `oci:${d}`, '--fail-on', 'high', '-f', 'json'], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toMatch(/^imgscope: FAIL finding secrets-in-image \(high\): oci:.*: Secrets ship in the image \(1\)/);
    expect(r.stdout).not.toContain('b3BlbnNzaC1rZXktdjEAAAAA');
    const clean = await execa('node', [CLI, 'analyze', `oci:${d}`, '--fail-on', 'secrets-in-image'], { reject: false });
    expect(clean.exitCode).toBe(1);
    const none = await execa('node', [CLI, 'analyze', `oci:${d}`, '--fail-on', 'cuda-devel-in-image', '-q'], { reject: false });
    expect(none.exitCode).toBe(0);
  });
});
