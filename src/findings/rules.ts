import type { Analysis, CacheCategory } from '../analysis.js';
import { formatBytes, shortenStep } from '../util/format.js';

export type Severity = 'high' | 'medium' | 'low' | 'info';
export const SEVERITIES: Severity[] = ['high', 'medium', 'low', 'info'];

/** A finding: plain data produced by a pure rule over the Analysis. */
export interface Finding {
  /** Stable id, usable with --fail-on. */
  id: string;
  severity: Severity;
  title: string;
  /** Estimated bytes the fix saves (null when the gain is time or safety, not bytes). */
  savingBytes: number | null;
  evidence: { paths?: string[]; layers?: number[]; packages?: string[]; detail?: string };
  /** The fix, as one line or a Dockerfile snippet. */
  fix: string;
}

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
    evidence: { paths: found.map((c) => c.example) },
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
      paths: tops.map((p) => `/${p.path} (${formatBytes(p.bytes)}, added in layer ${p.addedInLayer + 1}, ${p.how} in layer ${p.hiddenInLayer + 1})`),
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
    evidence: { paths: dups.flatMap((g) => g.map((x) => `/${x.path} (${x.owner}, ${formatBytes(x.bytes)})`)), packages: [...new Set(dups.flatMap((g) => g.map((x) => x.owner)))] },
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
    evidence: { detail: `step ${copy.i + 1} \`${shortenStep(copy.s, 80)}\` comes before step ${install.i + 1} \`${shortenStep(install.s, 80)}\`` },
    fix: 'COPY requirements.txt . && RUN pip install -r requirements.txt first, then COPY . . (so the install layer is cached).',
  }];
};

const root: Rule = (a) => {
  const u = a.image.user.trim();
  if (u !== '' && u !== '0' && u !== 'root' && !/^(0|root):/.test(u)) return [];
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
    evidence: { paths: top.map((m) => `/${m.path} (${formatBytes(m.bytes)}, layer ${m.layer + 1})`), layers },
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
  const describe = (s: Analysis['evidence']['sensitive'][number]): string =>
    `/${s.path} (layer ${s.layer + 1}, ${s.visible ? 'in the final filesystem' : 'deleted later but still in that layer'}${s.privateKey ? ', contains a private key' : ''})`;
  const secrets = byCat(['secret', 'private-key']).filter((s) => s.category === 'secret' || s.privateKey || /(^|\/)id_[a-z0-9]+$/.test(s.path));
  if (secrets.length) {
    out.push({
      id: 'secrets-in-image', severity: 'high', savingBytes: null,
      title: `Secrets ship in the image (${secrets.length}): anyone who can pull it can read them, even where a later layer deleted them`,
      evidence: { paths: secrets.map(describe), layers: [...new Set(secrets.map((s) => s.layer))] },
      fix: 'Add them to .dockerignore; pass build-time secrets with RUN --mount=type=secret and runtime ones as environment/secret mounts; rotate what shipped.',
    });
  }
  const other = byCat(['vcs', 'notebook', 'experiment', 'data']);
  if (other.length) {
    const b = other.reduce((s, x) => s + x.bytes, 0);
    out.push({
      id: 'unwanted-files', severity: 'medium', savingBytes: b,
      title: `Files that should not ship: ${[...new Set(other.map((s) => s.category))].join(', ')} (${formatBytes(b)})`,
      evidence: { paths: other.slice(0, 10).map(describe), layers: [...new Set(other.map((s) => s.layer))] },
      fix: 'Add .git, notebooks, wandb/, runs/, mlruns/ and data/ to .dockerignore, and COPY only what the service needs.',
    });
  }
  return out;
};

const RULES: Rule[] = [cudaDevel, toolchain, caches, waste, duplicateCuda, models, layerOrder, root, healthcheck, basePin, musl, sensitive];

const rank = (s: Severity): number => SEVERITIES.indexOf(s);

/** Every rule over the Analysis, ranked by bytes saved, then severity. */
export function computeFindings(a: Analysis): Finding[] {
  return RULES.flatMap((r) => r(a)).sort((x, y) => (y.savingBytes ?? 0) - (x.savingBytes ?? 0) || rank(x.severity) - rank(y.severity) || (x.id < y.id ? -1 : 1));
}

/** --fail-on: finding ids and/or a severity (that severity or worse). */
export function failingFindings(findings: Finding[], spec: string): Finding[] {
  const parts = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const sev = parts.filter((p) => (SEVERITIES as string[]).includes(p)) as Severity[];
  const worst = sev.length ? Math.max(...sev.map(rank)) : -1;
  const ids = new Set(parts.filter((p) => !(SEVERITIES as string[]).includes(p)));
  return findings.filter((f) => ids.has(f.id) || rank(f.severity) <= worst);
}
