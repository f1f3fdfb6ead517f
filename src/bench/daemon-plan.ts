/**
 * What the bench's daemon image holds (`npm run bench`, the docker-daemon row): a pure, deterministic
 * plan of four layers shaped like an ML image. An apt base (a dpkg status and info/*.list for every
 * package), CUDA-like shared libraries that a later apt layer adds (it rewrites the status), a pip
 * layer of many small modules with a dist-info RECORD per package and two big torch-like libraries,
 * and an app layer with model weights. About 90% of the bytes are in some twenty big files, the
 * count in small ones, as in the CUDA samples.
 *
 * The plan is what the generator writes (daemon-image.ts) and what the analysis must report: every
 * expected figure (files, final bytes, each layer's tar size) is computed here from the plan alone.
 */

/** A regular file: its body is `text` when given (size = its UTF-8 length), else `size` filler bytes. */
export interface PlanFile {
  path: string;
  size: number;
  text?: string;
}

export interface PlanLayer {
  createdBy: string;
  /** Directories, parents first, written before the files. */
  dirs: string[];
  files: PlanFile[];
}

export interface DaemonPlan {
  layers: PlanLayer[];
  /** Regular files in the merged image (a later layer's file replaces an earlier one's at the same path). */
  files: number;
  /** Their bytes. */
  finalBytes: number;
  /** Of them, the bytes dpkg lists (apt packages) and pip RECORDs list (dist-info included). */
  ownedBytes: { apt: number; pip: number };
}

/** Paths stay under the ustar name field (100 bytes), so every entry is one 512-byte header. */
const MAX_PATH = 99;
const SITE = 'usr/local/lib/python3.11/site-packages';
const CUDA_LIB = 'usr/local/cuda-12.4/targets/x86_64-linux/lib';

/** Deterministic skewed small-file sizes (most small, a few tens of KiB), mean ≈ `mean`. */
function smallSize(i: number, mean: number): number {
  const r = ((Math.imul(i + 1, 2654435761) >>> 0) % 1_000_003) / 1_000_003;
  return Math.floor(mean * -Math.log(1 - r * 0.999));
}

function file(path: string, size: number): PlanFile {
  if (path.length > MAX_PATH) throw new Error(`bench plan: path over ${MAX_PATH} bytes: ${path}`);
  return { path, size };
}

function textFile(path: string, text: string): PlanFile {
  return { ...file(path, 0), size: Buffer.byteLength(text), text };
}

/** Every parent directory of the files, parents first. */
function parents(files: PlanFile[]): string[] {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs].sort();
}

interface DpkgPkg {
  name: string;
  files: PlanFile[];
}

function dpkgStatus(pkgs: DpkgPkg[]): string {
  return pkgs
    .map((p) => {
      const kib = Math.ceil(p.files.reduce((n, f) => n + f.size, 0) / 1024);
      return `Package: ${p.name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0-1\nInstalled-Size: ${kib}\nDescription: bench package ${p.name}\n`;
    })
    .join('\n');
}

/** A package's info/<name>.list: its directories and files, absolute, as dpkg writes them. */
function dpkgList(p: DpkgPkg): string {
  return ['/.', ...parents(p.files).map((d) => `/${d}`), ...p.files.map((f) => `/${f.path}`)].join('\n') + '\n';
}

/** Splits `count` small files of mean size `mean` over `pkgs` packages; `at(pkg, i)` names file i of a package. */
function smallFiles(count: number, pkgs: number, mean: number, seed: number, at: (pkg: number, i: number) => string): PlanFile[][] {
  const out: PlanFile[][] = Array.from({ length: pkgs }, () => []);
  for (let i = 0; i < count; i++) out[i % pkgs]!.push(file(at(i % pkgs, Math.floor(i / pkgs)), smallSize(i + seed, mean)));
  return out;
}

/** Splits `bytes` over files by weight, the rounding left to the last. */
function bigFiles(bytes: number, named: Array<[string, number]>): PlanFile[] {
  const total = named.reduce((n, [, w]) => n + w, 0);
  let left = bytes;
  return named.map(([path, w], i) => {
    const size = i === named.length - 1 ? left : Math.floor((bytes * w) / total);
    left -= size;
    return file(path, size);
  });
}

function layer(createdBy: string, files: PlanFile[]): PlanLayer {
  return { createdBy, dirs: parents(files), files };
}

const BASE_PKGS = ['libc6', 'libssl3', 'libstdc++6', 'coreutils', 'perl-base', 'libpython3.11', 'python3.11', 'libgcc-s1', 'zlib1g', 'libsqlite3-0', 'libncursesw6', 'bash', 'tar', 'gzip', 'findutils', 'grep', 'sed', 'libcurl4', 'ca-certificates', 'locales'];

/** The apt base: packages with libraries, binaries and docs, each listed by dpkg. */
function basePackages(count: number, mean: number): DpkgPkg[] {
  const at = (p: number, i: number): string => {
    const name = BASE_PKGS[p]!;
    if (i % 3 === 0) return `usr/lib/x86_64-linux-gnu/${name}/lib${i}.so.1`;
    if (i % 3 === 1) return `usr/share/doc/${name}/doc${i}.txt`;
    return `usr/bin/${name}-${i}`;
  };
  return smallFiles(count, BASE_PKGS.length, mean, 0, at).map((files, p) => ({ name: BASE_PKGS[p]!, files }));
}

/** CUDA-like libraries and headers, installed by apt in a later layer. */
function cudaPackages(count: number, mean: number, bytes: number): DpkgPkg[] {
  const libs = bigFiles(bytes, [
    [`${CUDA_LIB}/libcublasLt.so.12.4.5.8`, 5],
    [`${CUDA_LIB}/libcublas.so.12.4.5.8`, 1],
    [`${CUDA_LIB}/libcufft.so.11.2.1.3`, 2],
    [`${CUDA_LIB}/libcusparse.so.12.3.1.170`, 2],
    [`${CUDA_LIB}/libcurand.so.10.3.5.147`, 1],
    [`usr/lib/x86_64-linux-gnu/libcudnn_engines_precompiled.so.9.1.0`, 3],
    [`usr/lib/x86_64-linux-gnu/libcudnn_adv.so.9.1.0`, 1],
    [`usr/lib/x86_64-linux-gnu/libnccl.so.2.21.5`, 2],
  ]);
  const headers = smallFiles(count, 1, mean, 1, (_p, i) => `usr/local/cuda-12.4/targets/x86_64-linux/include/h${i % 40}/api_${i}.h`)[0]!;
  return [
    { name: 'cuda-libraries-12-4', files: libs.slice(0, 5) },
    { name: 'libcudnn9-cuda-12', files: libs.slice(5, 7) },
    { name: 'libnccl2', files: libs.slice(7) },
    { name: 'cuda-cudart-dev-12-4', files: headers },
  ];
}

const PIP_PKGS = ['torch', 'numpy', 'scipy', 'pandas', 'transformers', 'tokenizers', 'safetensors', 'sympy', 'networkx', 'jinja2', 'requests', 'urllib3', 'pyyaml', 'regex', 'tqdm', 'filelock', 'fsspec', 'huggingface_hub', 'pillow', 'triton', 'nvidia_cublas_cu12', 'setuptools', 'pip', 'packaging', 'idna', 'certifi', 'charset_normalizer', 'markupsafe', 'mpmath', 'typing_extensions'];

/** The pip layer: each package's modules, two big torch libraries and a wheel's copy of cuBLAS, and a RECORD naming them all. */
function pipFiles(count: number, mean: number, bytes: number): PlanFile[] {
  const mods = smallFiles(count, PIP_PKGS.length, mean, 2, (p, i) => `${SITE}/${PIP_PKGS[p]!.replace(/_cu12$/, '')}/sub${i % 50}/module_${i}.py`);
  const big = bigFiles(bytes, [
    [`${SITE}/torch/lib/libtorch_cuda.so`, 3],
    [`${SITE}/torch/lib/libtorch_cpu.so`, 2],
    [`${SITE}/nvidia/cublas/lib/libcublasLt.so.12`, 2],
  ]);
  mods[0]!.push(...big.slice(0, 2));
  mods[PIP_PKGS.indexOf('nvidia_cublas_cu12')]!.push(big[2]!);
  const out: PlanFile[] = [];
  PIP_PKGS.forEach((name, p) => {
    const info = `${SITE}/${name}-1.0.0.dist-info`;
    const meta = [textFile(`${info}/METADATA`, `Metadata-Version: 2.1\nName: ${name}\nVersion: 1.0.0\n`), textFile(`${info}/WHEEL`, 'Wheel-Version: 1.0\nRoot-Is-Purelib: false\n')];
    const rel = (f: PlanFile): string => f.path.slice(SITE.length + 1);
    const rows = [...mods[p]!, ...meta].map((f) => `${rel(f)},sha256=AAAA,${f.size}`);
    rows.push(`${name}-1.0.0.dist-info/RECORD,,`);
    out.push(...mods[p]!, ...meta, textFile(`${info}/RECORD`, rows.join('\n') + '\n'));
  });
  return out;
}

/** The app: its code and a sharded model. */
function appFiles(count: number, mean: number, bytes: number): PlanFile[] {
  const code = smallFiles(count, 1, mean, 3, (_p, i) => `opt/app/src/part${i % 20}/handler_${i}.py`)[0]!;
  const weights = bigFiles(bytes, [1, 2, 3].map((k): [string, number] => [`opt/models/llm/model-0000${k}-of-00003.safetensors`, 1]));
  return [...code, ...weights, textFile('opt/models/llm/config.json', '{"architectures":["BenchForCausalLM"],"hidden_size":4096}\n')];
}

/**
 * The plan for about `totalBytes` of content in about `files` files (both at least what is asked: the
 * metadata files come on top). Small files have a mean of 10 KiB; the bytes left go to the big ones.
 */
export function daemonPlan(totalBytes: number, files: number): DaemonPlan {
  const mean = 10 * 1024;
  const share = (f: number): number => Math.max(1, Math.round(files * f));
  const counts = { base: share(0.2), cuda: share(0.05), pip: share(0.7), app: share(0.05) };
  // the small files' bytes, so that the big ones take what is left (0 when the small ones fill it)
  const smallBytes = mean * (counts.base + counts.cuda + counts.pip + counts.app);
  const big = Math.max(0, totalBytes - smallBytes);
  const base = basePackages(counts.base, mean);
  const cuda = cudaPackages(counts.cuda, mean, Math.floor(big * 0.4));
  const dpkgFiles = (pkgs: DpkgPkg[], all: DpkgPkg[]): PlanFile[] => [
    ...pkgs.flatMap((p) => p.files),
    ...pkgs.map((p) => textFile(`var/lib/dpkg/info/${p.name}.list`, dpkgList(p))),
    textFile('var/lib/dpkg/status', dpkgStatus(all)),
  ];
  const layers = [
    layer('/bin/sh -c #(nop) ADD file:bench-rootfs.tar in /', dpkgFiles(base, base)),
    layer('/bin/sh -c apt-get install -y cuda-libraries-12-4 libcudnn9-cuda-12 libnccl2', dpkgFiles(cuda, [...base, ...cuda])),
    layer('/bin/sh -c pip install torch transformers', pipFiles(counts.pip, mean, Math.floor(big * 0.25))),
    layer('COPY app /opt/app', appFiles(counts.app, mean, big - Math.floor(big * 0.4) - Math.floor(big * 0.25))),
  ];
  const final = new Map<string, number>();
  for (const l of layers) for (const f of l.files) final.set(f.path, f.size);
  let finalBytes = 0;
  for (const s of final.values()) finalBytes += s;
  const sum = (fs: PlanFile[]): number => fs.reduce((n, f) => n + f.size, 0);
  const apt = sum([...base, ...cuda].flatMap((p) => p.files));
  return { layers, files: final.size, finalBytes, ownedBytes: { apt, pip: sum(layers[2]!.files) } };
}

/** The size of a layer's tar: a 512-byte header per entry, bodies padded to 512, two zero blocks at the end. */
export function layerTarSize(l: PlanLayer): number {
  let n = 1024 + 512 * l.dirs.length;
  for (const f of l.files) n += 512 + Math.ceil(f.size / 512) * 512;
  return n;
}
