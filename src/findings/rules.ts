import type { Analysis, CacheCategory, EvidenceItem, Finding, Severity } from '../report/types.js';
import { DEFAULT_COMPRESSION_RATIO, DEFAULT_NETWORK_BPS, DEFAULT_UNPACK_BPS } from '../pull-model.js';
import { archSupport, compareVersions, minimumDriver, parseArch } from '../attribute/cuda.js';
import { formatBytes, shortenStep } from '../util/format.js';

export const SEVERITIES: Severity[] = ['high', 'medium', 'low', 'info'];

const GiB = 1024 ** 3;
const kind = (a: Analysis, k: string): number => a.kinds.find((r) => r.kind === k)?.bytes ?? 0;
const topOwners = (a: Analysis, k: string, n = 5): string[] =>
  a.owners
    .filter((o) => (o.kinds as Record<string, number | undefined>)[k])
    .sort((x, y) => ((y.kinds as Record<string, number>)[k] ?? 0) - ((x.kinds as Record<string, number>)[k] ?? 0))
    .slice(0, n)
    .map((o) => o.owner);

type Rule = (a: Analysis) => Finding[];

const cudaDevel: Rule = (a) => {
  const b = kind(a, 'cuda-devel');
  if (b < 1024 * 1024) return [];
  return [{
    id: 'cuda-devel-in-image', severity: 'high', savingBytes: b,
    title: `CUDA development files ship in the image (nvcc, headers, static libraries): ${formatBytes(b)}`,
    evidence: { packages: topOwners(a, 'cuda-devel') },
    fix: 'Build on a CUDA *runtime* base (nvidia/cuda:<version>-runtime-…), or compile in a devel builder stage and COPY --from it only what runs.',
  }];
};

const toolchain: Rule = (a) => {
  const b = kind(a, 'toolchain');
  if (b < 1024 * 1024) return [];
  return [{
    id: 'toolchain-in-image', severity: 'medium', savingBytes: b,
    title: `Compilers and build tools ship in the image: ${formatBytes(b)}`,
    evidence: { packages: topOwners(a, 'toolchain') },
    fix: 'Multi-stage build: install and compile in a builder stage (pip install --prefix=/install …), then in a slim stage COPY --from=builder /install /usr/local.',
  }];
};

const CACHE_FIX: Partial<Record<CacheCategory, string>> = {
  pip: 'pip install --no-cache-dir … (or ENV PIP_NO_CACHE_DIR=1)',
  conda: 'conda clean -afy in the same RUN as conda install',
  'apt-lists': 'rm -rf /var/lib/apt/lists/* in the same RUN as apt-get install',
  'apt-archives': 'apt-get clean in the same RUN as apt-get install (and --no-install-recommends)',
  npm: 'npm ci --omit=dev && npm cache clean --force in the same RUN',
  yarn: 'yarn cache clean in the same RUN',
};

const caches: Rule = (a) => {
  const found = a.evidence.caches.filter((c) => CACHE_FIX[c.category] && c.bytes > 0);
  if (!found.length) return [];
  const b = found.reduce((s, c) => s + c.bytes, 0);
  return [{
    id: 'package-caches', severity: b > 10 * 1024 * 1024 ? 'medium' : 'low', savingBytes: b,
    title: `Package manager caches ship in the image: ${found.map((c) => `${c.category} ${formatBytes(c.bytes)}`).join(', ')}`,
    evidence: { items: found.map((c) => ({ path: c.example })) },
    fix: found.map((c) => CACHE_FIX[c.category]).join('; '),
  }];
};

const waste: Rule = (a) => {
  if (a.totals.wasteBytes < 1024 * 1024) return [];
  const tops = a.waste.topPaths.slice(0, 5);
  return [{
    id: 'layer-waste', severity: a.totals.wasteBytes > 100 * 1024 * 1024 ? 'medium' : 'low', savingBytes: a.totals.wasteBytes,
    title: `Bytes deleted or overwritten by later layers still ship: ${formatBytes(a.totals.wasteBytes)}`,
    evidence: {
      items: tops.map((p) => ({ path: p.path, bytes: p.bytes, layer: p.addedInLayer, ...(p.how === 'deleted' ? { deletedIn: p.hiddenInLayer } : { overwrittenIn: p.hiddenInLayer }) })),
      layers: [...new Set(tops.map((p) => p.addedInLayer))],
    },
    fix: 'Delete in the same RUN that creates the files, or produce them in a builder stage and COPY --from only the result.',
  }];
};

const duplicateCuda: Rule = (a) => {
  const groups = new Map<string, Analysis['evidence']['cudaLibraries']>();
  for (const l of a.evidence.cudaLibraries) {
    const g = groups.get(l.soname) ?? [];
    g.push(l);
    groups.set(l.soname, g);
  }
  const dups = [...groups.values()].filter((g) => g.length > 1 && new Set(g.map((x) => x.owner)).size > 1);
  if (!dups.length) return [];
  const saving = dups.reduce((s, g) => s + g.reduce((t, x) => t + x.bytes, 0) - Math.max(...g.map((x) => x.bytes)), 0);
  return [{
    id: 'duplicate-cuda-libraries', severity: 'medium', savingBytes: saving,
    title: `The same CUDA libraries ship more than once: ${dups.map((g) => `${g[0]!.soname} ×${g.length}`).join(', ')}`,
    evidence: { items: dups.flatMap((g) => g.map((x) => ({ path: x.path, owner: x.owner, bytes: x.bytes }))), packages: [...new Set(dups.flatMap((g) => g.map((x) => x.owner)))] },
    fix: 'Keep one copy: use the CUDA libraries of the pip nvidia-* wheels (or of the base image) and drop the other provider.',
  }];
};

const INSTALL_STEP = /\b(pip3?|python3? -m pip|conda|mamba|micromamba|poetry|uv pip|npm|yarn|apt-get|apk) (install|add|ci|sync)\b/;
const COPY_ALL = /(^|\s)(COPY|ADD)\s+(--[^\s]+\s+)*(\.|\.\/|dir:[0-9a-f]+)\s+\S+/;

const layerOrder: Rule = (a) => {
  const steps = a.history.map((h, i) => ({ i, s: h.createdBy }));
  const copy = steps.find((x) => COPY_ALL.test(x.s.replace(/^\/bin\/sh -c #\(nop\)\s*/, '')) && !/--from=/.test(x.s));
  if (!copy) return [];
  const install = steps.find((x) => x.i > copy.i && INSTALL_STEP.test(x.s));
  if (!install) return [];
  return [{
    id: 'layer-order', severity: 'medium', savingBytes: null,
    title: 'The application is copied before dependencies are installed: every code change re-runs the install',
    evidence: { steps: [copy.i, install.i], detail: `step ${copy.i + 1} \`${shortenStep(copy.s, 80)}\` comes before step ${install.i + 1} \`${shortenStep(install.s, 80)}\`` },
    fix: 'COPY requirements.txt . && RUN pip install -r requirements.txt first, then COPY . . (so the install layer is cached).',
  }];
};

/** Config.User empty, 0 or root (with or without a group). */
function isRoot(user: string): boolean {
  return user === '' || user === '0' || user === 'root' || /^(0|root):/.test(user);
}

const root: Rule = (a) => {
  const u = a.image.user.trim();
  if (!isRoot(u)) return [];
  return [{
    id: 'runs-as-root', severity: 'medium', savingBytes: null, title: 'The container runs as root',
    evidence: { detail: `Config.User is ${u ? `'${u}'` : 'empty'}` },
    fix: 'RUN useradd --system --uid 10001 app, then USER app.',
  }];
};

const healthcheck: Rule = (a) => {
  const t = a.image.healthcheck?.Test;
  if (t && t.length > 0 && t[0] !== 'NONE') return [];
  return [{
    id: 'no-healthcheck', severity: 'low', savingBytes: null, title: 'No HEALTHCHECK: orchestrators cannot tell when the service is ready',
    evidence: {},
    fix: 'HEALTHCHECK CMD python3 -c "import urllib.request; urllib.request.urlopen(\'http://127.0.0.1:8000/health\')"',
  }];
};

const basePin: Rule = (a) => {
  const name = a.image.labels['org.opencontainers.image.base.name'];
  if (!name || a.image.labels['org.opencontainers.image.base.digest'] || name.includes('@sha256:')) return [];
  return [{
    id: 'base-not-pinned', severity: 'low', savingBytes: null, title: `The base image ${name} is not pinned by digest`,
    evidence: { detail: `label org.opencontainers.image.base.name=${name}` },
    fix: `FROM ${name.split('@')[0]}@sha256:<digest> (docker buildx imagetools inspect ${name} gives it).`,
  }];
};

const models: Rule = (a) => {
  const total = kind(a, 'model-weights');
  if (total < 1024 * 1024) return [];
  const top = a.evidence.models.slice(0, 5);
  const layers = [...new Set(top.map((m) => m.layer))];
  const firstCopy = a.layers.findIndex((l) => /(^|\s)(COPY|ADD)\s/.test(l.createdBy) && !/ADD file:[0-9a-f]+ in \/\s*$/.test(l.createdBy));
  const afterCode = firstCopy >= 0 && layers.some((l) => l > firstCopy);
  const big = total > 2 * GiB;
  return [{
    id: 'baked-model-weights', severity: big ? 'medium' : 'info', savingBytes: big ? total : null,
    title: `Model weights are baked into the image: ${formatBytes(total)}${afterCode ? ', in a layer after the application code (rebuilt and re-pushed on every code change)' : ''}`,
    evidence: { items: top.map((m) => ({ path: m.path, bytes: m.bytes, layer: m.layer })), layers },
    fix: big
      ? 'Keep weights out of the image: download them at start from a model store (S3/GCS/HF) into a cached volume.'
      : 'Put the weights in a dedicated early stage/layer (COPY --from=weights …) before the application code.',
  }];
};

const SCI = /^pip:(numpy|scipy|pandas|torch|tensorflow|scikit-learn|jax|jaxlib)$/;
const musl: Rule = (a) => {
  if (a.evidence.os.libc !== 'musl') return [];
  const pkgs = a.owners.filter((o) => SCI.test(o.owner) && o.bytes > 0).map((o) => o.owner);
  if (!pkgs.length) return [];
  return [{
    id: 'musl-scientific-python', severity: 'medium', savingBytes: null,
    title: 'Scientific Python on Alpine/musl: no manylinux wheels, so packages are built from source or come from slower musl builds',
    evidence: { packages: pkgs, detail: `os ${a.evidence.os.id} ${a.evidence.os.versionId}, musl libc` },
    fix: 'Use a glibc base (python:3.11-slim, debian/ubuntu) so pip installs the prebuilt manylinux wheels.',
  }];
};

const sensitive: Rule = (a) => {
  const out: Finding[] = [];
  const byCat = (cats: string[]) => a.evidence.sensitive.filter((s) => cats.includes(s.category));
  const describe = (s: Analysis['evidence']['sensitive'][number]): EvidenceItem => ({ path: s.path, layer: s.layer, visible: s.visible, ...(s.privateKey ? { privateKey: true } : {}) });
  const secrets = byCat(['secret', 'private-key']).filter((s) => s.category === 'secret' || s.privateKey || /(^|\/)id_[a-z0-9]+$/.test(s.path));
  if (secrets.length) {
    out.push({
      id: 'secrets-in-image', severity: 'high', savingBytes: null,
      title: `Secrets ship in the image (${secrets.length}): anyone who can pull it can read them, even where a later layer deleted them`,
      evidence: { items: secrets.map(describe), layers: [...new Set(secrets.map((s) => s.layer))] },
      fix: 'Add them to .dockerignore; pass build-time secrets with RUN --mount=type=secret and runtime ones as environment/secret mounts; rotate what shipped.',
    });
  }
  const other = byCat(['vcs', 'notebook', 'experiment', 'data']);
  if (other.length) {
    const b = other.reduce((s, x) => s + x.bytes, 0);
    out.push({
      id: 'unwanted-files', severity: 'medium', savingBytes: b,
      title: `Files that should not ship: ${[...new Set(other.map((s) => s.category))].join(', ')} (${formatBytes(b)})`,
      evidence: { items: other.slice(0, 10).map(describe), layers: [...new Set(other.map((s) => s.layer))] },
      fix: 'Add .git, notebooks, wandb/, runs/, mlruns/ and data/ to .dockerignore, and COPY only what the service needs.',
    });
  }
  return out;
};

/** pip wheels that provide a CUDA library, for the fix line. */
const WHEEL_FOR: Array<[RegExp, string]> = [
  [/^libcudnn/, 'nvidia-cudnn-cuXX'], [/^libcublas/, 'nvidia-cublas-cuXX'], [/^libcufft/, 'nvidia-cufft-cuXX'],
  [/^libcurand/, 'nvidia-curand-cuXX'], [/^libcusolver/, 'nvidia-cusolver-cuXX'], [/^libcusparse/, 'nvidia-cusparse-cuXX'],
  [/^libnccl/, 'nvidia-nccl-cuXX'], [/^libnvrtc/, 'nvidia-cuda-nvrtc-cuXX'], [/^libcudart/, 'nvidia-cuda-runtime-cuXX'],
  [/^libnvJitLink/, 'nvidia-nvjitlink-cuXX'], [/^libcupti/, 'nvidia-cuda-cupti-cuXX'], [/^libnvToolsExt/, 'nvidia-nvtx-cuXX'],
];

const missingLibraries: Rule = (a) => {
  const sl = a.evidence.sharedLibraries;
  if (!sl) return [];
  const out: Finding[] = [];
  const absent = sl.missing.filter((m) => m.elsewhere.length === 0);
  const offPath = sl.missing.filter((m) => m.elsewhere.length > 0);
  const group = (l: typeof sl.missing) => {
    const g = new Map<string, typeof sl.missing>();
    for (const m of l) g.set(m.needed, [...(g.get(m.needed) ?? []), m]);
    return [...g.entries()];
  };
  if (absent.length) {
    const groups = group(absent);
    const wheels = [...new Set(groups.flatMap(([n]) => WHEEL_FOR.filter(([re]) => re.test(n)).map(([, w]) => w)))];
    out.push({
      id: 'missing-shared-libraries', severity: 'high', savingBytes: null,
      title: `Shared libraries that Python packages need are nowhere in the image: ${groups.map(([n]) => n).join(', ')} (importing them fails with "cannot open shared object file")`,
      evidence: {
        items: groups.flatMap(([n, l]) => l.slice(0, 3).map((m) => ({ path: m.path, needed: n, owner: m.owner }))).slice(0, 20),
        packages: [...new Set(absent.map((m) => m.owner))],
      },
      fix: wheels.length
        ? `Install the providers: pip install ${wheels.join(' ')} (XX = your CUDA major), or build on a base image that ships them; check with \`ldd\` in the container.`
        : 'Install the package that provides each library (apt-get install … / the matching pip wheel), or build on a base image that has them; check with `ldd` in the container.',
    });
  }
  if (offPath.length) {
    const groups = group(offPath);
    out.push({
      id: 'shared-libraries-off-path', severity: 'low', savingBytes: null,
      title: `Shared libraries in the image but not on the loader's search path: ${groups.map(([n]) => n).join(', ')} (they load only if something loaded them first)`,
      evidence: { items: groups.slice(0, 10).map(([n, l]) => ({ path: l[0]!.path, needed: n, owner: l[0]!.owner, foundAt: l[0]!.elsewhere[0]! })) },
      fix: 'Put their directory on the search path: ENV LD_LIBRARY_PATH=… or a file in /etc/ld.so.conf.d/ followed by ldconfig.',
    });
  }
  return out;
};

/** Fatbins with less device code than this are ignored by the architecture rules. */
export const MIN_DEVICE_CODE = 64 * 1024;

function codeBytes(f: { sass: Record<string, number>; ptx: Record<string, number> }): number {
  return [...Object.values(f.sass), ...Object.values(f.ptx)].reduce((a, b) => a + b, 0);
}

/** Bytes of the code a GPU of `target` would load from this fatbin: the best SASS, else the best PTX. */
function usedBytes(f: { sass: Record<string, number>; ptx: Record<string, number> }, target: number): number {
  const major = Math.floor(target / 10);
  let best: [number, number] | undefined;
  for (const [k, v] of Object.entries(f.sass)) {
    const a = parseArch(k);
    if (a !== undefined && Math.floor(a / 10) === major && a <= target && (!best || a > best[0])) best = [a, v];
  }
  if (!best) {
    for (const [k, v] of Object.entries(f.ptx)) {
      const a = parseArch(k);
      if (a !== undefined && a <= target && (!best || a > best[0])) best = [a, v];
    }
  }
  return best?.[1] ?? 0;
}

const cudaConsistency: Rule = (a) => {
  const c = a.evidence.cuda;
  if (!c) return [];
  const out: Finding[] = [];
  const majors = new Set(c.runtimes.map((r) => r.version.split('.')[0]));
  const runtimeList = [...new Set(c.runtimes.map((r) => r.version))].sort(compareVersions);
  for (const f of c.frameworks) {
    if (!f.cuda) continue;
    const major = f.cuda.split('.')[0];
    if (majors.has(major)) continue;
    out.push({
      id: 'cuda-version-mismatch', severity: 'high', savingBytes: null,
      title: `${f.name}${f.version ? ` ${f.version}` : ''} was built for CUDA ${f.cuda}, but ${runtimeList.length ? `the image's CUDA runtime is ${runtimeList.join(', ')}` : 'the image has no CUDA runtime (libcudart)'}`,
      evidence: { detail: `${f.name} CUDA version from ${f.source}`, items: c.runtimes.slice(0, 5).map((r) => ({ path: r.path, version: r.version, owner: r.owner })) },
      fix: `Use a CUDA ${major}.x runtime base (nvidia/cuda:${f.cuda}.x-runtime-…) or the ${f.name} build for the image's CUDA (pip install ${f.name} --index-url https://download.pytorch.org/whl/cuXXX).`,
    });
  }
  const versions = [...c.frameworks.map((f) => f.cuda).filter((v): v is string => !!v), ...c.runtimes.map((r) => r.version)];
  if (versions.length) {
    const top = versions.sort(compareVersions)[versions.length - 1]!;
    const d = minimumDriver(top);
    if (d.minorCompat || d.toolkit) {
      out.push({
        id: 'cuda-driver-requirement', severity: 'info', savingBytes: null,
        title: `Needs an NVIDIA driver ≥ ${d.minorCompat ?? d.toolkit} on the host (CUDA ${top}${d.toolkit && d.minorCompat ? `; ≥ ${d.toolkit} for every CUDA ${top} feature and PTX JIT` : ''})`,
        evidence: { versions: [...new Set(versions)], detail: `highest CUDA version in the image: ${top} (${[...new Set(versions)].join(', ')})` },
        fix: 'Check nvidia-smi on the target nodes (or pin the node pool\'s driver) before deploying.',
      });
    }
  }
  const target = c.targetArch ? parseArch(c.targetArch) : undefined;
  // Only libraries with real device code: static cudart links a ~1 KiB stub kernel into many libraries.
  const fatbins = c.fatbins.filter((f) => codeBytes(f) >= MIN_DEVICE_CODE);
  if (target !== undefined && fatbins.length) {
    const none = fatbins.filter((f) => archSupport(f, target) === 'none');
    const ptx = fatbins.filter((f) => archSupport(f, target) === 'ptx');
    const archs = (f: (typeof c.fatbins)[number]): EvidenceItem => ({ path: f.path, owner: f.owner, sass: Object.keys(f.sass).sort(), ptx: Object.keys(f.ptx).sort() });
    if (none.length) {
      out.push({
        id: 'gpu-arch-unsupported', severity: 'high', savingBytes: null,
        title: `${none.length} CUDA librar${none.length > 1 ? 'ies have' : 'y has'} no kernels for ${c.targetArch} ("no kernel image is available for execution on the device")`,
        evidence: { items: none.slice(0, 10).map(archs) },
        fix: `Install builds that include ${c.targetArch} (a newer CUDA/framework release, or TORCH_CUDA_ARCH_LIST / -gencode arch=compute_${target},code=sm_${target} for your own extensions).`,
      });
    }
    if (ptx.length) {
      out.push({
        id: 'gpu-arch-ptx-only', severity: 'medium', savingBytes: null,
        title: `${ptx.length} CUDA librar${ptx.length > 1 ? 'ies run' : 'y runs'} on ${c.targetArch} only through PTX JIT: the first start compiles their kernels (seconds to minutes)`,
        evidence: { items: ptx.slice(0, 10).map(archs) },
        fix: `Use builds with ${c.targetArch} SASS, or keep the JIT cache across starts (CUDA_CACHE_PATH on a volume, CUDA_CACHE_MAXSIZE large enough).`,
      });
    }
    let unused = 0;
    let total = 0;
    for (const f of fatbins) {
      const t = codeBytes(f);
      total += t;
      unused += t - usedBytes(f, target);
    }
    if (unused > 0) {
      out.push({
        id: 'unused-gpu-archs', severity: 'info', savingBytes: null,
        title: `${formatBytes(unused)} of the ${formatBytes(total)} of GPU code in CUDA libraries is for architectures a ${c.targetArch} GPU never runs`,
        evidence: { items: fatbins.slice(0, 5).map(archs) },
        fix: `Vendor libraries cannot be pruned, but your own extensions can target only what you deploy (TORCH_CUDA_ARCH_LIST="${Math.floor(target / 10)}.${target % 10}").`,
      });
    }
  }
  return out;
};

const bytecode: Rule = (a) => {
  const b = a.evidence.bytecode;
  if (!b || b.withoutBytecode < 50 || b.withoutBytecode < 0.25 * b.sourceFiles) return [];
  const env = a.image.env.find((e) => e.startsWith('PYTHONDONTWRITEBYTECODE='));
  const user = a.image.user.trim();
  const nonRoot = !isRoot(user);
  return [{
    id: 'missing-bytecode', severity: 'medium', savingBytes: null,
    title: `${b.withoutBytecode} of ${b.sourceFiles} Python source files (${formatBytes(b.withoutBytecodeBytes)}) ship without compiled bytecode: every container start compiles the modules it imports again`,
    evidence: {
      items: b.examples.map((p) => ({ path: p })),
      detail: [
        'a container starts from the image, so bytecode compiled at run time is lost with the container',
        ...(nonRoot ? [`USER ${user} usually cannot write __pycache__ under the package directories at all`] : []),
        ...(env ? [env] : []),
      ].join('; '),
    },
    fix: `Keep __pycache__ (do not delete *.pyc when slimming), or compile in the final stage: RUN python3 -m compileall -q -j0 ${(b.roots?.length ? b.roots.slice(0, 4).map((r) => `/${r}`) : ['/usr/local/lib/python3.*/']).join(' ')} (a few MiB more, seconds less at every start).`,
  }];
};

const RULES: Rule[] = [bytecode, cudaDevel, toolchain, caches, waste, duplicateCuda, models, layerOrder, root, healthcheck, basePin, musl, sensitive, missingLibraries, cudaConsistency];

/** Seconds a byte saving takes off a pull: its compressed share over the network plus unpacking. */
export function pullSeconds(a: Analysis, bytes: number): number {
  const t = a.totals;
  const m = a.evidence.pullModel ?? {
    networkBytesPerSec: DEFAULT_NETWORK_BPS,
    unpackBytesPerSec: DEFAULT_UNPACK_BPS,
    compressionRatio: t.compressedBytes !== null && t.imageBytes > 0 ? Math.min(1, t.compressedBytes / t.imageBytes) : DEFAULT_COMPRESSION_RATIO,
  };
  const s = (bytes * m.compressionRatio) / m.networkBytesPerSec + bytes / m.unpackBytesPerSec;
  return Math.round(s * 10) / 10;
}

const rank = (s: Severity): number => SEVERITIES.indexOf(s);

/** Every rule over the Analysis, ranked by bytes saved, then severity. */
export function computeFindings(a: Analysis): Finding[] {
  return RULES.flatMap((r) => r(a)).map((f) => ({ ...f, savingSeconds: f.savingBytes === null ? null : pullSeconds(a, f.savingBytes) })).sort((x, y) => (y.savingBytes ?? 0) - (x.savingBytes ?? 0) || rank(x.severity) - rank(y.severity) || (x.id < y.id ? -1 : 1));
}

/** --fail-on: finding ids and/or a severity (that severity or worse). */
export function failingFindings(findings: Finding[], spec: string): Finding[] {
  const parts = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const sev = parts.filter((p) => (SEVERITIES as string[]).includes(p)) as Severity[];
  const worst = sev.length ? Math.max(...sev.map(rank)) : -1;
  const ids = new Set(parts.filter((p) => !(SEVERITIES as string[]).includes(p)));
  return findings.filter((f) => ids.has(f.id) || rank(f.severity) <= worst);
}
