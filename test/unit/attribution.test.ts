import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify, type KindContext, PACKAGE_DATA_MAX_BYTES } from '../../src/attribute/kinds.js';
import { forEachRecordPath, normalizeDistName, parseCsv, parseDistDirName, parseDpkgStatus } from '../../src/attribute/parsers.js';
import { type FixtureImage, tmpDir, writeOciDir } from '../helpers/images.js';
import { analyzeChecked, kindBytes, ownerBytes } from '../helpers/report.js';
import { dir, file, hardlink, symlink, text } from '../helpers/tar.js';

const SP = 'usr/local/lib/python3.11/site-packages';

const status = `Package: coreutils
Status: install ok installed
Architecture: amd64
Multi-Arch: foreign
Version: 9.1-1
Installed-Size: 54
Description: GNU core utilities
 continuation line

Package: libfoo1
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Version: 1.0

Package: python3-yaml
Status: install ok installed
Architecture: amd64
Version: 6.0-3

Package: gcc-12
Status: install ok installed
Architecture: amd64
Version: 12.2.0-14

Package: libc6-dev
Status: install ok installed
Architecture: amd64
Version: 2.36-9

Package: nvidia-cuda-toolkit
Status: install ok installed
Architecture: amd64
Version: 11.8.89~11.8.0-5

Package: libcudart11.0
Status: install ok installed
Architecture: amd64
Version: 11.8.89~11.8.0-5

Package: oldremoved
Status: deinstall ok config-files
Architecture: amd64
Version: 1
`;

const list = (...paths: string[]): string => ['/.', ...paths].join('\n') + '\n';

const torchRecord = [
  'torch/__init__.py,sha256=abc,5000',
  'torch/lib/libtorch_cuda.so,sha256=abc,3000000',
  '"torch/lib/libc10.so",sha256=abc,400000',
  'torch/include/ATen/ATen.h,,2000',
  '../../../bin/torchrun,sha256=abc,300',
  'torch-2.3.0+cu121.dist-info/METADATA,,1000',
  'torch-2.3.0+cu121.dist-info/RECORD,,',
].join('\r\n');
const cublasRecord = ['nvidia/cublas/lib/libcublas.so.12,,2000000', 'nvidia/cublas/include/cublas_v2.h,,15000', 'nvidia_cublas_cu12-12.1.3.1.dist-info/RECORD,,'].join('\n');
const cudnnRecord = ['nvidia/cudnn/lib/libcudnn.so.8,,1500000', 'nvidia_cudnn_cu12-8.9.2.26.dist-info/RECORD,,'].join('\n');
const numpyRecord = ['numpy/__init__.py,,1000', 'numpy-1.26.4.dist-info/RECORD,,'].join('\n');
const sklearnRecord = ['sklearn/base.py,,3000', 'sklearn/model.joblib,,8000', 'Scikit_Learn-1.4.0.dist-info/RECORD,,'].join('\n');
const eggFiles = '../oldpkg/__init__.py\n../oldpkg/core.py\n';
const condaYaml = JSON.stringify({ name: 'pyyaml', version: '6.0', files: ['lib/python3.11/site-packages/yaml/__init__.py'] });
const condaSsl = JSON.stringify({ name: 'openssl', version: '3.0.13', files: ['lib/libssl.so.3'] });
const apkDb = 'C:Q1abc=\nP:musl\nV:1.2.4-r2\nF:lib\nR:ld-musl-x86_64.so.1\n\n';

function fixture(): FixtureImage {
  return {
    config: { WorkingDir: '/app' },
    layers: [
      {
        createdBy: '/bin/sh -c #(nop) ADD file:0123abcd in / ',
        entries: [
          dir('usr/bin'),
          dir('usr/lib'),
          symlink('bin', 'usr/bin'),
          symlink('lib', 'usr/lib'),
          text('var/lib/dpkg/status', status),
          text('var/lib/dpkg/info/coreutils.list', list('/bin', '/bin/cat', '/usr/share/doc/coreutils/copyright', '/usr/share/man/man1/cat.1.gz', '/usr/share/locale/de/LC_MESSAGES/coreutils.mo')),
          text('var/lib/dpkg/info/libfoo1:amd64.list', list('/usr/lib/x86_64-linux-gnu/libfoo.so.1')),
          text('var/lib/dpkg/info/python3-yaml.list', list('/usr/lib/python3/dist-packages/yaml/__init__.py', '/usr/lib/python3/dist-packages/_yaml.cpython-311-x86_64-linux-gnu.so')),
          text('var/lib/dpkg/info/gcc-12.list', list('/usr/bin/x86_64-linux-gnu-gcc-12', '/usr/lib/gcc/x86_64-linux-gnu/12/cc1')),
          text('var/lib/dpkg/info/libc6-dev:amd64.list', list('/usr/include/stdio.h', '/usr/lib/x86_64-linux-gnu/libc.a')),
          text('var/lib/dpkg/info/nvidia-cuda-toolkit.list', list('/usr/bin/nvcc')),
          text('var/lib/dpkg/info/libcudart11.0:amd64.list', list('/usr/lib/x86_64-linux-gnu/libcudart.so.11.8.89')),
          file('usr/bin/cat', 50000),
          file('usr/share/doc/coreutils/copyright', 1000),
          file('usr/share/man/man1/cat.1.gz', 2000),
          file('usr/share/locale/de/LC_MESSAGES/coreutils.mo', 3000),
          file('usr/lib/x86_64-linux-gnu/libfoo.so.1', 30000),
          file('usr/lib/python3/dist-packages/yaml/__init__.py', 4000),
          file('usr/lib/python3/dist-packages/yaml/__pycache__/__init__.cpython-311.pyc', 3000),
          file('usr/lib/python3/dist-packages/_yaml.cpython-311-x86_64-linux-gnu.so', 80000),
          file('usr/bin/x86_64-linux-gnu-gcc-12', 900000),
          file('usr/lib/gcc/x86_64-linux-gnu/12/cc1', 3000000),
          file('usr/include/stdio.h', 30000),
          file('usr/lib/x86_64-linux-gnu/libc.a', 500000),
          file('usr/bin/nvcc', 200000),
          file('usr/lib/x86_64-linux-gnu/libcudart.so.11.8.89', 700000),
        ],
      },
      {
        createdBy: '/bin/sh -c pip install torch numpy scikit-learn',
        entries: [
          text(`${SP}/torch-2.3.0+cu121.dist-info/RECORD`, torchRecord),
          file(`${SP}/torch-2.3.0+cu121.dist-info/METADATA`, 1000),
          file(`${SP}/torch/__init__.py`, 5000),
          file(`${SP}/torch/__pycache__/__init__.cpython-311.pyc`, 4000),
          file(`${SP}/torch/lib/libtorch_cuda.so`, 3000000),
          file(`${SP}/torch/lib/libc10.so`, 400000),
          file(`${SP}/torch/include/ATen/ATen.h`, 2000),
          file('usr/local/bin/torchrun', 300),
          text(`${SP}/nvidia_cublas_cu12-12.1.3.1.dist-info/RECORD`, cublasRecord),
          file(`${SP}/nvidia/__init__.py`, 0),
          file(`${SP}/nvidia/cublas/lib/libcublas.so.12`, 2000000),
          file(`${SP}/nvidia/cublas/include/cublas_v2.h`, 15000),
          file(`${SP}/nvidia/cublas/lib/extra.txt`, 100),
          text(`${SP}/nvidia_cudnn_cu12-8.9.2.26.dist-info/RECORD`, cudnnRecord),
          file(`${SP}/nvidia/cudnn/lib/libcudnn.so.8`, 1500000),
          text(`${SP}/numpy-1.26.4.dist-info/RECORD`, numpyRecord),
          file(`${SP}/numpy/__init__.py`, 1000),
          file(`${SP}/numpy.libs/libopenblas64_p-r0-5007b62f.3.23.dev.so`, 600000),
          text(`${SP}/Scikit_Learn-1.4.0.dist-info/RECORD`, sklearnRecord),
          file(`${SP}/sklearn/base.py`, 3000),
          file(`${SP}/sklearn/model.joblib`, 8000),
          text(`${SP}/oldpkg-0.1-py3.11.egg-info/installed-files.txt`, eggFiles),
          file(`${SP}/oldpkg/__init__.py`, 111),
          file(`${SP}/oldpkg/core.py`, 222),
          file('root/.cache/pip/http/a/b/abc', 70000),
          file('var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages', 90000),
          file('tmp/build.log', 500),
          file('usr/local/lib/__pycache__/stray.cpython-311.pyc', 10),
        ],
      },
      {
        createdBy: 'COPY . /app # buildkit',
        entries: [file('app/main.py', 1234), file('app/model.safetensors', 100000), file('app/.git/config', 50)],
      },
      {
        createdBy: '/bin/sh -c conda install pyyaml',
        entries: [
          text('opt/conda/conda-meta/pyyaml-6.0-py311.json', condaYaml),
          text('opt/conda/conda-meta/openssl-3.0.13-h0.json', condaSsl),
          file('opt/conda/lib/python3.11/site-packages/yaml/__init__.py', 444),
          file('opt/conda/lib/libssl.so.3', 5555),
          file('opt/conda/pkgs/openssl-3.0.13-h0.conda', 7777),
          text('lib/apk/db/installed', apkDb),
          file('lib/ld-musl-x86_64.so.1', 600),
          text('var/lib/dpkg/status.d/base-files', 'Package: base-files\nVersion: 12.4\nInstalled-Size: 1\n'),
          text('var/lib/dpkg/status.d/base-files.md5sums', 'd41d8cd98f00b204e9800998ecf8427e  etc/debian_version\n'),
          file('etc/debian_version', 13),
        ],
      },
    ],
  };
}

const len = (s: string): number => Buffer.byteLength(s);

describe('owners and kinds', () => {
  it('attributes every byte to the right owner and kind', async () => {
    const d = path.join(tmpDir(), 'attr');
    await writeOciDir(d, [{ img: fixture() }]);
    const a = await analyzeChecked(`oci:${d}`);
    const expected: Record<string, number> = {
      'apt:coreutils': 56000,
      'apt:libfoo1': 30000,
      'apt:python3-yaml': 87000,
      'apt:gcc-12': 3900000,
      'apt:libc6-dev': 530000,
      'apt:nvidia-cuda-toolkit': 200000,
      'apt:libcudart11.0': 700000,
      'pip:torch': 5000 + 4000 + 3000000 + 400000 + 2000 + 300 + 1000 + len(torchRecord),
      'pip:nvidia-cublas-cu12': 2000000 + 15000 + 100 + len(cublasRecord),
      'pip:nvidia-cudnn-cu12': 1500000 + len(cudnnRecord),
      'pip:numpy': 1000 + 600000 + len(numpyRecord),
      'pip:scikit-learn': 11000 + len(sklearnRecord),
      'pip:oldpkg': 333 + len(eggFiles),
      'conda:pyyaml': 444 + len(condaYaml),
      'conda:openssl': 5555 + len(condaSsl),
      'apk:musl': 600,
      'apt:base-files': 13,
    };
    for (const [owner, bytes] of Object.entries(expected)) expect([owner, ownerBytes(a, owner)]).toEqual([owner, bytes]);
    expect(ownerBytes(a, 'apt:oldremoved')).toBeUndefined();
    expect(a.owners.find((o) => o.owner === 'pip:torch')!.version).toBe('2.3.0+cu121');
    expect(a.owners.find((o) => o.owner === 'pip:nvidia-cudnn-cu12')!.version).toBe('8.9.2.26');
    expect(a.owners.find((o) => o.owner === 'apt:coreutils')).toMatchObject({ version: '9.1-1', installedSizeKiB: 54 });

    // sklearn's 8000-byte model.joblib is package data (under PACKAGE_DATA_MAX_BYTES): python
    expect(kindBytes(a, 'model-weights')).toBe(100000);
    expect(kindBytes(a, 'cuda-devel')).toBe(200000 + 15000);
    expect(kindBytes(a, 'cuda-runtime')).toBe(700000 + 3000000 + 2000000 + 1500000);
    // torch's own include/ATen/ATen.h is python, not toolchain
    expect(kindBytes(a, 'toolchain')).toBe(900000 + 3000000 + 30000 + 500000);
    expect(kindBytes(a, 'caches')).toBe(70000 + 90000 + 500 + 7777 + 10);
    expect(kindBytes(a, 'docs')).toBe(6000);
    expect(kindBytes(a, 'app')).toBe(1234 + 50);
    // the owner and kind views are independent: torch's bytes are cuda-runtime and python
    expect(a.owners.find((o) => o.owner === 'pip:torch')!.kinds).toEqual({
      'cuda-runtime': 3000000,
      python: 5000 + 4000 + 400000 + 2000 + 300 + 1000 + len(torchRecord),
    });
    // per layer: top kinds and owners of what is still visible
    expect(a.layers[2]!.topKinds[0]).toEqual({ kind: 'model-weights', bytes: 100000 });
    expect(a.layers[1]!.topOwners[0]).toEqual({ owner: 'pip:torch', bytes: ownerBytes(a, 'pip:torch') });
  });

  it('classifies by the first matching rule', () => {
    const ctx: KindContext = { workdir: 'srv/api', isCopyLayer: (l) => l === 1 };
    const cases: Array<[string, string, number, string]> = [
      ['root/.cache/huggingface/hub/models--x/blobs/abc', 'unowned', 0, 'model-weights'],
      ['models/pytorch_model.bin', 'unowned', 0, 'model-weights'],
      // a Python package's test fixtures are not model weights; its other data files still are
      ['usr/lib/python3/dist-packages/scipy/special/tests/data/boost.npz', 'pip:scipy', 0, 'python'],
      ['usr/lib/python3/dist-packages/mymodel/weights/model.npz', 'pip:mymodel', 0, 'model-weights'],
      ['usr/local/bin/tool.bin', 'unowned', 0, 'other'],
      ['var/cache/apt/pkgcache.bin', 'unowned', 0, 'caches'],
      ['usr/lib/firmware/intel/ucode.bin', 'apt:firmware-misc-nonfree', 0, 'system'],
      ['usr/local/cuda-11.8/bin/ptxas', 'unowned', 0, 'cuda-devel'],
      ['usr/local/cuda/targets/x86_64-linux/include/cuda_runtime.h', 'unowned', 0, 'cuda-devel'],
      ['usr/local/cuda/lib64/libcublas_static.a', 'unowned', 0, 'cuda-devel'],
      ['usr/include/vector_types.h', 'apt:nvidia-cuda-dev', 0, 'cuda-devel'],
      ['usr/include/boost/phoenix/support/preprocessed/vector_50.hpp', 'apt:libboost1.74-dev', 0, 'toolchain'],
      ['usr/include/math_functions.h', 'unowned', 0, 'cuda-devel'],
      ['usr/include/linux/cuda.h', 'apt:linux-libc-dev', 0, 'toolchain'],
      ['usr/include/cudnn_version.h', 'apt:nvidia-cudnn', 0, 'cuda-devel'],
      ['usr/local/cuda/lib64/libcufft.so.11.0.2', 'unowned', 0, 'cuda-runtime'],
      // seen in a real PyTorch/JAX venv: Python packages named cuda are not CUDA installs
      ['opt/venv/lib/python3.12/site-packages/cuda/bindings/nvrtc.cpython-312-x86_64-linux-gnu.so', 'pip:cuda-bindings', 0, 'python'],
      ['opt/venv/lib/python3.12/site-packages/cupy_backends/cuda/api/driver.cpython-312-x86_64-linux-gnu.so', 'pip:cupy-cuda13x', 0, 'python'],
      ['opt/venv/lib/python3.12/site-packages/nvidia/cu13/lib/libcublasLt.so.13', 'pip:nvidia-cublas', 0, 'cuda-runtime'],
      ['opt/venv/lib/python3.12/site-packages/triton/backends/nvidia/bin/ptxas', 'pip:triton', 0, 'cuda-devel'],
      ['opt/cuda-12.4/lib64/libcudart.so.12', 'unowned', 0, 'cuda-runtime'],
      ['usr/lib/x86_64-linux-gnu/libcudnn_ops_infer.so.8.9.7', 'apt:libcudnn8', 0, 'cuda-runtime'],
      ['usr/bin/make', 'apt:make', 0, 'toolchain'],
      ['usr/share/doc/zlib1g-dev/copyright', 'apt:zlib1g-dev', 0, 'toolchain'],
      ['usr/share/doc/gcc-12-base/copyright', 'apt:gcc-12-base', 0, 'docs'],
      // build-only files a Python distribution ships inside itself are python (README.md "Kinds" 4)
      ['usr/lib/python3/dist-packages/numpy/core/include/numpy/ndarraytypes.h', 'apt:python3-numpy', 0, 'python'],
      ['usr/local/lib/python3.11/dist-packages/numpy/core/lib/libnpymath.a', 'pip:numpy', 0, 'python'],
      ['usr/local/lib/python3.11/dist-packages/scipy/linalg/_lapack_subroutines.h', 'pip:scipy', 0, 'python'],
      ['usr/local/lib/python3.11/dist-packages/scipy/linalg/cython_blas.pxd', 'pip:scipy', 0, 'python'],
      // …unless the distribution is itself a build tool, whoever installed it
      ['usr/local/lib/python3.11/dist-packages/pybind11/include/pybind11/pybind11.h', 'pip:pybind11', 0, 'toolchain'],
      ['usr/lib/python3/dist-packages/mesonbuild/mesonmain.py', 'apt:meson', 0, 'toolchain'],
      // headers and static libraries elsewhere still are
      ['opt/vendor/include/foo.h', 'unowned', 0, 'toolchain'],
      ['usr/lib/x86_64-linux-gnu/libz.a', 'apt:zlib1g-dev', 0, 'toolchain'],
      // runtime libraries are never toolchain, whoever owns them, wherever they are
      ['usr/lib/x86_64-linux-gnu/libgfortran.so.5.0.0', 'apt:libgfortran5', 0, 'system'],
      ['usr/lib/x86_64-linux-gnu/libquadmath.so.0.0.0', 'apt:libquadmath0', 0, 'system'],
      ['usr/lib/x86_64-linux-gnu/libgomp.so.1.0.0', 'apt:libgomp1', 0, 'system'],
      ['usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30', 'apt:libstdc++6', 0, 'system'],
      ['usr/lib/x86_64-linux-gnu/libgcc_s.so.1', 'apt:libgcc-s1', 0, 'system'],
      ['usr/local/lib/libgfortran.so.5', 'unowned', 0, 'other'],
      ['usr/share/doc/libgfortran5/copyright', 'apt:libgfortran5', 0, 'docs'],
      // libraries only the toolchain loads, and those under a compiler's directory, are
      ['usr/lib/x86_64-linux-gnu/libisl.so.23.2.0', 'apt:libisl23', 0, 'toolchain'],
      ['usr/lib/x86_64-linux-gnu/libbfd-2.40-system.so', 'apt:libbinutils', 0, 'toolchain'],
      ['usr/lib/x86_64-linux-gnu/libasan.so.8.0.0', 'apt:libasan8', 0, 'toolchain'],
      ['usr/lib/gcc/x86_64-linux-gnu/12/liblto_plugin.so', 'apt:gcc-12', 0, 'toolchain'],
      ['usr/lib/gcc/x86_64-linux-gnu/12/libgomp.so', 'unowned', 0, 'toolchain'],
      ['usr/lib/python3/dist-packages/foo/__pycache__/x.cpython-311.pyc', 'unowned', 0, 'caches'],
      ['opt/venv/lib/python3.11/site-packages/tensorflow/core/protobuf/x.pb', 'unowned', 0, 'python'],
      ['usr/share/man/man1/ls.1.gz', 'apt:coreutils', 0, 'docs'],
      ['usr/lib/locale/C.utf8/LC_CTYPE', 'apt:libc-bin', 0, 'system'],
      ['srv/api/server.py', 'unowned', 1, 'app'],
      ['srv/api/generated.py', 'unowned', 0, 'other'],
      ['app/x.py', 'unowned', 1, 'app'],
      ['etc/passwd', 'apt:base-files', 0, 'system'],
      ['etc/hostname', 'unowned', 0, 'other'],
    ];
    for (const [p, owner, layer, kind] of cases) expect([p, classify(p, owner, layer, ctx)]).toEqual([p, kind]);
  });

  it('weight-like files inside a Python distribution are package data below PACKAGE_DATA_MAX_BYTES', () => {
    const ctx: KindContext = { workdir: '', isCopyLayer: () => true };
    const M = PACKAGE_DATA_MAX_BYTES;
    const cases: Array<[string, string, number, string]> = [
      // under the limit, in a Python distribution: package data
      ['usr/local/lib/python3.11/dist-packages/scipy/stats/_sobol_direction_numbers.npz', 'pip:scipy', 589334, 'python'],
      ['usr/lib/python3/dist-packages/scipy/stats/_sobol_direction_numbers.npz', 'apt:python3-scipy', 589334, 'python'],
      ['usr/lib/python3/dist-packages/matplotlib-3.6.3-nspkg.pth', 'apt:python3-matplotlib', 569, 'python'],
      ['opt/venv/lib/python3.12/site-packages/pkg/data/tiny.onnx', 'pip:pkg', M - 1, 'python'],
      ['usr/local/share/pkg/table.pkl', 'pip:pkg', 1000, 'python'],
      // from the limit up: model weights, even inside a package
      ['opt/venv/lib/python3.12/site-packages/pkg/data/big.onnx', 'pip:pkg', M, 'model-weights'],
      ['usr/lib/python3/dist-packages/mymodel/weights/model.npz', 'pip:mymodel', 200 * M, 'model-weights'],
      // size unknown: taken as large
      ['usr/lib/python3/dist-packages/mymodel/weights/model.npz', 'pip:mymodel', Number.NaN, 'model-weights'],
      // outside a Python distribution the size does not matter
      ['app/model/model.joblib', 'unowned', 1000, 'model-weights'],
      ['root/.cache/huggingface/hub/models--x/blobs/abc', 'unowned', 10, 'model-weights'],
    ];
    for (const [p, owner, size, kind] of cases) {
      const base = p.slice(p.lastIndexOf('/') + 1);
      expect([p, size, classify(p, owner, 0, ctx, base, Number.isNaN(size) ? undefined : size)]).toEqual([p, size, kind]);
    }
  });

  it('a multi-stage runtime image with numpy, scipy and their runtime libraries carries no toolchain', async () => {
    const MiB = 1024 * 1024;
    const sp = 'usr/local/lib/python3.11/dist-packages';
    const npRecord = ['numpy/__init__.py,,100', 'numpy/core/include/numpy/ndarraytypes.h,,3000', 'numpy/core/lib/libnpymath.a,,5000', 'numpy-1.24.2.dist-info/RECORD,,'].join('\n');
    const spRecord = ['scipy/stats/_sobol_direction_numbers.npz,,600000', 'scipy/linalg/cython_blas.pxd,,700', 'scipy/big/model.safetensors,,10485760', 'scipy-1.10.1.dist-info/RECORD,,'].join('\n');
    const dpkg = 'Package: libgfortran5\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nVersion: 12.2.0-14\n\nPackage: gcc-12\nStatus: install ok installed\nVersion: 12.2.0-14\n';
    const build = (withCompiler: boolean): FixtureImage => ({
      layers: [
        {
          createdBy: '/bin/sh -c #(nop) ADD file:0123abcd in / ',
          entries: [
            text('var/lib/dpkg/status', dpkg),
            text('var/lib/dpkg/info/libgfortran5:amd64.list', list('/usr/lib/x86_64-linux-gnu/libgfortran.so.5.0.0')),
            text('var/lib/dpkg/info/gcc-12.list', list('/usr/bin/x86_64-linux-gnu-gcc-12')),
            file('usr/lib/x86_64-linux-gnu/libgfortran.so.5.0.0', 2000),
            ...(withCompiler ? [file('usr/bin/x86_64-linux-gnu-gcc-12', 9000)] : []),
          ],
        },
        {
          createdBy: 'COPY --from=build /usr/local /usr/local # buildkit',
          entries: [
            text(`${sp}/numpy-1.24.2.dist-info/RECORD`, npRecord),
            file(`${sp}/numpy/__init__.py`, 100),
            file(`${sp}/numpy/core/include/numpy/ndarraytypes.h`, 3000),
            file(`${sp}/numpy/core/lib/libnpymath.a`, 5000),
            text(`${sp}/scipy-1.10.1.dist-info/RECORD`, spRecord),
            file(`${sp}/scipy/stats/_sobol_direction_numbers.npz`, 600000),
            file(`${sp}/scipy/linalg/cython_blas.pxd`, 700),
            file(`${sp}/scipy/big/model.safetensors`, 10 * MiB),
            // a second link is charged no bytes, but its kind follows the file's own size
            hardlink(`${sp}/scipy/big/link.safetensors`, `${sp}/scipy/big/model.safetensors`),
            file('usr/local/lib/libgfortran.so.5', 4000),
          ],
        },
      ],
    });
    const d = path.join(tmpDir(), 'runtime');
    await writeOciDir(d, [{ img: build(false), tag: 'runtime' }, { img: build(true), tag: 'devel' }]);
    const runtime = await analyzeChecked(`oci:${d}:runtime`);
    expect(kindBytes(runtime, 'toolchain')).toBe(0);
    expect(kindBytes(runtime, 'model-weights')).toBe(10 * MiB);
    expect(runtime.evidence.models.map((m) => m.path).sort()).toEqual([`${sp}/scipy/big/link.safetensors`, `${sp}/scipy/big/model.safetensors`]);
    expect(runtime.owners.find((o) => o.owner === 'pip:numpy')!.kinds).toEqual({ python: 100 + 3000 + 5000 + len(npRecord) });
    expect(runtime.owners.find((o) => o.owner === 'apt:libgfortran5')!.kinds).toEqual({ system: 2000 });
    const devel = await analyzeChecked(`oci:${d}:devel`);
    expect(kindBytes(devel, 'toolchain')).toBe(9000);
  });

  it('parses package databases', () => {
    expect(parseCsv('a,"b,c",3\r\n"x ""q""",,\n')).toEqual([['a', 'b,c', '3'], ['x "q"', '', '']]);
    const paths: string[] = [];
    forEachRecordPath('a/b.py,sha256=x,10\r\nc/RECORD,,\r\n\nlast/no-newline.py,,1', (p) => paths.push(p));
    expect(paths).toEqual(['a/b.py', 'c/RECORD', 'last/no-newline.py']);
    const quoted: string[] = [];
    forEachRecordPath('"a,b.py",,1\nplain.py,,2\n', (p) => quoted.push(p));
    expect(quoted).toEqual(['a,b.py', 'plain.py']);
    expect(parseDistDirName('scikit-learn-1.3.0.dist-info')).toEqual({ name: 'scikit-learn', version: '1.3.0' });
    expect(parseDistDirName('torch-2.3.0+cu121.dist-info')).toEqual({ name: 'torch', version: '2.3.0+cu121' });
    expect(parseDistDirName('PyYAML-6.0.1-py3.11.egg-info')).toEqual({ name: 'pyyaml', version: '6.0.1' });
    expect(parseDistDirName('mypkg.egg-info')).toEqual({ name: 'mypkg' });
    expect(normalizeDistName('Zope.Interface__x')).toBe('zope-interface-x');
    expect(parseDpkgStatus(status).map((p) => p.name)).toEqual(['coreutils', 'libfoo1', 'python3-yaml', 'gcc-12', 'libc6-dev', 'nvidia-cuda-toolkit', 'libcudart11.0']);
  });
});
