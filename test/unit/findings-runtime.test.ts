/**
 * Findings that need partial reads of file bodies (ELF dependencies, fatbin architectures), CUDA
 * version consistency, and the seconds-saved estimate. Every image is read both positionally
 * (uncompressed layers) and as a stream (gzip layers); both must give the same evidence.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { AnalyzeOptions } from '../../src/analysis.js';
import type { Analysis } from '../../src/report/types.js';
import { formatBytes } from '../../src/util/format.js';
import { buildElf, type ElfSpec } from '../helpers/elf.js';
import { type FixtureImage, tmpDir, writeOciDir } from '../helpers/images.js';
import { analyzeChecked } from '../helpers/report.js';
import { type FEntry, file, text } from '../helpers/tar.js';
import { evidenceLine } from '../../src/render/evidence.js';

/** An evidence item as the views word it (the spans' text side by side). */
const words = (f: { evidence: { items?: Parameters<typeof evidenceLine>[0][] } }): string[] =>
  (f.evidence.items ?? []).map((i) => evidenceLine(i).map((x) => (typeof x === 'string' ? x : 'code' in x ? x.code : '')).join(''));

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const SP = 'usr/local/lib/python3.11/site-packages';
const ok: Record<string, unknown> = { User: 'app', Healthcheck: { Test: ['CMD', 'true'] } };
const elf = (p: string, spec: ElfSpec): FEntry => ({ path: p, content: buildElf(spec) });
const record = (dist: string, paths: string[]) => text(`${SP}/${dist}/RECORD`, [...paths, `${dist}/RECORD,,`].map((p) => (p.includes(',') ? p : `${p},,`)).join('\n') + '\n');

let n = 0;
/** Analyzes the image from uncompressed (seekable) and gzip (streamed) layers; returns the first after checking they agree. */
async function both(img: FixtureImage, opts: AnalyzeOptions = {}): Promise<Analysis> {
  const out: Analysis[] = [];
  for (const compression of ['none', 'gzip'] as const) {
    const d = path.join(tmpDir(), `r${n++}`);
    await writeOciDir(d, [{ img: { ...img, layers: img.layers.map((l) => ({ ...l, compression })) } }]);
    out.push(await analyzeChecked(`oci:${d}`, opts));
  }
  const strip = (a: Analysis) => ({ ...a.evidence, pullModel: undefined });
  expect(strip(out[1]!)).toEqual(strip(out[0]!));
  expect(out[1]!.findings.map((f) => [f.id, f.title])).toEqual(out[0]!.findings.map((f) => [f.id, f.title]));
  return out[0]!;
}
const find = (a: Analysis, id: string) => a.findings.find((f) => f.id === id);
const ids = (a: Analysis) => a.findings.map((f) => f.id);

const system = (): FEntry[] => [
  file('usr/lib/x86_64-linux-gnu/libc.so.6', 2000),
  text('etc/ld.so.conf', '# comment\ninclude /etc/ld.so.conf.d/*.conf\n'),
  text('etc/ld.so.conf.d/extra.conf', '/opt/extra/lib\n'),
  file('opt/extra/lib/libextra.so.1.2', 300),
  { path: 'opt/extra/lib/libextra.so.1', type: 'symlink', linkname: 'libextra.so.1.2' },
  file('opt/env/lib/libenv.so.2', 300),
  file('opt/hidden/libhidden.so.3', 300),
];

describe('missing shared libraries', () => {
  const ext = `${SP}/pkg/_ext.cpython-311-x86_64-linux-gnu.so`;
  const needs = ['libc.so.6', 'libpkg_core.so', 'libextra.so.1', 'libenv.so.2', 'libcuda.so.1'];
  const image = (extra: string[]): FixtureImage => ({
    config: { ...ok, Env: ['PATH=/usr/bin', 'LD_LIBRARY_PATH=/opt/env/lib'] },
    layers: [
      { entries: system() },
      {
        createdBy: 'RUN pip install pkg',
        entries: [
          record('pkg-1.0.dist-info', ['pkg/_ext.cpython-311-x86_64-linux-gnu.so', 'pkg/lib/libpkg_core.so']),
          elf(ext, { needed: [...needs, ...extra], runpath: '$ORIGIN/lib' }),
          elf(`${SP}/pkg/lib/libpkg_core.so`, { needed: ['libc.so.6'], soname: 'libpkg_core.so' }),
        ],
      },
    ],
  });

  it('resolves RUNPATH $ORIGIN, ld.so.conf includes, LD_LIBRARY_PATH, default dirs, and expects libcuda from the host', async () => {
    const a = await both(image([]));
    expect(a.evidence.sharedLibraries).toEqual({ checked: 2, unreadable: [], missing: [], hostProvided: ['libcuda.so.1'] });
    expect(ids(a).filter((i) => i.includes('shared-libraries'))).toEqual([]);
  });

  it('reports a library that is nowhere (high, with the wheel that provides it) apart from one off the search path (low)', async () => {
    const a = await both(image(['libcudnn.so.8', 'libhidden.so.3']));
    expect(a.evidence.sharedLibraries!.missing).toEqual([
      { path: ext, owner: 'pip:pkg', needed: 'libcudnn.so.8', elsewhere: [] },
      { path: ext, owner: 'pip:pkg', needed: 'libhidden.so.3', elsewhere: ['opt/hidden/libhidden.so.3'] },
    ]);
    const m = find(a, 'missing-shared-libraries')!;
    expect(m.severity).toBe('high');
    expect(m.title).toContain('libcudnn.so.8');
    expect(m.title).not.toContain('libhidden');
    expect(m.evidence.items).toEqual([{ path: ext, needed: 'libcudnn.so.8', owner: 'pip:pkg' }]);
    expect(words(m)).toEqual([`libcudnn.so.8 ← /${ext} (pip:pkg)`]);
    expect(m.fix).toContain('nvidia-cudnn-cuXX');
    const off = find(a, 'shared-libraries-off-path')!;
    expect(off.severity).toBe('low');
    expect(off.evidence.items).toEqual([{ path: ext, needed: 'libhidden.so.3', owner: 'pip:pkg', foundAt: 'opt/hidden/libhidden.so.3' }]);
    expect(words(off)).toEqual([`libhidden.so.3 ← /${ext} (pip:pkg); present at /opt/hidden/libhidden.so.3`]);
  });

  it('leaves OS-packaged extension modules to the OS package manager', async () => {
    const a = await both({
      config: ok,
      layers: [{
        entries: [
          text('var/lib/dpkg/status', 'Package: python3-foo\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n\n'),
          text('var/lib/dpkg/info/python3-foo.list', '/usr/lib/python3/dist-packages/foo/_foo.so\n'),
          elf('usr/lib/python3/dist-packages/foo/_foo.so', { needed: ['libnothere.so.9'] }),
        ],
      }],
    });
    expect(a.evidence.sharedLibraries).toMatchObject({ checked: 0, missing: [] });
    expect(ids(a)).not.toContain('missing-shared-libraries');
  });
});

describe('CUDA consistency', () => {
  const torch = (cuda: string): FEntry[] => [
    record('torch-2.3.0.dist-info', ['torch/version.py', 'torch/__init__.py']),
    text(`${SP}/torch/version.py`, `__version__ = '2.3.0'\ndebug = False\ncuda: Optional[str] = ${cuda}\n`),
    file(`${SP}/torch/__init__.py`, 100),
  ];

  it('torch built for CUDA 12.1 on a CUDA 11.8 runtime is a high finding; the driver floor is reported', async () => {
    const a = await both({ config: ok, layers: [{ entries: [file('usr/local/cuda-11.8/lib64/libcudart.so.11.8.89', 5000), ...torch("'12.1'")] }] });
    expect(a.evidence.cuda!.runtimes).toEqual([{ version: '11.8', path: 'usr/local/cuda-11.8/lib64/libcudart.so.11.8.89', owner: 'unowned' }]);
    expect(a.evidence.cuda!.frameworks).toEqual([{ name: 'torch', version: '2.3.0', cuda: '12.1', source: `/${SP}/torch/version.py` }]);
    const f = find(a, 'cuda-version-mismatch')!;
    expect(f.severity).toBe('high');
    expect(f.title).toBe("torch 2.3.0 was built for CUDA 12.1, but the image's CUDA runtime is 11.8");
    expect(find(a, 'cuda-driver-requirement')!.title).toBe('Needs an NVIDIA driver ≥ 525.60.13 on the host (CUDA 12.1; ≥ 530.30.02 for every CUDA 12.1 feature and PTX JIT)');
    expect(find(a, 'cuda-driver-requirement')!.evidence.versions).toEqual(['11.8', '12.1']);
  });

  it('no mismatch when the pip CUDA runtime matches, and none for a CPU build', async () => {
    const cu12 = [
      record('nvidia_cuda_runtime_cu12-12.1.105.dist-info', ['nvidia/cuda_runtime/lib/libcudart.so.12']),
      file(`${SP}/nvidia/cuda_runtime/lib/libcudart.so.12`, 5000),
    ];
    const a = await both({ config: ok, layers: [{ entries: [...cu12, ...torch("'12.1'")] }] });
    expect(a.evidence.cuda!.runtimes).toEqual([{ version: '12.1', path: `${SP}/nvidia/cuda_runtime/lib/libcudart.so.12`, owner: 'pip:nvidia-cuda-runtime-cu12' }]);
    expect(ids(a)).not.toContain('cuda-version-mismatch');
    const cpu = await both({ config: ok, layers: [{ entries: torch('None') }] });
    expect(cpu.evidence.cuda!.frameworks).toEqual([{ name: 'torch', version: '2.3.0', cuda: null, source: `/${SP}/torch/version.py` }]);
    expect(ids(cpu).filter((i) => i.startsWith('cuda-'))).toEqual([]);
    const missing = await both({ config: ok, layers: [{ entries: torch("'12.1'") }] });
    expect(find(missing, 'cuda-version-mismatch')!.title).toBe('torch 2.3.0 was built for CUDA 12.1, but the image has no CUDA runtime (libcudart)');
  });
});

describe('GPU architectures (--gpu-arch)', () => {
  const KiB = 1024;
  const lib = (p: string, containers: ElfSpec['fatbin']): FEntry => ({ path: p, content: Buffer.concat([buildElf({ fatbin: containers }), Buffer.alloc(1024 * 1024)]) });
  const image: FixtureImage = {
    config: ok,
    layers: [{
      entries: [
        // SASS for 8.0 and 9.0 plus PTX 9.0
        lib('usr/lib/x86_64-linux-gnu/libcublasLt.so.12.1.3.1', [[{ kind: 2, arch: 80, payload: 100 * KiB }, { kind: 2, arch: 90, payload: 120 * KiB }, { kind: 1, arch: 90, payload: 50 * KiB }]]),
        // SASS for 7.0 only
        lib('usr/lib/x86_64-linux-gnu/libcufft.so.11.0.2.4', [[{ kind: 2, arch: 70, payload: 80 * KiB }]]),
        // a 1 KiB stub kernel: ignored by the architecture rules
        lib('usr/lib/x86_64-linux-gnu/libcufftw.so.11.0.2.4', [[{ kind: 2, arch: 52, payload: 1024 }]]),
      ],
    }],
  };
  const bytes = (payload: number) => 64 + payload;

  it('records bytes per architecture from the fatbin headers', async () => {
    const a = await both(image);
    const fb = a.evidence.cuda!.fatbins;
    expect(fb.map((f) => f.path.split('/').pop())).toEqual(['libcublasLt.so.12.1.3.1', 'libcufft.so.11.0.2.4', 'libcufftw.so.11.0.2.4']);
    expect(fb[0]).toMatchObject({ sass: { sm_80: bytes(100 * KiB), sm_90: bytes(120 * KiB) }, ptx: { sm_90: bytes(50 * KiB) } });
    expect(a.evidence.cuda!.targetArch).toBeNull();
    // without --gpu-arch nothing is judged
    expect(ids(a).filter((i) => i.startsWith('gpu-arch') || i === 'unused-gpu-archs')).toEqual([]);
  });

  it('sm_86: libcufft has no kernel for it (high); sm_80 SASS serves libcublasLt; unused architectures are counted', async () => {
    const a = await both(image, { gpuArch: 'sm_86' });
    const f = find(a, 'gpu-arch-unsupported')!;
    expect(f.severity).toBe('high');
    expect(f.evidence.items).toEqual([{ path: 'usr/lib/x86_64-linux-gnu/libcufft.so.11.0.2.4', owner: 'unowned', sass: ['sm_70'], ptx: [] }]);
    expect(words(f)).toEqual(['/usr/lib/x86_64-linux-gnu/libcufft.so.11.0.2.4 (unowned): sm_70']);
    expect(ids(a)).not.toContain('gpu-arch-ptx-only');
    const used = bytes(100 * KiB); // libcublasLt's sm_80 SASS; libcufft has nothing usable
    const total = bytes(100 * KiB) + bytes(120 * KiB) + bytes(50 * KiB) + bytes(80 * KiB);
    expect(find(a, 'unused-gpu-archs')!.title).toBe(`${formatBytes(total - used)} of the ${formatBytes(total)} of GPU code in CUDA libraries is for architectures a sm_86 GPU never runs`);
  });

  it('sm_100 (a new major): only PTX can run, JIT at first start (medium); sm_80 is fully served', async () => {
    const a = await both(image, { gpuArch: 'sm_100' });
    expect(find(a, 'gpu-arch-ptx-only')!.evidence.items).toEqual([{ path: 'usr/lib/x86_64-linux-gnu/libcublasLt.so.12.1.3.1', owner: 'unowned', sass: ['sm_80', 'sm_90'], ptx: ['sm_90'] }]);
    expect(words(find(a, 'gpu-arch-ptx-only')!)).toEqual(['/usr/lib/x86_64-linux-gnu/libcublasLt.so.12.1.3.1 (unowned): sm_80 sm_90, PTX sm_90']);
    expect(find(a, 'gpu-arch-unsupported')!.evidence.items).toEqual([{ path: 'usr/lib/x86_64-linux-gnu/libcufft.so.11.0.2.4', owner: 'unowned', sass: ['sm_70'], ptx: [] }]);
    expect(words(find(a, 'gpu-arch-unsupported')!)).toEqual(['/usr/lib/x86_64-linux-gnu/libcufft.so.11.0.2.4 (unowned): sm_70']);
    const full = await both({ ...image, layers: [{ entries: image.layers[0]!.entries!.slice(0, 1) }] }, { gpuArch: 'sm_80' });
    expect(ids(full).filter((i) => i.startsWith('gpu-arch'))).toEqual([]);
  });

  it('the CLI takes --gpu-arch and refuses a bad one with a one-line error', async () => {
    const d = path.join(tmpDir(), 'arch');
    await writeOciDir(d, [{ img: image }]);
    const good = await execa('node', [CLI, 'analyze', `oci:${d}`, '--gpu-arch', '8.6', '-f', 'json', '--fail-on', 'gpu-arch-unsupported'], { reject: false });
    expect(good.exitCode).toBe(1);
    expect((JSON.parse(good.stdout) as Analysis).evidence.cuda!.targetArch).toBe('sm_86');
    const bad = await execa('node', [CLI, 'analyze', `oci:${d}`, '--gpu-arch', 'volta'], { reject: false });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--gpu-arch: 'volta' is not a GPU architecture/);
  });
});

describe('seconds saved', () => {
  it('turns the bytes a fix saves into pull seconds with the image\'s own compression ratio', async () => {
    const a = await both({ config: ok, layers: [{ entries: [file('root/.cache/pip/http/x', 8 * 1024 * 1024), file('usr/bin/python3', 1000)] }] }, { networkBytesPerSec: 10e6, unpackBytesPerSec: 20e6 });
    const m = a.evidence.pullModel!;
    expect(m.networkBytesPerSec).toBe(10e6);
    expect(m.ratioSource).toBe('image');
    const f = find(a, 'package-caches')!;
    const expected = (f.savingBytes! * m.compressionRatio) / 10e6 + f.savingBytes! / 20e6;
    expect(f.savingSeconds).toBeCloseTo(expected, 1);
    expect(find(a, 'runs-as-root')?.savingSeconds ?? null).toBeNull();
  });
});

describe('missing bytecode', () => {
  const pkg = (n: number, withPyc: boolean): FEntry[] =>
    Array.from({ length: n }, (_, i) => [
      file(`${SP}/lib${i % 3}/m${i}.py`, 1000 + i),
      ...(withPyc ? [file(`${SP}/lib${i % 3}/__pycache__/m${i}.cpython-311.pyc`, 800)] : []),
    ]).flat();

  it('counts sources without .pyc (tests left out) and says why a container cannot keep them', async () => {
    const entries = [...pkg(60, false), ...pkg(0, true), file(`${SP}/lib0/tests/test_a.py`, 500), file('usr/lib/python3.11/os.py', 4000), file('usr/lib/python3.11/__pycache__/os.cpython-311.pyc', 3000)];
    const a = await both({ config: { ...ok, Env: ['PYTHONDONTWRITEBYTECODE=1'] }, layers: [{ entries }] });
    const expectedBytes = Array.from({ length: 60 }, (_, i) => 1000 + i).reduce((x, y) => x + y, 0);
    expect(a.evidence.bytecode).toMatchObject({ sourceFiles: 61, withoutBytecode: 60, withoutBytecodeBytes: expectedBytes });
    const f = find(a, 'missing-bytecode')!;
    expect(f.severity).toBe('medium');
    expect(f.title).toMatch(/^60 of 61 Python source files/);
    expect(f.evidence.detail).toContain('USER app usually cannot write __pycache__');
    expect(f.evidence.detail).toContain('PYTHONDONTWRITEBYTECODE=1');
    expect(f.fix).toContain(`compileall -q -j0 /${SP} (`);
    expect(a.evidence.bytecode!.roots).toEqual([SP]);
  });

  it('is quiet when the bytecode ships (in __pycache__ or beside the source)', async () => {
    const legacy = Array.from({ length: 60 }, (_, i) => [file(`${SP}/old/m${i}.py`, 100), file(`${SP}/old/m${i}.pyc`, 90)]).flat();
    const a = await both({ config: ok, layers: [{ entries: [...pkg(60, true), ...legacy] }] });
    expect(a.evidence.bytecode).toMatchObject({ sourceFiles: 120, withoutBytecode: 0 });
    expect(ids(a)).not.toContain('missing-bytecode');
  });
});
