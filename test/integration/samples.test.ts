import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis, ColdStart } from '../../src/report/types.js';
import { BASE_IMAGE, docker, dockerAvailable, ensureBase, requireDocker, ROOT } from '../helpers/docker.js';
import { tmpDir } from '../helpers/images.js';
import { type LocalRegistry, startRegistry } from '../helpers/registry.js';
import { analyzeChecked, checkColdStartReport, expectSchemaValid, kindBytes } from '../helpers/report.js';
import { expectCtrlCCleansUp } from '../helpers/cli.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const available = await dockerAvailable();
if (requireDocker && !available) throw new Error('IMGSCOPE_REQUIRE_DOCKER=1 but no Docker daemon answers `docker info`');
const MiB = 1024 * 1024;
const SAMPLES = ['cpu-naive', 'cpu-multistage', 'cpu-pruned', 'gpu-devel', 'gpu-runtime'];
const tag = (s: string): string => `imgscope-sample/${s}:latest`;

async function leftovers(): Promise<string> {
  return (await docker('ps', '-a', '--filter', 'label=imgscope', '--format', '{{.ID}} {{.Labels}}')).trim();
}

async function coldstart(args: string[]): Promise<ColdStart> {
  const r = await execa('node', [CLI, 'coldstart', '--quiet', '-f', 'json', ...args]);
  return checkColdStartReport(JSON.parse(r.stdout));
}

function expectPhases(c: ColdStart, runs: number): void {
  expect(c.runs).toHaveLength(runs);
  for (const r of c.runs) {
    expect(r.create).toBeGreaterThan(0);
    expect(r.start).toBeGreaterThan(0);
    expect(r.ready).toBeGreaterThan(0);
    expect(r.total).toBeCloseTo(r.create + r.start + r.ready + (r.pull ?? 0), 6);
  }
  for (const s of Object.values(c.phases)) {
    expect(s.min).toBeLessThanOrEqual(s.median);
    expect(s.median).toBeLessThanOrEqual(s.p90);
    expect(s.p90).toBeLessThanOrEqual(s.max);
  }
}

describe.skipIf(!available)('sample images and coldstart on a real daemon', () => {
  const reports = new Map<string, Analysis>();
  let neverReady = '';

  beforeAll(async () => {
    await ensureBase();
    await execa('bash', [path.join(ROOT, 'sample-images/build.sh'), ...SAMPLES], { stdio: 'inherit' });
    for (const s of SAMPLES) reports.set(s, await analyzeChecked(`docker-daemon:${tag(s)}`));
    // An image whose HEALTHCHECK never passes.
    neverReady = 'imgscope-test/never-ready:1';
    const ctx = tmpDir();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      path.join(ctx, 'Dockerfile'),
      `FROM ${BASE_IMAGE}\nHEALTHCHECK --interval=1s CMD false\nCMD ["sh", "-c", "echo booting \${GREETING:-nobody}; echo still-not-ready-$((6*7)); exec sleep 600"]\n`,
    );
    await execa('docker', ['build', '-q', '-t', neverReady, ctx], { env: { DOCKER_BUILDKIT: '0' } });
  });

  it('analyze shows what each variant carries: naive toolchain and caches, devel CUDA only in gpu-devel', () => {
    const naive = reports.get('cpu-naive')!;
    const multi = reports.get('cpu-multistage')!;
    const pruned = reports.get('cpu-pruned')!;
    expect(kindBytes(naive, 'toolchain')).toBeGreaterThan(100 * MiB);
    expect(kindBytes(naive, 'caches')).toBeGreaterThan(10 * MiB);
    // multi-stage keeps no compilers and no package caches (the headers inside numpy and scipy, and
    // libgfortran, are python and runtime libraries: README.md "Kinds")
    expect(kindBytes(multi, 'toolchain')).toBe(0);
    expect(kindBytes(pruned, 'toolchain')).toBe(0);
    expect(kindBytes(reports.get('gpu-devel')!, 'toolchain')).toBeGreaterThan(100 * MiB);
    expect(multi.owners.filter((o) => /^apt:(gcc(-\d+)?|g\+\+(-\d+)?|cpp(-\d+)?|binutils.*|make|libc6-dev)$/.test(o.owner) && o.bytes > 0)).toEqual([]);
    expect(kindBytes(multi, 'caches')).toBeLessThan(5 * MiB); // debconf's templates, as in the base
    expect(naive.totals.imageBytes).toBeGreaterThan(multi.totals.imageBytes);
    expect(multi.totals.imageBytes).toBeGreaterThan(pruned.totals.imageBytes);
    expect(kindBytes(pruned, 'docs')).toBeLessThan(kindBytes(multi, 'docs'));
    // the naive COPY . ships the notebook, tests and .env; the .dockerignore keeps them out
    expect(kindBytes(naive, 'app')).toBeGreaterThan(kindBytes(multi, 'app'));
    expect(naive.image.user).toBe('');
    expect(multi.image.user).toBe('app');
    expect(naive.image.healthcheck).toBeNull();
    expect(multi.image.healthcheck?.Test?.[0]).toBe('CMD');

    const devel = reports.get('gpu-devel')!;
    const runtime = reports.get('gpu-runtime')!;
    expect(kindBytes(devel, 'cuda-devel')).toBeGreaterThan(500 * MiB);
    expect(kindBytes(runtime, 'cuda-devel')).toBe(0);
    expect(kindBytes(runtime, 'cuda-runtime')).toBeGreaterThan(50 * MiB);
    expect(devel.totals.imageBytes).toBeGreaterThan(runtime.totals.imageBytes);
  });

  it('findings: naive gets the classic fixes, multi-stage none of them, gpu-devel the CUDA devel saving', () => {
    const ids = (s: string): string[] => reports.get(s)!.findings.map((f) => f.id);
    const classic = ['toolchain-in-image', 'package-caches', 'layer-order', 'runs-as-root', 'no-healthcheck', 'secrets-in-image', 'unwanted-files'];
    expect(ids('cpu-naive')).toEqual(expect.arrayContaining(classic));
    expect(ids('cpu-multistage').filter((i) => classic.includes(i))).toEqual([]);
    const devel = reports.get('gpu-devel')!;
    const f = devel.findings.find((x) => x.id === 'cuda-devel-in-image')!;
    const kind = kindBytes(devel, 'cuda-devel');
    expect(Math.abs(f.savingBytes! - kind) / kind).toBeLessThanOrEqual(0.05);
    expect(ids('gpu-runtime')).not.toContain('cuda-devel-in-image');
    // pruning __pycache__ saves bytes and costs every start a recompile; multi-stage keeps the bytecode
    expect(ids('cpu-pruned')).toContain('missing-bytecode');
    expect(ids('cpu-multistage')).not.toContain('missing-bytecode');
    const naiveSecrets = reports.get('cpu-naive')!.findings.find((x) => x.id === 'secrets-in-image')!;
    expect(naiveSecrets.evidence.items).toEqual([{ path: 'app/.env', layer: 2, visible: true }]);
  });

  it('CUDA facts of the GPU samples agree with the tools inside them (cuobjdump, dpkg); --gpu-arch on real libraries', async () => {
    const devel = reports.get('gpu-devel')!;
    const cuda = devel.evidence.cuda!;
    // the runtime version, against dpkg's package version
    const cudart = cuda.runtimes.find((r) => r.owner.startsWith('apt:libcudart'))!;
    const pkg = cudart.owner.slice(4);
    const dpkgVersion = (await docker('run', '--rm', tag('gpu-devel'), 'dpkg-query', '-W', '-f', '${Version}', pkg)).trim();
    expect(dpkgVersion.startsWith(`${cudart.version}.`)).toBe(true);
    expect(devel.findings.find((f) => f.id === 'cuda-driver-requirement')!.title).toContain(`CUDA ${cudart.version}`);
    // fatbin architectures, against cuobjdump --list-elf / --list-ptx on the same files
    const libs = cuda.fatbins.filter((f) => /\/lib(curand|cublas)\.so\./.test(f.path));
    expect(libs.length).toBe(2);
    for (const lib of libs) {
      const out = await docker('run', '--rm', tag('gpu-devel'), 'sh', '-c', `cuobjdump --list-elf /${lib.path}; echo ---; cuobjdump --list-ptx /${lib.path}`);
      const [elfPart, ptxPart] = out.split('---');
      const archs = (txt: string, ext: string) => [...new Set([...txt.matchAll(new RegExp(`\\.(sm_\\d+)\\.${ext}`, 'g'))].map((m) => m[1]!))].sort();
      expect(Object.keys(lib.sass).sort(), lib.path).toEqual(archs(elfPart!, 'cubin'));
      expect(Object.keys(lib.ptx).sort(), lib.path).toEqual(archs(ptxPart!, 'ptx'));
    }
    // CUDA 11.8 libraries: sm_89 has SASS (no finding); sm_100 (newer than 11.8) runs only their PTX
    const arch = async (a: string) => (JSON.parse((await execa('node', [CLI, 'analyze', '-q', '-f', 'json', '--gpu-arch', a, `docker-daemon:${tag('gpu-runtime')}`])).stdout) as Analysis).findings.map((f) => f.id);
    const sm89 = await arch('sm_89');
    expect(sm89.filter((i) => i.startsWith('gpu-arch'))).toEqual([]);
    expect(await arch('sm_100')).toContain('gpu-arch-ptx-only');
  });

  it('shared libraries: no false alarm on the samples\' real extension modules; a deleted libblas is found before Python fails on it', async () => {
    for (const s of SAMPLES) expect(reports.get(s)!.evidence.sharedLibraries!.missing, s).toEqual([]);
    expect(reports.get('cpu-multistage')!.evidence.sharedLibraries!.checked).toBeGreaterThan(50);
    const ctx = tmpDir();
    const { writeFileSync } = await import('node:fs');
    const broken = 'imgscope-test/no-blas:1';
    writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${tag('cpu-multistage')}\nUSER root\nRUN rm /usr/local/lib/libblas.so.3*\nUSER app\n`);
    await execa('docker', ['build', '-q', '-t', broken, ctx], { env: { DOCKER_BUILDKIT: '0' } });
    const a = await analyzeChecked(`docker-daemon:${broken}`);
    const f = a.findings.find((x) => x.id === 'missing-shared-libraries')!;
    expect(f.severity).toBe('high');
    expect(f.title).toContain('libblas.so.3');
    expect(f.evidence.items!.some((i) => i.needed === 'libblas.so.3' && /^usr\/local\/lib\/python3\.11\/dist-packages\/numpy\/core\/_multiarray_umath\./.test(i.path))).toBe(true);
    // independently: Python in that image fails exactly there
    const py = await execa('docker', ['run', '--rm', broken, 'python3', '-c', 'import numpy'], { reject: false });
    expect(py.exitCode).not.toBe(0);
    expect(py.stderr).toContain('libblas.so.3: cannot open shared object file');
    await docker('rmi', broken);
  });

  it('each CPU sample becomes ready; phases are ordered and positive; imports name sklearn and fastapi', async () => {
    const naive = await coldstart([tag('cpu-naive'), '--runs', '2', '--warmup', '1', '--http', 'http://127.0.0.1:18731/health', '-p', '18731:8000']);
    expectPhases(naive, 2);
    expect(naive.readiness.kind).toBe('http');
    for (const s of ['cpu-multistage', 'cpu-pruned']) {
      const c = await coldstart([tag(s), '--runs', '2', '--warmup', '0']);
      expectPhases(c, 2);
      expect(c.readiness.kind).toBe('healthcheck');
      const names = c.imports!.packages.map((p) => p.package);
      expect(names).toContain('sklearn');
      expect(names).toContain('fastapi');
      expect(c.imports!.packages.find((p) => p.package === 'sklearn')!.selfMs).toBeGreaterThan(1);
    }
    const noProbe = await execa('node', [CLI, 'coldstart', tag('cpu-naive')], { reject: false });
    expect(noProbe.exitCode).toBe(2);
    expect(noProbe.stderr.trim()).toBe('imgscope: imgscope-sample/cpu-naive:latest: the image has no HEALTHCHECK; give a readiness probe with --http URL (and -p) or --log REGEX');
    const byLog = await coldstart([tag('cpu-multistage'), '--runs', '1', '--warmup', '0', '--log', 'Uvicorn running on', '--no-imports']);
    expectPhases(byLog, 1);
    expect(byLog.imports).toBeNull();
    expect(await leftovers()).toBe('');
  });

  it('compare --coldstart times image inputs; analyze budgets fail the job on a real image', async () => {
    const r = await execa('node', [CLI, 'compare', tag('cpu-multistage'), tag('cpu-pruned'), '--coldstart', '--runs', '1', '--quiet', '-f', 'json']);
    const c = JSON.parse(r.stdout) as { rows: Array<{ coldStartMs: number | null; warmStartMs: number | null; startToReadyMs: number | null; imageBytes: number }> };
    expectSchemaValid(c);
    // --coldstart alone times a warm start: the image stays; no cold figure is made up
    expect(c.rows.map((row) => [row.warmStartMs! > 0, row.startToReadyMs === row.warmStartMs, row.coldStartMs])).toEqual([
      [true, true, null],
      [true, true, null],
    ]);
    expect(c.rows[0]!.imageBytes).toBe(reports.get('cpu-multistage')!.totals.imageBytes);
    const gate = await execa('node', [CLI, 'analyze', tag('cpu-naive'), '--quiet', '-f', 'json', '--forbid-kind', 'toolchain', '--max-kind', 'caches=10MiB'], { reject: false });
    expect(gate.exitCode).toBe(1);
    expect(gate.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^imgscope: FAIL forbid-kind: imgscope-sample\/cpu-naive:latest: toolchain is forbidden but the image carries [\d.]+ MiB \(\d+ B\)$/),
      expect.stringMatching(/^imgscope: FAIL max-kind: imgscope-sample\/cpu-naive:latest: caches [\d.]+ MiB \(\d+ B\) > limit 10\.0 MiB \(10485760 B\)$/),
    ]);
    const pass = await execa('node', [CLI, 'analyze', tag('cpu-multistage'), '--quiet', '-f', 'json', '--forbid-kind', 'toolchain,cuda-devel', '--max-kind', 'caches=10MiB']);
    expect(pass.exitCode).toBe(0);
    const pruned = await execa('node', [CLI, 'analyze', tag('cpu-pruned'), '--quiet', '-f', 'json', '--forbid-kind', 'toolchain']);
    expect(pruned.exitCode).toBe(0);
    // issue 12 point 5: the CUDA devel image carries nvcc's toolchain (gcc, -dev packages); the runtime libraries of the others do not count
    const devel = await execa('node', [CLI, 'analyze', tag('gpu-devel'), '--quiet', '-f', 'json', '--forbid-kind', 'toolchain'], { reject: false });
    expect(devel.exitCode).toBe(1);
    expect(devel.stderr.trim()).toMatch(/^imgscope: FAIL forbid-kind: imgscope-sample\/gpu-devel:latest: toolchain is forbidden but the image carries [\d.]+ (MiB|GiB) \(\d+ B\)$/);
    expect(await leftovers()).toBe('');
    // Two warm starts and three whole-image analyses: 54 s in CI on 2 cores, so the default minute is too tight.
  }, 240_000);

  it('--trace-files: the working set holds the interpreter and the model, no docs, and no more than the image', async () => {
    const c = await coldstart([tag('cpu-multistage'), '--runs', '1', '--warmup', '0', '--no-imports', '--trace-files']);
    expectPhases(c, 1);
    const ws = c.workingSet!;
    const opened = new Map(ws.opened.map((f) => [`/${f.path}`, f]));
    // independently, inside the image: where python3 leads, and the files' sizes
    const interp = (await docker('run', '--rm', '--entrypoint', 'readlink', tag('cpu-multistage'), '-f', '/usr/bin/python3')).trim();
    const model = reports.get('cpu-multistage')!.evidence.models.map((m) => `/${m.path}`).find((p) => p.endsWith('.joblib'))!;
    const sizes = (await docker('run', '--rm', '--entrypoint', 'stat', tag('cpu-multistage'), '-c', '%s %n', interp, model)).trim().split('\n').map((l) => l.split(' '));
    for (const [size, file] of sizes) expect(opened.get(file!)?.bytes, file).toBe(Number(size));
    expect([...opened.keys()].filter((p) => p.startsWith('/usr/share/doc/'))).toEqual([]);
    expect(ws.bytes).toBe(ws.opened.reduce((s, f) => s + f.bytes, 0));
    expect(ws.bytes).toBeLessThanOrEqual(reports.get('cpu-multistage')!.totals.finalBytes);
    expect(ws.finalBytes).toBe(reports.get('cpu-multistage')!.totals.finalBytes);
    expect(ws.byKind.find((k) => k.kind === 'model-weights')?.files).toBe(1);
    expect(c.notes).toEqual([]);

    // without fatrace on the PATH: one line says so, the timings still come out
    const r = await execa(process.execPath, [CLI, 'coldstart', '--quiet', '-f', 'json', tag('cpu-multistage'), '--runs', '1', '--warmup', '0', '--no-imports', '--trace-files'], {
      env: { PATH: '/nonexistent' },
    });
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^imgscope: imgscope-sample\/cpu-multistage:latest: --trace-files needs fatrace and stdbuf on the PATH .*; no working set, the timings are unaffected$/);
    const noTrace = checkColdStartReport(JSON.parse(r.stdout));
    expectPhases(noTrace, 1);
    expect(noTrace.workingSet).toBeNull();
    expect(noTrace.notes).toHaveLength(1);

    // not root (nobody, in the docker group so that it reaches the daemon): the same, for that reason
    const gid = (await execa('getent', ['group', 'docker'], { reject: false })).stdout.split(':')[2];
    // (only where nobody can read this checkout: a clone under a private home directory cannot be)
    const readable = gid && (await execa('setpriv', ['--reuid=65534', '--regid=65534', `--groups=${gid}`, process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(CLI)})`], { reject: false })).exitCode === 0;
    if (readable) {
      const u = await execa('setpriv', ['--reuid=65534', '--regid=65534', `--groups=${gid}`, process.execPath, CLI, 'coldstart', '--quiet', '-f', 'json', tag('cpu-multistage'), '--runs', '1', '--warmup', '0', '--no-imports', '--trace-files']);
      expect(u.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^imgscope: imgscope-sample\/cpu-multistage:latest: --trace-files needs root \(.*\); no working set, the timings are unaffected$/)]);
      const asNobody = checkColdStartReport(JSON.parse(u.stdout));
      expectPhases(asNobody, 1);
      expect(asNobody.workingSet).toBeNull();
    }
    expect(await leftovers()).toBe('');
  });

  describe('--cold against a local registry', () => {
    let reg: LocalRegistry;
    let remote = '';
    const second = 'imgscope-test/cold:second';
    interface Refs {
      Id: string;
      RepoTags: string[];
      RepoDigests: string[];
    }
    const refs = async (name: string): Promise<Refs> => JSON.parse(await docker('image', 'inspect', '--format', '{{json .}}', name)) as Refs;
    const sorted = (a: string[]): string[] => [...a].sort();

    beforeAll(async () => {
      reg = await startRegistry();
      remote = `${reg.host}/imgscope-test/cold:1`;
      const ctx = tmpDir();
      const { writeFileSync } = await import('node:fs');
      const { randomBytes } = await import('node:crypto');
      writeFileSync(path.join(ctx, 'a.bin'), randomBytes(2_000_000));
      writeFileSync(path.join(ctx, 'b.bin'), randomBytes(300_000));
      writeFileSync(
        path.join(ctx, 'Dockerfile'),
        `FROM ${BASE_IMAGE}\nCOPY a.bin /data/a.bin\nCOPY b.bin /data/b.bin\nHEALTHCHECK --interval=1s CMD test -f /data/a.bin\nCMD ["sleep", "600"]\n`,
      );
      await execa('docker', ['build', '-q', '-t', remote, ctx], { env: { DOCKER_BUILDKIT: '0' } });
      await docker('push', '-q', remote);
      await docker('tag', remote, second);
    });
    afterAll(async () => {
      // by ID: the image also carries digest references of the names the tests pushed it under
      const id = (await execa('docker', ['image', 'inspect', '-f', '{{.Id}}', remote], { reject: false })).stdout.trim();
      await execa('docker', ['rmi', '-f', ...(id ? [id] : [remote, second])], { reject: false });
      await reg?.stop();
    });

    it('removes every reference, pulls, restores them; downloaded bytes are the registry manifest\'s unshared layers', async () => {
      const before = await refs(remote);
      expect(before.RepoTags.length).toBeGreaterThanOrEqual(2);
      const c = await coldstart([remote, '--cold', '--runs', '1', '--warmup', '0', '--no-imports']);
      expectPhases(c, 1);
      // both tags (and the digest reference) are back, on the same image
      const after = await refs(remote);
      expect(after.Id).toBe(before.Id);
      expect((await refs(second)).Id).toBe(before.Id);
      expect(sorted(after.RepoTags)).toEqual(sorted(before.RepoTags));
      expect(sorted(after.RepoDigests)).toEqual(sorted(before.RepoDigests));
      expect(sorted(c.cold!.removedReferences)).toEqual(sorted([...before.RepoTags, ...before.RepoDigests]));
      expect(c.cold!.notRestored).toEqual([]);
      // the registry's own word on the layers, fetched here, not through imgscope
      const res = await fetch(`http://${reg.host}/v2/imgscope-test/cold/manifests/1`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
      const manifest = (await res.json()) as { config: { digest: string }; layers: Array<{ digest: string; size: number }> };
      expect(manifest.config.digest).toBe(before.Id);
      // the base layer stays: the base image holds it
      expect(c.cold!.sharedLayers.map((s) => s.index)).toEqual([0]);
      expect(c.cold!.sharedLayers[0]!.images).toContain(BASE_IMAGE);
      const p = c.pulls![0]!;
      expect(p.layers.map((l) => [l.digest, l.compressedBytes])).toEqual(manifest.layers.map((l) => [l.digest, l.size]));
      expect(p.layers.map((l) => l.status)).toEqual(['present', 'downloaded', 'downloaded']);
      expect(p.layers.slice(1).map((l) => l.downloadedBytes)).toEqual(manifest.layers.slice(1).map((l) => l.size));
      expect(p.downloadedBytes).toBe(manifest.layers.slice(1).reduce((s, l) => s + l.size, 0));
      expect(p.presentBytes).toBe(manifest.layers[0]!.size);
      for (const l of p.layers.slice(1)) {
        expect(l.downloadStartMs!).toBeLessThanOrEqual(l.downloadEndMs!);
        expect(l.downloadEndMs!).toBeLessThanOrEqual(l.extractStartMs!);
        expect(l.extractStartMs!).toBeLessThanOrEqual(l.extractEndMs!);
        expect(l.extractEndMs!).toBeLessThanOrEqual(p.totalMs);
      }
      expect(c.runs[0]!.pull).toBe(p.totalMs);
      expect(await leftovers()).toBe('');
    });

    it('--bandwidth: pulled through a relay no faster than the rate; the relay\'s name leaves no reference behind', async () => {
      const before = await refs(remote);
      const rate = 4_000_000;
      const c = await coldstart([remote, '--cold', '--runs', '1', '--warmup', '0', '--no-imports', '--bandwidth', '4MB/s']);
      const p = c.pulls![0]!;
      expect(p.relay!.bytesPerSec).toBe(rate);
      expect(p.relay!.wireBytes).toBeGreaterThanOrEqual(p.downloadedBytes);
      // a lower bound (the first chunk passes before the first progress message)
      expect(p.downloadMs).toBeGreaterThanOrEqual(((p.downloadedBytes - 65_536) / rate) * 1000);
      const after = await refs(remote);
      expect(after.Id).toBe(before.Id);
      expect(sorted(after.RepoTags)).toEqual(sorted(before.RepoTags));
      expect(sorted(after.RepoDigests)).toEqual(sorted(before.RepoDigests));
    });

    it('a name the daemon lacks, for an image it holds under others: that image is the one removed and restored', async () => {
      const before = await refs(remote);
      const alias = `${reg.host}/imgscope-test/alias:1`;
      await execa('skopeo', ['copy', '-q', '--dest-tls-verify=false', `docker://${remote}`, `docker://${alias}`, '--src-tls-verify=false']);
      expect((await execa('docker', ['image', 'inspect', alias], { reject: false })).exitCode).not.toBe(0);
      const c = await coldstart([alias, '--cold', '--runs', '1', '--warmup', '0', '--no-imports']);
      expect(c.cold!.imageIdBefore).toBe(before.Id);
      expect(sorted(c.cold!.removedReferences)).toEqual(sorted([...before.RepoTags, ...before.RepoDigests]));
      expect(c.pulls![0]!.layers.map((l) => l.status)).toEqual(['present', 'downloaded', 'downloaded']);
      const after = await refs(remote);
      expect(after.Id).toBe(before.Id);
      // the user's tags, and the name pulled, as docker pull leaves it
      expect(sorted(after.RepoTags)).toEqual(sorted([...before.RepoTags, alias]));
      await docker('rmi', alias);
    });

    it('Ctrl-C in the middle of a cold pull: the image comes back under every reference, no container left', async () => {
      const before = await refs(remote);
      const child = execa('node', [CLI, 'coldstart', remote, '--cold', '--runs', '1', '--warmup', '0', '--no-imports', '--bandwidth', '200kB/s'], { reject: false });
      // removed: the pull has begun
      for (let i = 0; i < 200 && (await execa('docker', ['image', 'inspect', second], { reject: false })).exitCode === 0; i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 500));
      child.kill('SIGINT');
      const r = await child;
      expect(r.exitCode).toBe(130);
      expect(r.stderr).toContain(`pulling ${remote} back to restore its tags`);
      const after = await refs(remote);
      expect(after.Id).toBe(before.Id);
      expect(sorted(after.RepoTags)).toEqual(sorted(before.RepoTags));
      expect(await leftovers()).toBe('');
    });

    it('refuses, removing nothing, when a removal could not be undone', async () => {
      const other = `${reg.host}/imgscope-test/elsewhere:1`;
      // the registry serves one image, the daemon holds another under that name
      await docker('tag', remote, other);
      await docker('push', '-q', other);
      await docker('tag', BASE_IMAGE, other);
      const differs = await execa('node', [CLI, 'coldstart', other, '--cold', '--no-imports'], { reject: false });
      expect(differs.exitCode).toBe(2);
      expect(differs.stderr.trim()).toMatch(/^imgscope: .*elsewhere:1: --cold would replace your local image: the registry serves a different one/);
      expect((await refs(other)).Id).toBe((await refs(BASE_IMAGE)).Id);
      await docker('rmi', other);
      // a container (even a stopped one) pins the image
      const id = (await docker('create', '--label', 'imgscope-test=pin', remote)).trim();
      try {
        const pinned = await execa('node', [CLI, 'coldstart', remote, '--cold', '--no-imports'], { reject: false });
        expect(pinned.exitCode).toBe(2);
        expect(pinned.stderr.trim()).toMatch(/--cold cannot remove the image: 1 container\(s\) use it/);
      } finally {
        await docker('rm', id);
      }
      // nothing under that name in the registry
      const missing = `${reg.host}/imgscope-test/nowhere:1`;
      await docker('tag', BASE_IMAGE, missing);
      const none = await execa('node', [CLI, 'coldstart', missing, '--cold', '--no-imports'], { reject: false });
      expect(none.exitCode).toBe(2);
      expect(none.stderr.trim()).toMatch(/--cold: cannot read what the registry serves, so the image is left in place \(.*not found/);
      await docker('rmi', missing);
      expect((await refs(remote)).RepoTags).toContain(second);
    });
  });

  it('a container that never becomes healthy fails at the timeout with its logs, and leaves nothing behind', async () => {
    const r = await execa('node', [CLI, 'coldstart', neverReady, '--timeout', '3', '--runs', '1', '--warmup', '0', '--env', 'GREETING=from-env'], { reject: false });
    expect(r.exitCode).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^imgscope: imgscope-test\/never-ready:1: run 1: the container was not ready after 3 s \(healthcheck\); last log lines: booting from-env \| still-not-ready-42$/);
    expect(await leftovers()).toBe('');
  });

  it('Ctrl-C mid-run removes the container', async () => {
    await expectCtrlCCleansUp(neverReady, leftovers);
  });

  it('--gpus all on a daemon without an NVIDIA runtime: a clear message, exit 3, no container left', async () => {
    const r = await execa('node', [CLI, 'coldstart', tag('gpu-runtime'), '--gpus', 'all', '--runs', '1', '--warmup', '0'], { reject: false });
    expect(r.exitCode).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--gpus all: this Docker daemon has no NVIDIA GPU runtime \(.*could not select device driver.*\); install the NVIDIA Container Toolkit/);
    expect(await leftovers()).toBe('');
  });
});
