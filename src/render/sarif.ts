/**
 * SARIF 2.1.0 (OASIS), as GitHub code scanning reads it: one run for all the images of a report, one
 * rule per finding id, one result per finding. Every figure comes from the report.
 *
 * Locations: a finding that carries `location` (the Dockerfile line that made its layer) points there;
 * an image-level one (runs as root, no HEALTHCHECK, the driver the CUDA runtime needs) at the target
 * stage's FROM line when the report's layers give it; any other at line 1 of the Dockerfile given to
 * --dockerfile (code scanning shows a result in a file only with a start line). With no Dockerfile
 * given (or the Action's default one left out), a result has the image reference as its only
 * location: no file is named that the user did not name. URIs are relative to the repository root (`%SRCROOT%`: $GITHUB_WORKSPACE, else
 * the git top level, else the working directory), which is where code scanning resolves them; a file
 * outside it gets no physical location. The image reference is always in the message and a logical
 * location. Partial fingerprints hash the rule id, the image's repository, the image-independent
 * evidence (paths, packages, versions) and the Dockerfile's `%SRCROOT%`-relative URI (`./Dockerfile`
 * and `Dockerfile` are one file), never tags, digests, byte counts or layer
 * numbers, so a rebuild keeps an alert's identity and two images in one run keep theirs apart.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Analysis, Finding, Severity } from '../report/types.js';
import { escapeMarkdown } from '../util/escape.js';
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

/** The root SARIF URIs are relative to: $GITHUB_WORKSPACE when set, else the git top level of `cwd`, else `cwd`. */
export function sourceRoot(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): string {
  if (env.GITHUB_WORKSPACE) return realOr(path.resolve(cwd, env.GITHUB_WORKSPACE));
  try {
    const top = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
    if (top) return realOr(top);
  } catch {
    // not in a git work tree, or no git: the working directory
  }
  return realOr(cwd);
}

const realOr = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};

/** Where URIs resolve from: the root, and the directory the report's relative paths are relative to. */
export interface UriBase {
  root: string;
  cwd: string;
}

/**
 * A `%SRCROOT%`-relative URI for a file path (relative paths from `base.cwd`), each segment
 * percent-encoded (`#`, `?`, `%` and spaces included); undefined for a file outside the root.
 */
export function fileUri(file: string, base: UriBase): string | undefined {
  const abs = path.resolve(base.cwd, file);
  // the file's real path where it exists (a symlinked working directory), else its directory's
  const real = realOr(abs) !== abs ? realOr(abs) : path.join(realOr(path.dirname(abs)), path.basename(abs));
  const rel = path.relative(base.root, real);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).map(encodeURIComponent).join('/');
}

/** The image's repository, without tag or digest: its first tag's, else the reference's (an archive or layout: the file's name). */
export function imageRepository(a: Analysis): string {
  const strip = (n: string): string => n.replace(/@sha256:[0-9a-f]+$/i, '').replace(/:[^:/]+$/, '');
  const tag = a.image.tags?.[0];
  if (tag) return strip(tag);
  const ref = a.image.reference;
  const t = a.image.transport;
  const rest = ref.startsWith(`${t}:`) ? ref.slice(t.length + 1).replace(/^\/\//, '') : ref;
  if (/archive|^oci$/.test(t)) return path.basename(rest.replace(/:[^:/]*$/, '')).replace(/\.(tar(\.\w+)?|tgz)$/, '');
  return strip(rest);
}

function fingerprint(f: Finding, repo: string, loc: DockerfileLocation | undefined, base: UriBase): string {
  const e = f.evidence;
  const parts = [
    f.id,
    `image:${repo}`,
    ...[...new Set((e.items ?? []).map((i) => i.path))].sort(),
    ...[...(e.paths ?? [])].sort(),
    ...[...(e.packages ?? [])].sort(),
    ...[...(e.versions ?? [])].sort(),
    // the file as code scanning names it, whatever spelling --dockerfile was given (absolute outside the root)
    loc ? `dockerfile:${fileUri(loc.file, base) ?? path.resolve(base.cwd, loc.file)}` : '',
  ];
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}

function physical(base: UriBase, file: string, startLine: number, endLine?: number) {
  const uri = fileUri(file, base);
  if (uri === undefined) return undefined;
  return { artifactLocation: { uri, uriBaseId: '%SRCROOT%' }, region: { startLine, ...(endLine && endLine > startLine ? { endLine } : {}) } };
}

/** Findings about the image as a whole: they belong on the FROM line of the stage the image was built to. */
const IMAGE_LEVEL = new Set(['runs-as-root', 'no-healthcheck', 'cuda-driver-requirement']);

/** Where a finding without a Dockerfile line of its own points: the file given to --dockerfile (none when none was), and the target stage's FROM line when the report has it. */
interface Fallback {
  file?: string;
  fromLine?: number;
}

function fallbackOf(a: Analysis): Fallback {
  type Steps = Array<{ dockerfile?: DockerfileLocation & { stage?: string | null; instruction?: string } }>;
  const match = (a as Analysis & { dockerfile?: { file: string; stage?: string } }).dockerfile;
  const steps = [...(a.layers as Steps), ...((a.history ?? []) as Steps)];
  const file = match?.file ?? steps.find((s) => s.dockerfile)?.dockerfile?.file;
  if (file === undefined) return {};
  // a base-image step of the target stage maps to that stage's FROM (when the chain's root is another
  // stage, its base steps carry the root's label: the target's FROM made none of this image's steps)
  const from = match?.stage !== undefined ? steps.find((s) => s.dockerfile?.instruction === 'FROM' && s.dockerfile.stage === match.stage && s.dockerfile.file === file) : undefined;
  return { file, ...(from ? { fromLine: from.dockerfile!.line } : {}) };
}

function rule(f: Finding) {
  const short = RULE_TEXT[f.id] ?? f.title;
  const sec = SECURITY_SEVERITY[f.id];
  return {
    id: f.id,
    shortDescription: { text: short },
    fullDescription: { text: `${short}. Found by imgscope in the image's layers; the fix names what to change in the Dockerfile or the build.` },
    help: { text: `Fix: ${f.fix}`, markdown: `**${escapeMarkdown(short)}**\n\n**Fix:** ${escapeMarkdown(f.fix)}\n\nSee the imgscope report (\`imgscope analyze IMAGE\`) for the evidence and the bytes each fix saves.` },
    defaultConfiguration: { level: LEVEL[f.severity] },
    properties: { tags: sec ? ['security', 'container-image'] : ['container-image', 'image-size'], ...(sec ? { 'security-severity': sec } : {}) },
  };
}

interface Context {
  base: UriBase;
  repo: string;
  fallback: Fallback;
}

/**
 * The finding's own Dockerfile line; else, for an image-level finding, the target stage's FROM when
 * this image's base steps matched it; else none: the image reference (the logical location) is the
 * only place named, never a line the finding is not about. None outside the root either.
 */
function findingLocation(f: Located, c: Context) {
  const own = f.location ? physical(c.base, f.location.file, f.location.line, f.location.endLine) : undefined;
  if (own) return own;
  if (c.fallback.file === undefined || !IMAGE_LEVEL.has(f.id) || c.fallback.fromLine === undefined) return undefined;
  return physical(c.base, c.fallback.file, c.fallback.fromLine);
}

function result(a: Analysis, f: Located, ruleIndex: number, c: Context) {
  const loc = f.location;
  const lines = evidenceLines(f).map(plain);
  const saving = formatSaving(f);
  const text = `${f.title} (image ${a.image.reference})${saving ? `; fixing it saves ${saving}` : ''}${lines.length ? `. Evidence: ${lines.join('; ')}` : ''}`;
  // the Dockerfile lines of the other layers the evidence names (a secret added in one layer, another in a second)
  const layers = a.layers as LayerWithDockerfile[];
  const related = [...new Set((f.evidence.layers ?? []).concat((f.evidence.items ?? []).flatMap((i) => (i.layer === undefined ? [] : [i.layer]))))]
    .map((i) => layers[i]?.dockerfile)
    .filter((d): d is NonNullable<LayerWithDockerfile['dockerfile']> => !!d && !(loc && d.file === loc.file && d.line === loc.line))
    .flatMap((d) => {
      const where = physical(c.base, d.file, d.line, d.endLine);
      return where ? [{ physicalLocation: where, message: { text: d.instruction ?? `${d.file}:${d.line}` } }] : [];
    });
  const where = findingLocation(f, c);
  return {
    ruleId: f.id,
    ruleIndex,
    level: LEVEL[f.severity],
    message: { text },
    locations: [
      {
        ...(where ? { physicalLocation: where } : {}),
        logicalLocations: [{ name: a.image.reference, fullyQualifiedName: `${a.image.reference}@${a.image.manifestDigest ?? a.image.configDigest}`, kind: 'module' }],
      },
    ],
    ...(related.length ? { relatedLocations: related.map((r, id) => ({ id, ...r })) } : {}),
    partialFingerprints: { 'imgscopeFinding/v1': fingerprint(f, c.repo, loc, c.base) },
    properties: {
      image: a.image.reference,
      severity: f.severity,
      savingBytes: f.savingBytes,
      savingSeconds: f.savingSeconds ?? null,
      ...(f.savingBytes !== null ? { saving: formatBytes(f.savingBytes) } : {}),
    },
  };
}

/** The package's repository or homepage (package.json), for tool.driver.informationUri; undefined when it names none. */
function informationUri(): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { homepage?: string; repository?: string | { url?: string } };
    const repo = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
    const uri = pkg.homepage ?? repo?.replace(/^git\+/, '').replace(/\.git$/, '');
    return uri && /^https?:\/\//.test(uri) ? uri : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The SARIF log of one or more analyses: one run, the rules every finding id names, a result per
 * finding. `base` says where URIs are relative to (default: sourceRoot() and the working directory).
 */
export function renderSarif(analyses: Analysis[], base: UriBase = { root: sourceRoot(), cwd: process.cwd() }): string {
  const rules: ReturnType<typeof rule>[] = [];
  const index = new Map<string, number>();
  const repos = [...new Set(analyses.map(imageRepository))];
  const results = analyses.flatMap((a) => {
    const c: Context = { base, repo: imageRepository(a), fallback: fallbackOf(a) };
    return (a.findings as Located[]).map((f) => {
      if (!index.has(f.id)) {
        index.set(f.id, rules.length);
        rules.push(rule(f));
      }
      return result(a, f, index.get(f.id)!, c);
    });
  });
  const version = analyses[0]?.tool.version ?? '0.0.0';
  const info = informationUri();
  const root = pathToFileURL(base.root).href;
  const log = {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'imgscope', version, semanticVersion: version, ...(info ? { informationUri: info } : {}), rules } },
        automationDetails: { id: `imgscope/${repos.join('+')}/` },
        originalUriBaseIds: { '%SRCROOT%': { uri: root.endsWith('/') ? root : `${root}/` } },
        results,
        columnKind: 'unicodeCodePoints',
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}
