/**
 * CUDA facts: which CUDA runtime versions an image carries, which CUDA version its frameworks were
 * built for, the driver each needs, and whether a GPU architecture has kernels in a fatbin.
 */

/** `libcudart.so.11.8.89` → 11.8; `libcudart-9335f6a2.so.12` → 12; other names → undefined. */
export function cudartVersionFromName(name: string): string | undefined {
  const m = /^libcudart(?:-[0-9a-f]{8})?\.so\.(\d+)(?:\.(\d+))?/.exec(name);
  if (!m) return undefined;
  // libcudart.so.11.0 is the soname of every 11.x runtime: its minor says nothing.
  if (m[2] !== undefined && !(m[2] === '0' && /^libcudart\.so\.\d+\.0$/.test(name))) return `${m[1]}.${m[2]}`;
  return m[1];
}

export function isCudart(name: string): boolean {
  return /^libcudart(?:-[0-9a-f]{8})?\.so\.\d/.test(name);
}

/** `+cu121` → 12.1, `+cu118` → 11.8, `+cu92` → 9.2, `+cu130` → 13.0; undefined without a CUDA tag. */
export function cudaFromLocalVersion(version: string | undefined): string | undefined {
  const m = /\+cu(\d{2,3})\b/.exec(version ?? '');
  if (!m) return undefined;
  const d = m[1]!;
  return `${d.slice(0, -1)}.${d.slice(-1)}`;
}

/**
 * torch/version.py: `cuda: Optional[str] = '12.1'` (CUDA build) or `= None` (CPU build).
 * Returns the version, null for a CPU build, undefined when the file does not say.
 */
export function torchCudaFromVersionPy(body: string): string | null | undefined {
  const m = /^cuda\s*(?::[^=\n]*)?=\s*(?:'([^']*)'|"([^"]*)"|(None))/m.exec(body);
  if (!m) return undefined;
  if (m[3]) return null;
  return m[1] ?? m[2] ?? null;
}

/** tensorflow/python/platform/build_info.py: `'cuda_version': '12.3'` and `'is_cuda_build': True`. */
export function tfCudaFromBuildInfo(body: string): string | null | undefined {
  const v = /['"]cuda_version['"]\s*:\s*['"]([\d.]+)['"]/.exec(body);
  if (v) return v[1]!;
  if (/['"]is_cuda_build['"]\s*:\s*False/.test(body)) return null;
  return undefined;
}

/** The CUDA major a pip package targets by its name (nvidia-cublas-cu12, cupy-cuda12x, jax-cuda12-plugin). */
export function cudaMajorFromPipName(name: string): string | undefined {
  const m = /^(?:nvidia-[a-z0-9-]+-cu(\d+)|cupy-cuda(\d+)x?|jax-cuda(\d+)-(?:plugin|pjrt)|jaxlib-cuda(\d+))$/.exec(name);
  return m ? (m[1] ?? m[2] ?? m[3] ?? m[4]) : undefined;
}

/**
 * Minimum Linux driver per CUDA version (NVIDIA CUDA Toolkit release notes, "CUDA Toolkit and
 * Corresponding Driver Versions"): `minorCompat` is the floor for the whole major release under minor
 * version compatibility (limited feature set, no PTX JIT of newer PTX); `toolkit` is the driver the
 * toolkit shipped with (every feature).
 */
const TOOLKIT_DRIVER: Record<string, string> = {
  '11.0': '450.36.06', '11.1': '455.23', '11.2': '460.27.03', '11.3': '465.19.01', '11.4': '470.42.01',
  '11.5': '495.29.05', '11.6': '510.39.01', '11.7': '515.43.04', '11.8': '520.61.05',
  '12.0': '525.60.13', '12.1': '530.30.02', '12.2': '535.54.03', '12.3': '545.23.06', '12.4': '550.54.14',
  '12.5': '555.42.02', '12.6': '560.28.03', '12.8': '570.26', '12.9': '575.51.03', '13.0': '580.65.06',
};
const MINOR_COMPAT: Record<string, string> = { '11': '450.80.02', '12': '525.60.13', '13': '580.65.06' };

export function minimumDriver(cuda: string): { minorCompat: string | null; toolkit: string | null } {
  const [maj, min] = cuda.split('.');
  return { minorCompat: MINOR_COMPAT[maj ?? ''] ?? null, toolkit: min !== undefined ? (TOOLKIT_DRIVER[`${maj}.${min}`] ?? null) : null };
}

/** Compares dotted versions numerically. */
export function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** `sm_89` / `sm_90a` / `8.9` / `compute_80` → 89 / 90 / 89 / 80; undefined when unparsable. */
export function parseArch(s: string): number | undefined {
  const t = s.trim().toLowerCase();
  let m = /^(?:sm|compute)_(\d{2,3})[af]?$/.exec(t);
  if (m) return Number(m[1]);
  m = /^(\d{1,2})\.(\d)$/.exec(t);
  if (m) return Number(m[1]) * 10 + Number(m[2]);
  return undefined;
}

/**
 * Whether a fatbin has code for the target architecture: SASS built for the same major and a minor at
 * most the target's runs as is; otherwise PTX for an architecture at most the target's is JIT-compiled by
 * the driver at first use; otherwise the kernel launch fails with "no kernel image is available".
 */
export function archSupport(f: { sass: Record<string, number>; ptx: Record<string, number> }, target: number): 'sass' | 'ptx' | 'none' {
  const major = Math.floor(target / 10);
  for (const k of Object.keys(f.sass)) {
    const a = parseArch(k);
    if (a !== undefined && Math.floor(a / 10) === major && a <= target) return 'sass';
  }
  for (const k of Object.keys(f.ptx)) {
    const a = parseArch(k);
    if (a !== undefined && a <= target) return 'ptx';
  }
  return 'none';
}
