/**
 * A Dockerfile read as BuildKit's parser reads it (docs/dockerfile.md "Parsing"): parser directives
 * (`# escape=`), comments, line continuations (comment and blank lines inside one dropped), heredocs
 * for RUN, COPY and ADD, leading `--flags`, exec (JSON) or shell form, and stages (`FROM … AS name`).
 * Each instruction keeps its first and last line (1-based, continuation and heredoc lines included).
 */

export interface Heredoc {
  name: string;
  /** `<<-`: leading tabs are stripped from the body and the terminator. */
  chomp: boolean;
  body: string;
}

export interface Instruction {
  /** Upper-case keyword: RUN, COPY, … */
  keyword: string;
  line: number;
  endLine: number;
  /** Leading `--name=value` flags (a bare `--name` has value ''). */
  flags: Record<string, string>;
  /** The arguments after the flags, continuation lines joined as the builder joins them. */
  text: string;
  /** Exec form: the JSON array's strings. */
  json?: string[];
  heredocs: Heredoc[];
}

export interface Stage {
  index: number;
  /** `AS name`, as written. */
  name?: string;
  /** The image or stage FROM names, as written (variables not expanded). */
  base: string;
  from: Instruction;
  instructions: Instruction[];
}

export interface Dockerfile {
  file: string;
  escape: string;
  /** ARGs before the first FROM. */
  globalArgs: Instruction[];
  stages: Stage[];
}

const HEREDOC_KEYWORDS = new Set(['RUN', 'COPY', 'ADD']);
const JSON_KEYWORDS = new Set(['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'VOLUME', 'COPY', 'ADD']);
/** A shell word that opens a heredoc, as BuildKit's parser reads one (`reHeredoc`): optional fd digits, `<<`, optional `-`. */
const HEREDOC_WORD = /^(\d*)<<(-?)([^<]*)$/;

/** The escape character from the parser directives at the top (`# escape=\`` or the default `\`). */
function readEscape(lines: string[]): string {
  for (const l of lines) {
    const m = /^\s*#\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(\S+)\s*$/.exec(l);
    if (!m) break;
    if (m[1]!.toLowerCase() === 'escape' && (m[2] === '`' || m[2] === '\\')) return m[2];
  }
  return '\\';
}

const isComment = (l: string): boolean => /^\s*#/.test(l);

/** A line ending in the escape character continues: returns the line without it. */
function continues(l: string, escape: string): string | undefined {
  const t = l.replace(/[ \t\r]+$/, '');
  return t.endsWith(escape) ? t.slice(0, -1) : undefined;
}

interface Logical {
  text: string;
  line: number;
  endLine: number;
}

/** Joins one instruction's physical lines from `start` (0-based), as BuildKit's parser does. */
function joinLines(lines: string[], start: number, escape: string): Logical & { next: number } {
  const first = lines[start]!.replace(/^\s+/, '').replace(/\r$/, '');
  let text = continues(first, escape);
  if (text === undefined) return { text: first, line: start + 1, endLine: start + 1, next: start + 1 };
  let i = start + 1;
  let last = start;
  for (; i < lines.length; i++) {
    const l = lines[i]!.replace(/\r$/, '');
    if (isComment(l) || l.trim() === '') continue; // dropped inside a continuation
    last = i;
    const more = continues(l, escape);
    if (more === undefined) {
      text += l;
      i++;
      break;
    }
    text += more;
  }
  return { text, line: start + 1, endLine: last + 1, next: i };
}

/**
 * The line's shell words with quotes and escapes kept (BuildKit's lexer with RawQuotes and RawEscapes):
 * split on whitespace outside quotes.
 */
function rawWords(text: string, escape: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === escape && quote !== "'" && i + 1 < text.length) {
      cur += c + text[++i]!;
    } else if (quote) {
      cur += c;
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      cur += c;
      quote = c;
    } else if (/\s/.test(c)) {
      if (cur) out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  if (cur) out.push(cur);
  return out;
}

/** The heredoc a word opens (BuildKit's parseHeredoc): the delimiter must be one word, quotes removed. */
function heredocOf(word: string, escape: string): { name: string; chomp: boolean } | undefined {
  const m = HEREDOC_WORD.exec(word);
  if (!m || m[3] === '') return undefined;
  const rest = rawWords(m[3]!, escape);
  if (rest.length !== 1) return undefined;
  const name = rest[0]!.replace(/^"(.*)"$|^'(.*)'$/s, (_a, d?: string, q?: string) => d ?? q ?? '');
  return name ? { name, chomp: m[2] === '-' } : undefined;
}

/** The heredocs a RUN/COPY/ADD line opens: each shell word that starts with `<<` (BuildKit's heredocsFromLine). */
function heredocMarks(text: string, escape: string): Array<{ name: string; chomp: boolean }> {
  return rawWords(text, escape).flatMap((w) => heredocOf(w, escape) ?? []);
}

/** Heredoc bodies from the lines after the instruction, one per marker. */
function readHeredocs(marks: Array<{ name: string; chomp: boolean }>, lines: string[], next: number): { heredocs: Heredoc[]; next: number } {
  const heredocs: Heredoc[] = [];
  let i = next;
  for (const { name, chomp } of marks) {
    const body: string[] = [];
    for (; i < lines.length; i++) {
      let l = lines[i]!.replace(/\r$/, '');
      if (chomp) l = l.replace(/^\t+/, '');
      if (l === name) break;
      body.push(l + '\n');
    }
    if (i >= lines.length) throw new Error(`line ${next}: heredoc <<${name} is never closed`);
    i++;
    heredocs.push({ name, chomp, body: body.join('') });
  }
  return { heredocs, next: i };
}

function splitFlags(rest: string): { flags: Record<string, string>; text: string } {
  const flags: Record<string, string> = {};
  let text = rest;
  for (;;) {
    const m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(text);
    if (!m) break;
    flags[m[1]!.toLowerCase()] = m[2] ?? '';
    text = text.slice(m[0].length);
  }
  return { flags, text };
}

function parseJson(text: string): string[] | undefined {
  if (!text.trimStart().startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

function toInstruction(l: Logical, heredocs: Heredoc[]): Instruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(l.text)!;
  const keyword = m[1]!.toUpperCase();
  const { flags, text } = splitFlags(m[2]!);
  const json = JSON_KEYWORDS.has(keyword) ? parseJson(text) : undefined;
  return { keyword, line: l.line, endLine: l.endLine, flags, text, ...(json ? { json } : {}), heredocs };
}

/** The instructions of a Dockerfile, in order. Throws on an unterminated heredoc. */
export function instructionsOf(source: string): { escape: string; instructions: Instruction[] } {
  const lines = source.split('\n');
  const escape = readEscape(lines);
  const out: Instruction[] = [];
  for (let i = 0; i < lines.length; ) {
    const l = lines[i]!;
    if (isComment(l) || l.trim() === '') {
      i++;
      continue;
    }
    const logical = joinLines(lines, i, escape);
    const keyword = /^\S+/.exec(logical.text)![0].toUpperCase();
    let next = logical.next;
    let heredocs: Heredoc[] = [];
    // BuildKit only: the legacy builder reads no heredocs (docs/dockerfile.md "Parsing"); an exec-form
    // (JSON) instruction has none either
    const marks = HEREDOC_KEYWORDS.has(keyword) && !parseJson(logical.text.replace(/^\S+\s*/, '')) ? heredocMarks(logical.text.replace(/^\S+/, ''), escape) : [];
    if (marks.length) {
      ({ heredocs, next } = readHeredocs(marks, lines, logical.next));
      logical.endLine = next;
    }
    out.push(toInstruction(logical, heredocs));
    i = next;
  }
  return { escape, instructions: out };
}

/** Parses a Dockerfile into its global ARGs and stages. `file` is the path as the user gave it. */
export function parseDockerfile(source: string, file: string): Dockerfile {
  const { escape, instructions } = instructionsOf(source);
  const df: Dockerfile = { file, escape, globalArgs: [], stages: [] };
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(ins.text);
      if (!m) throw new Error(`line ${ins.line}: FROM needs an image ("FROM image [AS name]")`);
      df.stages.push({ index: df.stages.length, ...(m[2] ? { name: m[2] } : {}), base: m[1]!, from: ins, instructions: [] });
    } else if (df.stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM (only ARG may come first)`);
      df.globalArgs.push(ins);
    } else {
      df.stages[df.stages.length - 1]!.instructions.push(ins);
    }
  }
  if (!df.stages.length) throw new Error('no FROM instruction: not a Dockerfile');
  return df;
}

/** A stage's label in reports: its name, or its index as a string. */
export const stageLabel = (s: Stage): string => s.name ?? String(s.index);

/** Per Dockerfile: global ARG defaults, and each stage's parent(s) (memoized: a chain of thousands of stages is read once). */
interface Links {
  defaults: Map<string, string>;
  /** Per stage index: the earlier stage its FROM names, null for an image, or 'any' for a variable naming a stage by default. */
  parent: Array<Stage | null | 'any'>;
}
const LINKS = new WeakMap<Dockerfile, Links>();

function links(df: Dockerfile): Links {
  let l = LINKS.get(df);
  if (l) return l;
  const defaults = new Map<string, string>();
  for (const a of df.globalArgs) {
    for (const m of a.text.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?/g)) if (m[2] !== undefined) defaults.set(m[1]!, m[2].replace(/^["']|["']$/g, ''));
  }
  const named = new Map<string, Stage>(); // the latest stage of each name so far
  const parent: Links['parent'] = [];
  l = { defaults, parent };
  LINKS.set(df, l);
  for (const st of df.stages) {
    const p = named.get(expandGlobal(df, st.base).toLowerCase()) ?? null;
    parent.push(p && st.base.includes('$') ? 'any' : p);
    if (st.name) named.set(st.name.toLowerCase(), st);
  }
  return l;
}

/** At most this many readings of a chain whose FROMs hold variables; beyond, the chain is not tried. */
const MAX_READINGS = 32;

const CHAINS = new WeakMap<Dockerfile, Stage[][][]>();
const PREFIX = new WeakMap<Stage[], Stage[]>();

/** The chain `chain` extends by its last stage (a chain's steps are its prefix's and that stage's), if it was built so. */
export const chainPrefix = (chain: Stage[]): Stage[] | undefined => PREFIX.get(chain);

/**
 * The stage chains an image built with `target` as its last stage may be made of, root first: each
 * stage's FROM names an earlier stage (by its AS name, case-insensitive, global ARG defaults expanded)
 * or an image. A FROM whose variable names a stage by default (`ARG VARIANT=slim`, `FROM ${VARIANT}`)
 * names whatever `--build-arg` gave: any earlier named stage, or an image. A FROM whose default names
 * an image is read as that image (a build argument naming a stage there is not told apart). Empty when
 * there are more than MAX_READINGS. Computed once per Dockerfile, parents before children.
 */
export function stageChains(df: Dockerfile, target: Stage): Stage[][] {
  let all = CHAINS.get(df);
  if (!all) {
    const { parent } = links(df);
    all = [];
    const extend = (c: Stage[], s: Stage): Stage[] => {
      const out = [...c, s];
      PREFIX.set(out, c);
      return out;
    };
    for (const s of df.stages) {
      const p = parent[s.index]!;
      let chains: Stage[][];
      if (p === null) chains = [[s]];
      else if (p !== 'any') chains = all[p.index]!.map((c) => extend(c, s));
      else {
        chains = [[s]];
        for (const q of df.stages.slice(0, s.index)) if (q.name) chains.push(...all[q.index]!.map((c) => extend(c, s)));
        if (chains.length > MAX_READINGS) chains = [];
      }
      all.push(chains);
    }
    CHAINS.set(df, all);
  }
  return all[target.index]!;
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** `${NAME}` / `$NAME` in a FROM replaced by the global ARG defaults (what a plain build uses). */
export function expandGlobal(df: Dockerfile, word: string): string {
  if (!word.includes('$')) return word;
  const { defaults } = links(df);
  return word.replace(VARIABLE, (all, a?: string, b?: string) => defaults.get((a ?? b)!) ?? all);
}
