/**
 * What the builders record in an image's history `created_by` for one instruction (docs/dockerfile.md
 * "What the builders record"), as a test on a recorded entry. Both forms are read: the classic builder's
 * (`/bin/sh -c #(nop)  CMD […]`, `|1 A=b /bin/sh -c cmd`, `#(nop) COPY file:<hash> in /dest `) and
 * BuildKit's (`RUN |1 A=b /bin/sh -c cmd # buildkit`, `COPY src /dest # buildkit`, `WORKDIR /app`).
 * A test says yes only on text it can check; variables the builder expands are wildcards.
 */
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

const full = (src: string, body: string): boolean => new RegExp(`^${src}$`, 's').test(body);

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
}

export const initialState = (escape: string): ChainState => ({ escape, shell: ['/bin/sh', '-c'], workdir: '.*?' });

/** RUN's command as it is handed to the shell (heredocs as BuildKit passes them). */
function runCommand(ins: Instruction, shell: string[]): string[] {
  if (ins.json) return ins.json;
  const h = ins.heredocs;
  if (h.length && /^<<-?\s*["']?[A-Za-z_][A-Za-z0-9_]*["']?$/.test(ins.text.trim())) {
    const data = h[0]!.body;
    return data.startsWith('#!') ? [`/dev/pipes/${h[0]!.name}`] : [...shell, data];
  }
  return [...shell, ins.text + h.map((d) => `\n${d.body}${d.name}`).join('')];
}

function testRun(ins: Instruction, st: ChainState, body: string): boolean {
  const cmd = escapeRe(norm(runCommand(ins, st.shell).join(' ')));
  return full(`(?:\\|\\d+ .*? )?${cmd}`, body);
}

function copyArgs(ins: Instruction): string[] {
  const a = ins.json ?? ins.text.split(/\s+/).filter(Boolean);
  return a;
}

function testCopy(ins: Instruction, body: string): boolean {
  const args = copyArgs(ins);
  if (args.length < 2) return false;
  const dest = args[args.length - 1]!;
  const classic = /^(?:--chown=\S*?)?([a-z]+):[0-9a-f]{16,} in (.*)$/.exec(body);
  if (classic) return full(wild(dest), classic[2]!.trim()) && (args.length === 2 || classic[1] === 'multi');
  const recorded = body.split(' ').filter((t) => !t.startsWith('--')).join(' ');
  return full(args.map(wild).join(' '), recorded);
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
  COPY: (ins, _st, body) => testCopy(ins, body),
  ADD: (ins, _st, body) => testCopy(ins, body),
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

/** Whether `rec` is what the builder records for `ins` in state `st`. */
export function recordedBy(ins: Instruction, st: ChainState, rec: Recorded): boolean {
  if (rec.keyword !== ins.keyword) return false;
  const t = TESTS[ins.keyword];
  return !!t && t(ins, st, rec.body);
}

/** The state after `ins` (SHELL and WORKDIR change what later records look like). */
export function advance(ins: Instruction, st: ChainState): ChainState {
  if (ins.keyword === 'SHELL' && ins.json) return { ...st, shell: ins.json };
  if (ins.keyword === 'WORKDIR') return { ...st, workdir: workdirAfter(ins, st) };
  return st;
}

/** Instructions that may leave no history entry (BuildKit records no ONBUILD). */
export const OPTIONAL = new Set(['ONBUILD']);
