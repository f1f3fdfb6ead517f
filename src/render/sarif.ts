/**
 * SARIF 2.1.0 (OASIS), as GitHub code scanning reads it: one run for all the images of a report, one
 * rule per finding id, one result per finding. Every figure comes from the report.
 *
 * Locations: a finding that carries `location` (the Dockerfile line that made its layer) points there;
 * any other points at line 1 of the Dockerfile the run mapped (or `Dockerfile`), since code scanning
 * shows a result only with a file and a start line. The image reference is always in the message and a
 * logical location. Partial fingerprints hash the rule id, the image-independent evidence (paths,
 * packages, versions) and the Dockerfile, never byte counts or layer numbers, so a rebuild keeps an
 * alert's identity.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Analysis, Finding, Severity } from '../report/types.js';
import { formatBytes } from '../util/format.js';
import { evidenceLines } from './evidence.js';
import { formatSaving } from './analyze.js';
import type { Inline } from './view.js';

export const SARIF_SCHEMA_URI = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

/** Where a finding's layer came from in the Dockerfile (added to the report by --dockerfile; absent when unknown). */
export interface DockerfileLocation {
  file: string;
  line: number;
  endLine: number;
}
type Located = Finding & { location?: DockerfileLocation };
type LayerWithDockerfile = Analysis['layers'][number] & { dockerfile?: DockerfileLocation & { stage?: string; instruction?: string } };

/** What each rule is about, independent of any one image (shortDescription; the finding's title is the result's message). */
const RULE_TEXT: Record<string, string> = {
  'cuda-devel-in-image': 'CUDA development files (headers, static libraries, compilers) ship in a runtime image',
  'toolchain-in-image': 'A compiler toolchain ships in the image',
  'package-caches': 'Package manager caches ship in the image',
  'layer-waste': 'Layers carry bytes a later layer deletes or overwrites',
  'duplicate-cuda-libraries': 'The same CUDA libraries ship more than once',
  'layer-order': 'Application code is copied before the dependency install, so every code change rebuilds it',
  'runs-as-root': 'The container runs as root',
  'no-healthcheck': 'No HEALTHCHECK',
  'base-not-pinned': 'The base image is not pinned by digest',
  'baked-model-weights': 'Model weights are baked into the image',
  'musl-scientific-python': 'Scientific Python on musl (Alpine) builds from source and runs slower',
  'secrets-in-image': 'Secrets ship in the image, even where a later layer deleted them',
  'unwanted-files': 'Files that do not belong in an image (VCS folders, tests, docs) ship in it',
  'missing-shared-libraries': 'Python extensions need shared libraries the image does not have',
  'shared-libraries-off-path': 'Shared libraries sit outside the loader path',
  'cuda-version-mismatch': 'CUDA versions in the image disagree',
  'cuda-driver-requirement': 'The CUDA runtime sets a minimum host driver',
  'gpu-arch-unsupported': 'CUDA libraries have no kernels for the deployment GPU',
  'gpu-arch-ptx-only': 'The deployment GPU gets only PTX (JIT-compiled at start-up)',
  'unused-gpu-archs': 'CUDA libraries carry kernels for GPUs not deployed to',
  'missing-bytecode': 'Python sources ship without bytecode, compiled at every cold start',
};

/** Every finding id the rules emit (src/findings/rules.ts), in this catalog's order: what --fail-on accepts. */
export const FINDING_IDS: readonly string[] = Object.keys(RULE_TEXT);

/** GitHub's security-severity (0.1–10; over 9.0 is critical): only for findings that expose secrets. */
const SECURITY_SEVERITY: Record<string, string> = { 'secrets-in-image': '9.1' };

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { high: 'error', medium: 'warning', low: 'note', info: 'note' };

const plain = (i: Inline): string => (typeof i === 'string' ? i : i.map((s) => (typeof s === 'string' ? s : 'code' in s ? s.code : 'badge' in s ? s.badge : s.text)).join(''));

/** A repository-relative URI for a file path: relative paths as they are (POSIX, no ./), absolute ones relative to `cwd` when inside it. */
export function fileUri(file: string, cwd = process.cwd()): string {
  let p = file;
  if (path.isAbsolute(p)) {
    const rel = path.relative(cwd, p);
    if (rel.startsWith('..') || path.isAbsolute(rel)) return `file://${encodeURI(p.split(path.sep).join('/'))}`;
    p = rel;
  }
  return encodeURI(p.split(path.sep).join('/').replace(/^(\.\/)+/, ''));
}

function fingerprint(f: Finding, loc: DockerfileLocation | undefined): string {
  const e = f.evidence;
  const parts = [
    f.id,
    ...[...new Set((e.items ?? []).map((i) => i.path))].sort(),
    ...[...(e.paths ?? [])].sort(),
    ...[...(e.packages ?? [])].sort(),
    ...[...(e.versions ?? [])].sort(),
    loc ? `dockerfile:${loc.file}` : '',
  ];
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}

function physical(file: string, startLine: number, endLine?: number) {
  return { artifactLocation: { uri: fileUri(file) }, region: { startLine, ...(endLine && endLine > startLine ? { endLine } : {}) } };
}

function rule(f: Finding) {
  const short = RULE_TEXT[f.id] ?? f.title;
  const sec = SECURITY_SEVERITY[f.id];
  return {
    id: f.id,
    shortDescription: { text: short },
    fullDescription: { text: `${short}. Found by imgscope in the image's layers; the fix names what to change in the Dockerfile or the build.` },
    help: { text: `Fix: ${f.fix}`, markdown: `**${short}**\n\n**Fix:** ${f.fix}\n\nSee the imgscope report (\`imgscope analyze IMAGE\`) for the evidence and the bytes each fix saves.` },
    defaultConfiguration: { level: LEVEL[f.severity] },
    properties: { tags: sec ? ['security', 'container-image'] : ['container-image', 'image-size'], ...(sec ? { 'security-severity': sec } : {}) },
  };
}

function result(a: Analysis, f: Located, ruleIndex: number, fallbackFile: string) {
  const loc = f.location;
  const lines = evidenceLines(f).map(plain);
  const saving = formatSaving(f);
  const text = `${f.title} (image ${a.image.reference})${saving ? `; fixing it saves ${saving}` : ''}${lines.length ? `. Evidence: ${lines.join('; ')}` : ''}`;
  // the Dockerfile lines of the other layers the evidence names (a secret added in one layer, another in a second)
  const layers = a.layers as LayerWithDockerfile[];
  const related = [...new Set((f.evidence.layers ?? []).concat((f.evidence.items ?? []).flatMap((i) => (i.layer === undefined ? [] : [i.layer]))))]
    .map((i) => layers[i]?.dockerfile)
    .filter((d): d is NonNullable<LayerWithDockerfile['dockerfile']> => !!d && !(loc && d.file === loc.file && d.line === loc.line));
  return {
    ruleId: f.id,
    ruleIndex,
    level: LEVEL[f.severity],
    message: { text },
    locations: [
      {
        physicalLocation: loc ? physical(loc.file, loc.line, loc.endLine) : physical(fallbackFile, 1),
        logicalLocations: [{ name: a.image.reference, fullyQualifiedName: `${a.image.reference}@${a.image.manifestDigest ?? a.image.configDigest}`, kind: 'module' }],
      },
    ],
    ...(related.length ? { relatedLocations: related.map((d, id) => ({ id, physicalLocation: physical(d.file, d.line, d.endLine), message: { text: d.instruction ?? `${d.file}:${d.line}` } })) } : {}),
    partialFingerprints: { 'imgscopeFinding/v1': fingerprint(f, loc) },
    properties: {
      image: a.image.reference,
      severity: f.severity,
      savingBytes: f.savingBytes,
      savingSeconds: f.savingSeconds ?? null,
      ...(f.savingBytes !== null ? { saving: formatBytes(f.savingBytes) } : {}),
    },
  };
}

/** The SARIF log of one or more analyses: one run, the rules every finding id names, a result per finding. */
export function renderSarif(analyses: Analysis[]): string {
  const rules: ReturnType<typeof rule>[] = [];
  const index = new Map<string, number>();
  const results = analyses.flatMap((a) => {
    const fallback = (a.layers as LayerWithDockerfile[]).find((l) => l.dockerfile)?.dockerfile?.file ?? 'Dockerfile';
    return (a.findings as Located[]).map((f) => {
      if (!index.has(f.id)) {
        index.set(f.id, rules.length);
        rules.push(rule(f));
      }
      return result(a, f, index.get(f.id)!, fallback);
    });
  });
  const version = analyses[0]?.tool.version ?? '0.0.0';
  const log = {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'imgscope', version, semanticVersion: version, rules } }, results, columnKind: 'unicodeCodePoints' }],
  };
  return JSON.stringify(log, null, 2) + '\n';
}
