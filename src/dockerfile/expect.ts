/**
 * What the builders record in an image's history `created_by` for one instruction (docs/dockerfile.md
 * "What the builders record"), as a test on a recorded entry. Both forms are read: the classic builder's
 * (`/bin/sh -c #(nop)  CMD […]`, `|1 A=b /bin/sh -c cmd`, `#(nop) COPY file:<hash> in /dest `) and
 * BuildKit's (`RUN |1 A=b /bin/sh -c cmd # buildkit`, `COPY src /dest # buildkit`, `WORKDIR /app`).
 * A test says yes only on text it can check; variables the builder expands are wildcards.
 */
import type { LayerPaths } from './layer-paths.js';
import type { Instruction } from './parse.js';

/** A history entry split into its instruction keyword and the rest, whitespace collapsed. */
export interface Recorded {
  keyword?: string;
  body: string;
}

const KEYWORDS = /^(RUN|COPY|ADD|ENV|WORKDIR|ARG|LABEL|CMD|ENTRYPOINT|HEALTHCHECK|USER|VOLUME|STOPSIGNAL|SHELL|EXPOSE|MAINTAINER|ONBUILD)(?: (.*))?$/;

const norm = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** Splits a `created_by` into keyword and body; a classic RUN has no keyword of its own. */
export function readRecorded(createdBy: string): Recorded {
  let s = norm(createdBy);
  if (s === '') return { body: '' };
  if (s.endsWith(' # buildkit')) s = s.slice(0, -' # buildkit'.length);
  const nop = /^([^|].*?) #\(nop\) (.*)$/.exec(s);
  if (nop) s = nop[2]!;
  const m = KEYWORDS.exec(s);
  if (m) return { keyword: m[1]!, body: m[2] ?? '' };
  return nop ? { body: s } : { keyword: 'RUN', body: s };
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A regex source for `text` where each `$VAR` / `${VAR…}` matches whatever the builder put there. */
function wild(text: string): string {
  const parts = norm(text).split(/\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*/);
  return parts.map(escapeRe).join('.*?');
}

/**
 * `body` is all of what regex source `src` matches. A source too large for the regex engine (an
 * instruction of tens of kilobytes) is no match: the step stays unmatched, the run goes on.
 */
function full(src: string, body: string): boolean {
  try {
    return new RegExp(`^${src}$`, 's').test(body);
  } catch {
    return false;
  }
}

/** Shell words as the Dockerfile parser splits ENV/LABEL values: quotes removed, escapes applied. */
function words(text: string, escape: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === escape && quote !== "'" && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (quote) {
      if (c === quote) quote = '';
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** ENV and LABEL: `k=v …` pairs, or the legacy `ENV k v` form. */
function pairs(ins: Instruction, escape: string): string[] {
  const w = words(ins.text, escape);
  if (w.length && !w[0]!.includes('=')) return [`${w[0]}=${w.slice(1).join(' ')}`];
  return w;
}

/** Go's %q of a string, as `CMD %q` prints each argument (ASCII-printable text: JSON's quoting). */
const goQuote = (s: string): string => JSON.stringify(s);

/** The state an instruction's record depends on, carried through a stage chain in order. */
export interface ChainState {
  escape: string;
  /** The SHELL in effect (default /bin/sh -c). */
  shell: string[];
  /** A regex source for the working directory (unknown parts are wildcards). */
  workdir: string;
  /** The working directory as a plain absolute path, when the Dockerfile alone tells it. */
  dir?: string;
}

export const initialState = (escape: string): ChainState => ({ escape, shell: ['/bin/sh', '-c'], workdir: '.*?' });

/** RUN's command as it is handed to the shell (heredocs as BuildKit passes them). */
function runCommand(ins: Instruction, shell: string[]): string[] {
  if (ins.json) return ins.json;
  const h = ins.heredocs;
  if (h.length && /^\d*<<-?(["']?)[^\s<"']+\1$/.test(ins.text.trim())) {
    const data = h[0]!.body;
    return data.startsWith('#!') ? [`/dev/pipes/${h[0]!.name}`] : [...shell, data];
  }
  return [...shell, ins.text + h.map((d) => `\n${d.body}${d.name}`).join('')];
}

/**
 * The command as recorded, after the build arguments the classic builder puts first (`|2 A=1 B=2 `):
 * compared as strings, so a RUN of any length costs no regex.
 */
function testRun(ins: Instruction, st: ChainState, body: string): boolean {
  const cmd = norm(runCommand(ins, st.shell).join(' '));
  if (body === cmd) return true;
  const args = /^\|\d+ /.exec(body);
  return !!args && body.length >= args[0].length + 1 + cmd.length && body.endsWith(` ${cmd}`);
}

function copyArgs(ins: Instruction): string[] {
  const a = ins.json ?? ins.text.split(/\s+/).filter(Boolean);
  return a;
}

/** How well a recorded entry checks under an instruction: not at all, weakly, strongly or exactly (ranked). */
export type Verdict = 0 | 1 | 2 | 3;
export const NO: Verdict = 0;
/** The text allows it but does not tell it from other instructions of its kind (a classic `dir:` COPY). */
export const WEAK: Verdict = 1;
/**
 * A classic COPY whose hashed sources are checked on what its layer holds: the file names under DEST
 * (`file:`, `multi:`), or the layer's files with their sizes in the build context (`dir:`). Another
 * COPY of files with the same names and sizes would check alike.
 */
export const STRONG: Verdict = 2;
/** The recorded text is checked in full. */
export const EXACT: Verdict = 3;

/** Go's filepath.Match pattern as a regex source (`*`, `?`, `[…]` within one path segment). */
const globRe = (g: string): string =>
  g.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\[!/g, '[^');

const cleanPath = (s: string): string =>
  s.replace(/\/+/g, '/').replace(/\/\.(?=\/|$)/g, '').replace(/^\.\//, '').replace(/(.)\/$/, '$1');

const ARCHIVE = /\.(tar|tgz|tbz2?|txz|tar\.(gz|bz2|xz|zst))$/i;

/** What a path of the build context is: missing, a file (its size), a directory (its files, relative, with sizes), or not known. */
export type ContextView =
  | { kind: 'missing' }
  | { kind: 'file'; size: number | null }
  | { kind: 'dir'; files: ReadonlyMap<string, number | null> }
  | { kind: 'unknown' };

/** The build context, taken to be the Dockerfile's directory (dockerfile/read.ts contextProbe). */
export interface BuildContext {
  read(rel: string): ContextView;
}

/**
 * A COPY/ADD source that is read from the build context (no `--from`, no glob, no URL, no variable the
 * build expands, no heredoc, inside it): its context-relative path.
 */
function contextSource(ins: Instruction, src: string): string | undefined {
  if (ins.flags.from !== undefined || /[*?[$]/.test(src) || src.startsWith('<<') || /^[a-z][a-z0-9+.-]*:\/\//i.test(src) || /^git@/.test(src)) return undefined;
  const rel = cleanPath(`/${src}`).slice(1);
  return rel.split('/').includes('..') ? undefined : rel;
}

/**
 * The build context as far as a stage chain can trust it (docs/dockerfile.md "Matching"). The folder
 * read is the Dockerfile's own; a build may have used another (`docker build -f docker/Dockerfile .`).
 * When a context source of the chain is missing there, the folder is not the context the chain was
 * built from as it reads now (another context, or a source edited since): nothing it holds confirms or
 * refutes a COPY (a `COPY .` would read `docker/`, whose files a later `COPY docker/` copied), and only
 * the missing sources stay missing (their COPY is not given).
 */
export function chainContext(chain: ReadonlyArray<{ instructions: readonly Instruction[] }>, context: BuildContext, made: Map<string, BuildContext>): BuildContext {
  const missing = new Set<string>();
  for (const stage of chain) {
    for (const ins of stage.instructions) {
      if (ins.keyword !== 'COPY' && ins.keyword !== 'ADD') continue;
      for (const src of copyArgs(ins).slice(0, -1)) {
        const rel = contextSource(ins, src);
        if (rel !== undefined && context.read(rel).kind === 'missing') missing.add(rel);
      }
    }
  }
  if (missing.size === 0) return context;
  // one stand-in per set of missing sources (`made`), so verdicts computed under it are reused
  const key = [...missing].sort().join('\0');
  let c = made.get(key);
  if (!c) made.set(key, (c = { read: (rel) => (missing.has(rel) ? { kind: 'missing' } : { kind: 'unknown' }) }));
  return c;
}

/**
 * A classic `dir:` COPY checked on the build context: NO when the context contradicts it (the source
 * is missing or a file; a file of the layer has another size there; the source and the layer share no
 * file), STRONG when every file of the layer (when it lists them: at most 256) is in the source under
 * the same relative path with the same size, else WEAK (a context that holds only some of them is
 * another directory than the one built from: it neither confirms nor refutes).
 */
function dirFromContext(ins: Instruction, src: string, destDir: string, layer: LayerPaths, context: BuildContext): Verdict {
  const rel = contextSource(ins, src);
  if (rel === undefined || !layer.paths || layer.count === 0) return WEAK;
  const view = context.read(rel);
  if (view.kind === 'unknown') return WEAK;
  if (view.kind !== 'dir') return NO;
  let shared = 0;
  let conflict = false;
  layer.paths.forEach((p, k) => {
    if (destDir !== '' && !p.startsWith(`${destDir}/`)) return;
    const name = destDir === '' ? p : p.slice(destDir.length + 1);
    if (!view.files.has(name)) return;
    shared++;
    const a = view.files.get(name);
    const b = layer.sizes?.[k];
    if (a != null && b != null && a !== b) conflict = true;
  });
  if (conflict || shared === 0) return NO;
  return shared === layer.paths.length ? STRONG : WEAK;
}

/** A classic `file:` COPY of a context file: NO when the context holds the source with another size than the layer's file, or as a directory. */
function fileRefuted(ins: Instruction, src: string, layer: LayerPaths, context: BuildContext | undefined): boolean {
  const rel = context ? contextSource(ins, src) : undefined;
  if (rel === undefined) return false;
  const view = context!.read(rel);
  const size = layer.sizes?.[0];
  return view.kind === 'dir' || (view.kind === 'file' && view.size != null && size != null && view.size !== size);
}

/**
 * A classic `COPY <kind>:<hash> in DEST` record checked on the layer it made: a single file (`file:`)
 * leaves exactly DEST/basename(SRC) (or DEST itself), a directory (`dir:`) and several sources
 * (`multi:`) leave paths under DEST only. Without the layer's paths nothing but the kind is checked.
 */
function copyContent(ins: Instruction, kind: string, srcs: string[], dest: string, st: ChainState, layer: LayerPaths | undefined, context?: BuildContext): Verdict {
  // the destination as a root-relative directory, or (unknown working directory) a relative tail
  const abs = dest.startsWith('/') ? cleanPath(dest).slice(1) : st.dir !== undefined ? cleanPath(`${st.dir}/${dest}`).slice(1) : undefined;
  const rel = abs === undefined ? cleanPath(dest).replace(/^\.$/, '') : undefined;
  const at = (p: string, d: string): boolean =>
    abs !== undefined ? d === '' || p === d || p.startsWith(`${d}/`) : rel === '' || p === d || p.startsWith(`${d}/`) || p.includes(`/${d}/`) || p.endsWith(`/${d}`);
  const destDir = abs ?? rel!;
  if (!layer) return WEAK;
  // a directory or several sources land under DEST (a single file is checked by its path below)
  if (kind !== 'file' && layer.under !== undefined && !at(layer.under, destDir)) return NO;
  if (kind === 'dir') return context && abs !== undefined ? dirFromContext(ins, srcs[0]!, destDir, layer, context) : WEAK;
  const names = srcs.map((s) => s.replace(/\/+$/, '').split('/').pop() ?? '');
  const remote = (s: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(s) || /^git@/.test(s);
  // ADD fetches a URL (named by the server) and unpacks a local archive (its own paths) under DEST
  if (ins.keyword === 'ADD' && srcs.some(remote)) return WEAK;
  if (ins.keyword === 'ADD' && srcs.some((s) => ARCHIVE.test(s))) return layer.under === undefined || at(layer.under, destDir) ? WEAK : NO;
  // `p` is DEST/NAME (with an unknown working directory, ends so)
  const child = (p: string, name: string): boolean =>
    new RegExp(`${abs !== undefined ? '^' : '(?:^|/)'}${destDir ? `${escapeRe(destDir)}/` : ''}${globRe(name)}$`).test(p);
  if (kind === 'file') {
    const src = srcs[0]!;
    if (src.endsWith('/') || names[0] === '.' || names[0] === '..' || names[0] === '') return NO;
    if (layer.count !== 1 || !layer.paths) return NO;
    const p = layer.paths[0]!;
    const renamed = !dest.endsWith('/') && (abs !== undefined ? p === abs : p === rel || p.endsWith(`/${rel}`));
    if (!child(p, names[0]!) && !renamed) return NO;
    return fileRefuted(ins, src, layer, context) ? NO : STRONG;
  }
  // multi: every plain source's name directly under DEST confirms it; a directory source's would not be there
  if (layer.paths && names.every((n) => n !== '.' && n !== '' && layer.paths!.some((p) => child(p, n)))) return STRONG;
  return WEAK;
}

function testCopy(ins: Instruction, st: ChainState, body: string, layer: LayerPaths | undefined, context?: BuildContext): Verdict {
  const args = copyArgs(ins);
  if (args.length < 2) return NO;
  const dest = args[args.length - 1]!;
  // the legacy builder writes a `--chown` flag's value straight before the kind (`--chown=app:appdir:<hash>`):
  // the kind and its 64-digit hash anchor the record
  const classic = /^(?:--chown=\S*?)?(file|dir|multi):[0-9a-f]{64} in (.*)$/.exec(body);
  if (classic) {
    const recorded = classic[2]!.trim();
    if (!full(wild(dest), recorded)) return NO;
    const srcs = args.slice(0, -1);
    if (classic[1] === 'multi' ? srcs.length < 2 : srcs.length !== 1) return NO;
    return copyContent(ins, classic[1]!, srcs, recorded, st, layer, context);
  }
  const recorded = body.split(' ').filter((t) => !t.startsWith('--')).join(' ');
  return full(args.map(wild).join(' '), recorded) ? EXACT : NO;
}

function testWorkdir(ins: Instruction, st: ChainState, body: string): boolean {
  return full(workdirAfter(ins, st), body);
}

/** The working directory after a WORKDIR, as a regex source: cleaned, joined to the one before. */
function workdirAfter(ins: Instruction, st: ChainState): string {
  const p = norm(ins.text);
  const clean = (s: string): string => s.replace(/\/+/g, '/').replace(/\/\.(?=\/|$)/g, '').replace(/(.)\/$/, '$1');
  if (p.startsWith('/')) return wild(clean(p));
  if (p.includes('..')) return '.*?';
  return `${st.workdir === '/' ? '' : st.workdir}/${wild(clean(p))}`;
}

function healthArgs(ins: Instruction): string[] | undefined {
  if (/^NONE$/i.test(ins.text.trim())) return ['NONE'];
  const m = /^CMD\s+([\s\S]*)$/i.exec(ins.text.trim());
  if (!m) return undefined;
  try {
    const j: unknown = JSON.parse(m[1]!);
    if (Array.isArray(j)) return ['CMD', ...j.map(String)];
  } catch {
    // shell form
  }
  return ['CMD-SHELL', m[1]!];
}

type Test = (ins: Instruction, st: ChainState, body: string) => boolean;

const listForm = (ins: Instruction, st: ChainState): string[] => ins.json ?? [...st.shell, ins.text];

const TESTS: Record<string, Test> = {
  RUN: testRun,
  WORKDIR: testWorkdir,
  ENV: (ins, st, body) => full(pairs(ins, st.escape).map(wild).join(' '), body),
  LABEL: (ins, st, body) => full(pairs(ins, st.escape).map(wild).join(' '), body),
  ARG: (ins, st, body) => full(words(ins.text, st.escape).map((w) => `${escapeRe(w.split('=')[0]!)}(?:=.*?)?`).join(' '), body),
  CMD: (ins, st, body) => body === norm(`[${listForm(ins, st).map(goQuote).join(' ')}]`),
  ENTRYPOINT: (ins, st, body) => body === norm(`[${listForm(ins, st).map(goQuote).join(' ')}]`),
  SHELL: (ins, _st, body) => !!ins.json && body === norm(`[${ins.json.join(' ')}]`),
  VOLUME: (ins, _st, body) => body === norm(`[${(ins.json ?? ins.text.split(/\s+/)).join(' ')}]`),
  USER: (ins, _st, body) => full(wild(ins.text), body),
  STOPSIGNAL: (ins, _st, body) => full(wild(ins.text), body),
  MAINTAINER: (ins, _st, body) => full(wild(ins.text), body),
  ONBUILD: (ins, _st, body) => body === norm(ins.text),
  EXPOSE: (ins, _st, body) => {
    const ports: string[] = ins.text.match(/\$|\d+/g) ?? [];
    return ports.length > 0 && (ports.includes('$') || ports.every((p) => new RegExp(`\\b${p}\\b`).test(body)));
  },
  HEALTHCHECK: (ins, _st, body) => {
    const args = healthArgs(ins);
    return !!args && args.every((a) => body.includes(norm(a)) || body.includes(norm(goQuote(a))));
  },
};

/**
 * Whether `rec` is what the builder records for `ins` in state `st`: EXACT (the text), STRONG (a classic
 * COPY its layer's files confirm), WEAK (a classic COPY nothing confirms or refutes), or NO. `layer`: the
 * paths and sizes of the layer `rec` made; `context`: the build context, which confirms or refutes a
 * classic COPY of its files.
 */
export function recordedBy(ins: Instruction, st: ChainState, rec: Recorded, layer?: LayerPaths, context?: BuildContext): Verdict {
  if (rec.keyword !== ins.keyword) return NO;
  if (ins.keyword === 'COPY' || ins.keyword === 'ADD') return testCopy(ins, st, rec.body, layer, context);
  const t = TESTS[ins.keyword];
  return t && t(ins, st, rec.body) ? EXACT : NO;
}

/** The state after `ins` (SHELL and WORKDIR change what later records look like). */
export function advance(ins: Instruction, st: ChainState): ChainState {
  if (ins.keyword === 'SHELL' && ins.json) return { ...st, shell: ins.json };
  if (ins.keyword === 'WORKDIR') {
    const p = norm(ins.text);
    const plain = !p.includes('$') && !p.includes('..');
    const dir = plain && p.startsWith('/') ? p : plain && st.dir !== undefined ? `${st.dir}/${p}` : undefined;
    const { dir: _old, ...rest } = st;
    return { ...rest, workdir: workdirAfter(ins, st), ...(dir !== undefined ? { dir: cleanPath(dir) || '/' } : {}) };
  }
  return st;
}

/** Instructions that may leave no history entry (BuildKit records no ONBUILD). */
export const OPTIONAL = new Set(['ONBUILD']);
