import { CUDA_SHARED } from '../catalog/cuda.js';
import type { Kind } from '../report/types.js';
import { basename } from '../util/paths.js';

export interface KindContext {
  /** The image's WORKDIR, root-relative ('' when unset or '/'). */
  workdir: string;
  /** Whether a layer index was written by a COPY/ADD step (true for all when history is unknown). */
  isCopyLayer: (layer: number) => boolean;
}

const WEIGHT_EXT =
  /\.(safetensors|pt|pth|ckpt|onnx|gguf|ggml|h5|hdf5|keras|tflite|joblib|pkl|pickle|npz|engine|plan|bin|pb)$/i;

const CUDA_TOOLS = new Set([
  'nvcc', 'ptxas', 'fatbinary', 'nvlink', 'cuobjdump', 'nvdisasm', 'cudafe++', 'cicc', 'nvprune', 'cu++filt',
  'bin2c', 'nvprof', 'ncu', 'nsys', 'nv-nsight-cu-cli', 'cuda-gdb', 'cuda-gdbserver', 'compute-sanitizer',
  'cuda-memcheck', 'nvvp', 'nsight', 'nsight-sys', 'ncu-ui', 'crt', 'nvcc.profile', 'cuda-install-samples-11.8.sh',
]);

const CUDA_DIR = /(^|\/)cuda(-[\d.]+)?\//;
const CUDA_HEADER =
  /^(cuda|cudnn|cublas|cufft|curand|cusolver|cusparse|nccl|npp|nvrtc|nvjpeg|cupti|nvToolsExt|nvml|nvperf|cufile|cudart|nvJitLink|nvfunctional)[^/]*\.(h|hpp)$/;
/** Other projects' headers that only mention CUDA (the kernel's Apple ADB cuda.h, boost's CUDA helpers). */
const NOT_CUDA_INCLUDE = /\/include\/(linux|boost|asm[^/]*|eigen3|xsimd)\//;
/** CUDA runtime API headers with generic names: matched by exact name only. */
const CUDA_HEADER_NAMES = new Set([
  'vector_types.h', 'vector_functions.h', 'vector_functions.hpp', 'driver_types.h', 'driver_functions.h',
  'host_defines.h', 'host_config.h', 'device_types.h', 'device_functions.h', 'device_launch_parameters.h',
  'texture_types.h', 'texture_fetch_functions.h', 'surface_types.h', 'surface_functions.h', 'math_functions.h',
  'math_constants.h', 'builtin_types.h', 'channel_descriptor.h', 'common_functions.h', 'library_types.h',
  'sm_20_atomic_functions.h', 'sm_32_intrinsics.h', 'sm_60_atomic_functions.h', 'crt/host_runtime.h',
]);
const CUDA_STATIC = /^lib(cuda|cu|nv|npp|nccl|cudnn|cublas|cufft|curand|cusolver|cusparse|culibos|cudadevrt|metis)[^/]*\.a$/;
const SHARED_LIB = /\.so(\.[\d.]+)?$/;
/**
 * README.md "Kinds": a file with a weight-like extension inside a Python distribution (owned by pip,
 * or under site-/dist-packages) is the package's data, `python`, below this size; from it up, model
 * weights. 10 MiB is far above the data files scientific packages ship (scipy's largest outside its
 * tests, stats/_sobol_direction_numbers.npz, is 576 KiB) and at the size of the smallest checkpoints
 * worth keeping out of an image (a float32 MobileNet); a file below it costs under 0.1 s of pull at
 * 100 MB/s and cannot be split from the package that ships it anyway.
 */
export const PACKAGE_DATA_MAX_BYTES = 10 * 1024 * 1024;

const CUDA_DEVEL_APT =
  /^(nvidia-cuda-toolkit[^ ]*|nvidia-cuda-dev|nvidia-profiler|nvidia-cuda-gdb|nvidia-visual-profiler|nvidia-nsight|nvidia-opencl-dev|nvidia-cuda-toolkit-doc|nvidia-openjdk-8-jre|libnvvm\d*|libcupti-dev|libcupti-doc|lib(cu|nv|npp|nccl|cudnn|cublas|cufft|curand|cusolver|cusparse|thrust|cub)[a-z0-9._+-]*-dev|cuda-(nvcc|toolkit|libraries-dev|command-line-tools|nsight|documentation|sanitizer|gdb|cupti-dev|nvprof|nvprune|nvdisasm|cuobjdump|cuxxfilt|nvml-dev|profiler-api|driver-dev|compiler|cudart-dev|nvrtc-dev|nvtx|nvvp|visual-tools|tools|samples|demo-suite|cccl|crt|nvvm)[a-z0-9._-]*)$/;
const CUDA_DEVEL_PIP = /^(nvidia-cuda-nvcc[a-z0-9-]*|nvidia-cuda-cccl[a-z0-9-]*|nvidia-nvvm[a-z0-9-]*)$/;

const TOOL_BINS = new Set([
  'gcc', 'g++', 'c++', 'cc', 'cpp', 'gfortran', 'cc1', 'cc1plus', 'cc1obj', 'lto1', 'lto-wrapper', 'lto-dump',
  'collect2', 'f951', 'as', 'ld', 'ld.bfd', 'ld.gold', 'gold', 'ar', 'ranlib', 'nm', 'objdump', 'objcopy', 'strip',
  'readelf', 'size', 'strings', 'addr2line', 'c++filt', 'gprof', 'gprofng', 'elfedit', 'dwp', 'make', 'gmake',
  'cmake', 'ctest', 'cpack', 'ccmake', 'ninja', 'meson', 'pkg-config', 'pkgconf', 'clang', 'clang++', 'lld',
  'ld.lld', 'gcc-ar', 'gcc-nm', 'gcc-ranlib', 'gcov', 'gcov-dump', 'gcov-tool', 'autoconf', 'automake', 'libtool',
  'libtoolize', 'm4', 'bison', 'flex', 'yacc',
]);
const TOOL_VERSIONED =
  /^(([a-z0-9_]+-)+(linux|pc|unknown)-[a-z0-9_-]*-)?(gcc|g\+\+|cpp|gfortran|c\+\+|ld|as|ar|nm|ranlib|objdump|objcopy|strip|readelf|clang|clang\+\+|llvm-[a-z0-9-]+|gcc-ar|gcc-nm|gcc-ranlib|gcov[a-z-]*|lto-dump)(-\d+(\.\d+)*)?$/;
const TOOLCHAIN_APT_EXCLUDE = /^(gcc-\d+-base|cpp-\d+-doc|gcc-\d+-doc)$/;
/**
 * Packages that exist for building: compilers, build tools, -dev packages, and the libraries only
 * they load (binutils' libbfd/libctf/libgprofng, gcc's libcc1 and libisl, fakeroot, the sanitizer
 * runtimes that only -fsanitize builds load). Runtime libraries that applications load are not
 * listed (README.md "Kinds"): libgfortran5, libquadmath0, libgomp1, libitm1, libatomic1, libobjc4,
 * libstdc++6, libgcc-s1, libmpfr6/libmpc3 (gawk, gmpy2).
 */
const TOOLCHAIN_APT =
  /^(gcc|g\+\+|cpp|gfortran|gcc-\d+|g\+\+-\d+|cpp-\d+|gfortran-\d+|gcc-\d+-[a-z0-9-]+|cpp-\d+-[a-z0-9-]+|g\+\+-\d+-[a-z0-9-]+|clang[a-z0-9.-]*|llvm[a-z0-9.-]*|lld[a-z0-9.-]*|libclang[a-z0-9.-]*|libllvm[a-z0-9.-]*|binutils[a-z0-9-]*|libbinutils|libctf0|libctf-nobfd0|libgprofng0|libsframe\d*|libasan\d+|libtsan\d+|liblsan\d+|libubsan\d+|libhwasan\d+|libcc1-\d+|libisl\d+|cmake|cmake-data|make|make-guile|ninja-build|meson|pkgconf|pkgconf-bin|pkg-config|libpkgconf\d+|build-essential|dpkg-dev|libdpkg-perl|patch|autoconf|automake|autotools-dev|libtool|m4|bison|flex|libc-dev-bin|linux-libc-dev|rpcsvc-proto|lto-disabled-list|fakeroot|libfakeroot|librhash\d+|libjsoncpp\d+|python3-dev|python3\.\d+-dev|libpython3\.\d+-dev|python3-distutils|python3-lib2to3|[a-z0-9.+-]+-dev)$/;
const TOOLCHAIN_PIP = /^(cmake|ninja|meson|meson-python|scikit-build|scikit-build-core|pybind11|cython)$/;

/** Cache trees at fixed places (tested only on paths starting r/h/v/t/u: most paths cannot match). */
const CACHE_ROOTED =
  /^(root|home\/[^/]+)\/\.(cache|npm|yarn|cargo\/registry|m2\/repository|gradle\/caches|conda\/pkgs)\/|^(var\/cache|var\/lib\/apt\/lists|tmp|var\/tmp|usr\/local\/share\/\.cache)\//;
/** A conda package cache anywhere (tested only on paths containing `pkgs/`). */
const CONDA_PKGS = /(^|\/)(opt\/conda|[^/]*conda[^/]*)\/pkgs\//;
const DOCS =
  /^usr\/(local\/)?share\/(man|info|doc|gtk-doc|help|doc-base)\/|^usr\/share\/locale\/(?!locale\.alias$)|^usr\/share\/i18n\/locales\/|^usr\/lib\/locale\/(?!C\.)/;
const APP_DIRS = /^(app|srv|code|workspace|project|opt\/app|opt\/service|usr\/src\/app|home\/[^/]+\/app)\//;
/**
 * Refinement of rule 1 of README.md "Kinds": weight-like extensions in package-manager databases and caches
 * (apt's pkgcache.bin), firmware blobs and boot files are not model weights.
 */
const NOT_WEIGHTS = /^(var\/(cache|lib)\/|(usr\/)?lib\/firmware\/|boot\/)/;
/** Test fixtures inside Python packages (scipy/special/tests/data/boost.npz) are not model weights. */
const PKG_TESTS = /-packages\/.+\/(tests?|testing)\//;
const HF_CACHE = /(^|\/)\.cache\/huggingface\/|(^|\/)huggingface\/hub\//;

function managerOf(owner: string): string {
  const i = owner.indexOf(':');
  return i < 0 ? owner : owner.slice(0, i);
}

/**
 * Assigns exactly one kind to a file (README.md "Kinds"): the first rule that matches, in the
 * documented order. The owner view and the kind view are independent. `size` is the file's own size
 * (its inode's, whatever a hardlink is charged); unknown, a weight-like file is taken to be large.
 * (Each regex of the rules runs only when a literal it requires is in the path: this runs per file.)
 */
export function classify(
  path: string,
  owner: string,
  layer: number,
  ctx: KindContext,
  base: string = basename(path),
  size: number = Number.POSITIVE_INFINITY,
): Kind {
  const mgr = managerOf(owner);
  const pkg = owner.slice(mgr.length + 1);
  const inSite = path.includes('-packages/');
  // A file of a Python distribution: one pip owns, or any file under site-/dist-packages (the
  // distributions Debian installs there are dpkg's).
  const inPyDist = inSite || mgr === 'pip';

  // 1. model weights
  if (isModelWeights(path, base, inSite, inPyDist, size)) return 'model-weights';

  const dot = base.lastIndexOf('.');
  const ext = dot < 0 ? '' : base.slice(dot + 1);
  const isHeaderExt = ext === 'h' || ext === 'hpp' || ext === 'cuh' || ext === 'hh' || ext === 'hxx' || ext === 'inc' || ext === 'tcc' || ext === 'h++';
  // 2. CUDA devel, 3. CUDA runtime
  const cuda = cudaKind(path, base, ext, isHeaderExt, mgr, pkg, inSite);
  if (cuda) return cuda;
  // 4. toolchain
  if (isToolchain(path, base, ext, isHeaderExt, mgr, pkg, inPyDist)) return 'toolchain';

  // 5. caches
  const c0 = path.charCodeAt(0);
  // r(oot) h(ome) v(ar) t(mp) u(sr/local/share/.cache), or a conda pkgs dir anywhere
  if ((c0 === 114 || c0 === 104 || c0 === 118 || c0 === 116 || c0 === 117) && CACHE_ROOTED.test(path)) return 'caches';
  if (path.includes('pkgs/') && CONDA_PKGS.test(path)) return 'caches';
  if (owner === 'unowned' && path.includes('__pycache__/')) return 'caches';

  // 6. python
  if (mgr === 'pip' || inSite) return 'python';

  // 7. docs
  if (DOCS.test(path)) return 'docs';

  // 8. app: files the image's own COPY/ADD steps put under WORKDIR or /app-like dirs
  if (owner === 'unowned' && ctx.isCopyLayer(layer)) {
    if ((ctx.workdir !== '' && (path.startsWith(`${ctx.workdir}/`) || path === ctx.workdir)) || APP_DIRS.test(path)) return 'app';
  }

  // 9. system: other files of OS packages
  if (mgr === 'apt' || mgr === 'apk' || mgr === 'conda') return 'system';
  return 'other';
}

/** Rule 1: model weights (a Hugging Face cache, or a weight-like extension outside package data, databases and firmware). */
function isModelWeights(path: string, base: string, inSite: boolean, inPyDist: boolean, size: number): boolean {
  if (path.includes('huggingface/') && HF_CACHE.test(path)) return true;
  const w =
    NOT_WEIGHTS.test(path) || (inSite && path.includes('/test') && PKG_TESTS.test(path)) || (inPyDist && size < PACKAGE_DATA_MAX_BYTES)
      ? null
      : WEIGHT_EXT.exec(base);
  if (!w) return false;
  const ext = w[1]!.toLowerCase();
  if (ext === 'bin') return !/(^|\/)s?bin\//.test(path);
  if (ext === 'pb') return !inSite;
  return true;
}

/**
 * Rules 2 and 3: CUDA devel (compilers and tools, headers, static libs, profilers, samples, docs),
 * then CUDA runtime (shared libraries wherever they live); undefined when neither.
 */
function cudaKind(path: string, base: string, ext: string, isHeaderExt: boolean, mgr: string, pkg: string, inSite: boolean): Kind | undefined {
  // The part of the path below a CUDA install dir (/usr/local/cuda-12.4/…); Python packages that are
  // merely named `cuda` (cuda-python's cuda/bindings, cupy_backends/cuda) are not CUDA installs.
  const cm = path.includes('cuda') && !inSite ? CUDA_DIR.exec(path) : null;
  const cudaRest = cm ? path.slice(cm.index + cm[0].length) : '';
  const inCuda = cm !== null;
  if (mgr === 'apt' && CUDA_DEVEL_APT.test(pkg)) return 'cuda-devel';
  if (mgr === 'pip' && CUDA_DEVEL_PIP.test(pkg)) return 'cuda-devel';
  if (CUDA_TOOLS.has(base) && (inCuda || /(^|\/)bin\//.test(path))) return 'cuda-devel';
  if (inCuda && /(^|\/)(include|samples|doc|docs|extras|nsight[^/]*|libnvvp|nvvm|compute-sanitizer|tools|src|bin)\//.test(cudaRest)) {
    return 'cuda-devel';
  }
  if (isHeaderExt || path.includes('/include/')) {
    if (/(^|\/)nvidia\/[^/]+\/include\//.test(path)) return 'cuda-devel';
    if (ext === 'cuh' || ((CUDA_HEADER.test(base) || CUDA_HEADER_NAMES.has(base)) && !NOT_CUDA_INCLUDE.test(path)) || /\/include\/(thrust|cub|cuda|crt|cooperative_groups|nv)\//.test(path)) return 'cuda-devel';
  }
  if (ext === 'a' && (CUDA_STATIC.test(base) || inCuda)) return 'cuda-devel';

  const isShared = base.includes('.so') && SHARED_LIB.test(base);
  if (isShared) {
    if (CUDA_SHARED.test(base)) return 'cuda-runtime';
    if (/(^|\/)nvidia\/[^/]+\/lib\//.test(path)) return 'cuda-runtime';
    if (inCuda && /(^|\/)(lib|lib64|targets\/[^/]+\/lib)\//.test(cudaRest)) return 'cuda-runtime';
  }
  return undefined;
}

/** Rule 4: toolchain (compilers and build tools, headers, static libraries, -dev / build-essential packages). */
function isToolchain(path: string, base: string, ext: string, isHeaderExt: boolean, mgr: string, pkg: string, inPyDist: boolean): boolean {
  if ((path.includes('bin/') || path.includes('gcc')) && (TOOL_BINS.has(base) || TOOL_VERSIONED.test(base))) {
    if (/(^|\/)(s?bin|libexec\/gcc\/[^/]+\/[^/]+)\//.test(path) || /^usr\/lib\/gcc\//.test(path)) return true;
  }
  if (path.startsWith('usr/') && (/^usr\/(local\/)?include\//.test(path) || (path.includes('gcc') && /^usr\/(lib|libexec)\/gcc(-cross)?\//.test(path)) || (path.startsWith('usr/lib/llvm-') && /^usr\/lib\/llvm-[^/]+\//.test(path)))) {
    return true;
  }
  // A package that is itself a build tool is toolchain whole, wherever it installs (pip's cmake, Debian's
  // meson under dist-packages, a -dev package). Nothing else makes a shared library toolchain: the
  // libraries applications load (libgfortran.so.5, unowned copies in /usr/local/lib included) are not.
  if ((mgr === 'apt' && TOOLCHAIN_APT.test(pkg) && !TOOLCHAIN_APT_EXCLUDE.test(pkg)) || (mgr === 'pip' && TOOLCHAIN_PIP.test(pkg))) {
    return true;
  }
  // Headers and static libraries, except inside a Python distribution (numpy's include/, libnpymath.a):
  // those are the distribution's own files, rule 6 `python`.
  return !inPyDist && (isHeaderExt || ext === 'a');
}
