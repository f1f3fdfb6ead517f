/**
 * History entries matched to the Dockerfile instructions that made them (docs/dockerfile.md
 * "Matching"). Every instruction but FROM leaves one entry (BuildKit leaves none for ONBUILD), in order,
 * so a stage chain's instructions and the image's own entries are aligned as two sequences: a pair is
 * one whose recorded text checks under the instruction, the alignment keeps the most pairs, and a pair
 * is given only when every such alignment holds it (an edit that leaves two readings leaves both
 * unmatched), and a classic COPY checked less than exactly only when nothing else could have made its
 * step (`standing`): an unmatched step rather than a wrong line. The entries that came with the base image are told apart only with evidence: the base
 * image's own history, when the source holds it.
 */
import type { LayerPaths } from './layer-paths.js';
import { advance, type BuildContext, type ChainState, chainContext, EXACT, initialState, OPTIONAL, type Recorded, readRecorded, recordedBy, STRONG, type Verdict, WEAK } from './expect.js';
import { chainPrefix, type Dockerfile, type Instruction, type Stage, stageChains } from './parse.js';

export type StepMatch =
  | { kind: 'instruction'; stage: Stage; ins: Instruction }
  | { kind: 'base'; stage: Stage }
  | { kind: 'unmatched' };

export interface HistoryMatch {
  /** The stage the image was built to (the last of its chain); undefined when none matched. */
  target?: Stage;
  /** One per history entry. */
  steps: StepMatch[];
  matched: number;
  /** Stages whose chains pair equally well but with different lines: then nothing is matched. */
  ambiguous?: Stage[];
}

/** What the image tells beyond the history's text. */
export interface MatchEvidence {
  /** Per history entry: the paths of the layer it made (undefined for an empty layer or when unknown). */
  layers?: ReadonlyArray<LayerPaths | undefined>;
  /** How many leading history entries are the image its FROM names (a chain's root stage), when known. */
  baseSteps?: (root: Stage) => number | undefined;
  /**
   * Where the FROM image is not known: lengths of images the history starts with (dockerfile/base.ts).
   * One is taken only when the chain then pairs every later entry and every instruction.
   */
  baseCandidates?: readonly number[];
  /** The build context (the Dockerfile's directory): confirms or refutes a classic COPY by its files and their sizes. */
  context?: BuildContext;
}

interface Step {
  stage: Stage;
  ins: Instruction;
  st: ChainState;
}

/** Steps of chains already read (a chain's steps extend its prefix's, parse.ts chainPrefix). */
const STEPS = new WeakMap<Stage[], Step[]>();

/** The instructions of a chain with the state each is recorded in; a chain's prefix is read once. */
function chainSteps(df: Dockerfile, chain: Stage[]): Step[] {
  const todo: Stage[][] = [];
  let c: Stage[] | undefined = chain;
  while (c && !STEPS.has(c)) {
    todo.push(c);
    c = chainPrefix(c);
  }
  let steps = c ? STEPS.get(c)! : [];
  for (const ch of todo.reverse()) {
    const pre = chainPrefix(ch);
    const stages = pre ? ch.slice(pre.length) : ch;
    const last = steps[steps.length - 1];
    let st = last ? advance(last.ins, last.st) : initialState(df.escape);
    steps = pre ? steps.slice() : [];
    for (const stage of stages) {
      for (const ins of stage.instructions) {
        steps.push({ stage, ins, st });
        st = advance(ins, st);
      }
    }
    STEPS.set(ch, steps);
  }
  return steps;
}

/** A step's verdict against every entry (expect.ts recordedBy), computed once per step and build context. */
type Rows = (s: Step, context: BuildContext | undefined) => readonly Verdict[];

function verdictRows(recs: Recorded[], ev: MatchEvidence): Rows {
  const seen = new Map<Step, { context: BuildContext | undefined; row: Verdict[] }>();
  return (s, context) => {
    const had = seen.get(s);
    if (had && had.context === context) return had.row;
    const row = recs.map((r, j) => recordedBy(s.ins, s.st, r, ev.layers?.[j], context));
    let last = row.length - 1;
    while (last >= 0 && row[last] === 0) last--;
    LAST.set(row, last);
    seen.set(s, { context, row });
    return row;
  };
}

/** Per verdict row: the last entry it pairs with (-1: none). */
const LAST = new WeakMap<readonly Verdict[], number>();

type Grid<T> = T[][];
const grid = <T>(n: number, m: number, v: T): Grid<T> => Array.from({ length: n + 1 }, () => new Array<T>(m + 1).fill(v));

/**
 * The pairs every maximum alignment of `steps` with `recs` holds (pairs only where `v` > 0). `best`
 * and `ways` count the longest alignments of prefixes (and of suffixes, from the end); a pair is in
 * all of them when the ones through it are all there are.
 */
function forcedPairs(v: Grid<Verdict>, n: number, m: number): Array<[number, number]> {
  const F = grid(n, m, 0);
  const cF = grid(n, m, 1n);
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      const diag = v[i - 1]![j - 1]! > 0 ? F[i - 1]![j - 1]! + 1 : -1;
      const best = Math.max(F[i - 1]![j]!, F[i]![j - 1]!, diag);
      F[i]![j] = best;
      let ways = 0n;
      if (F[i - 1]![j] === best) ways += cF[i - 1]![j]!;
      if (F[i]![j - 1] === best) ways += cF[i]![j - 1]!;
      if (F[i - 1]![j - 1] === best) ways -= cF[i - 1]![j - 1]!; // counted in both
      if (diag === best) ways += cF[i - 1]![j - 1]!;
      cF[i]![j] = ways;
    }
  }
  const G = grid(n, m, 0);
  const cG = grid(n, m, 1n);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const diag = v[i]![j]! > 0 ? G[i + 1]![j + 1]! + 1 : -1;
      const best = Math.max(G[i + 1]![j]!, G[i]![j + 1]!, diag);
      G[i]![j] = best;
      let ways = 0n;
      if (G[i + 1]![j] === best) ways += cG[i + 1]![j]!;
      if (G[i]![j + 1] === best) ways += cG[i]![j + 1]!;
      if (G[i + 1]![j + 1] === best) ways -= cG[i + 1]![j + 1]!;
      if (diag === best) ways += cG[i + 1]![j + 1]!;
      cG[i]![j] = ways;
    }
  }
  const opt = F[n]![m]!;
  const total = cF[n]![m]!;
  const out: Array<[number, number]> = [];
  if (opt === 0) return out;
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < n; i++) {
      if (v[i]![j]! > 0 && F[i]![j]! + 1 + G[i + 1]![j + 1]! === opt && cF[i]![j]! * cG[i + 1]![j + 1]! === total) out.push([i, j]);
    }
  }
  return out;
}

/**
 * Without the base image's length, the entries before the Dockerfile's own could be anyone's: the
 * last entry must pair (the image ends with this Dockerfile's step), and going back, a gap holding
 * entries that no instruction explains one for one (same keywords: an edit) ends the trust: a removed
 * instruction and the base image look alike.
 */
function trustedFromEnd(pairs: Array<[number, number]>, steps: Step[], recs: Recorded[]): Array<[number, number]> {
  const last = pairs[pairs.length - 1];
  if (!last || last[1] !== recs.length - 1) return [];
  let k = pairs.length - 1;
  for (; k > 0; k--) {
    const [i1, j1] = pairs[k - 1]!;
    const [i2, j2] = pairs[k]!;
    if (j2 - j1 === 1) continue;
    const ins = steps.slice(i1 + 1, i2).filter((s) => !OPTIONAL.has(s.ins.keyword));
    const gap = recs.slice(j1 + 1, j2);
    if (ins.length !== gap.length || gap.some((r, x) => r.keyword !== ins[x]!.ins.keyword)) break;
  }
  return pairs.slice(k);
}

interface Aligned {
  steps: StepMatch[];
  matched: number;
  /** Chain instructions left unpaired. */
  unpaired: number;
  /**
   * Whether the chain could end this image: each entry after its last pair has an instruction of its
   * keyword after that pair, in order (endsImage).
   */
  ends: boolean;
}

/**
 * The forced pairs that stand, by rank (expect.ts Verdict). An exact pair stands. A strong pair (a
 * classic COPY its layer confirms) stands unless a rival checks as strongly or better: another
 * instruction against its entry, or another entry against its instruction, that an alignment keeping
 * the exact pairs could hold (neither held by one, nor crossing one). Two COPYs whose layers look alike
 * are told apart by nothing but their order, which an edit may have swapped. A weak pair (a classic
 * COPY nothing confirms) must have no rival of any rank (beside the exact and strong pairs standing)
 * and stand beside an exact pair (the one before or after it), or be the chain's first step right
 * after a known base image.
 */
function standing(v: Sparse, forced: Array<[number, number]>, anchoredAtStart: boolean): Array<[number, number]> {
  const held: Array<[number, number]> = forced.filter(([i, j]) => v.at(i, j) === EXACT);
  const exact = new Set(held.map(([i, j]) => `${i},${j}`));
  if (anchoredAtStart) exact.add('-1,-1');
  // (i2, j2) fits beside the pairs standing: its instruction and entry free, and in order with every pair
  const fits = (i2: number, j2: number): boolean => held.every(([a, b]) => (a < i2 && b < j2) || (a > i2 && b > j2));
  const rival = (i: number, j: number, rank: Verdict): boolean =>
    v.rows.some((i2) => i2 !== i && v.at(i2, j) >= rank && fits(i2, j)) || v.cols.some((j2) => j2 !== j && v.at(i, j2) >= rank && fits(i, j2));
  const strong = forced.filter(([i, j]) => v.at(i, j) === STRONG && !rival(i, j, STRONG));
  held.push(...strong);
  const weak = forced.filter(([i, j]) => v.at(i, j) === WEAK && !rival(i, j, WEAK) && (exact.has(`${i - 1},${j - 1}`) || exact.has(`${i + 1},${j + 1}`)));
  const keep = new Set([...held, ...weak].map(([i, j]) => `${i},${j}`));
  return forced.filter(([i, j]) => keep.has(`${i},${j}`));
}

/** The verdicts of a chain against the entries from one on, by the chain's and the entries' own indices; `rows`: the instructions that pair any. */
interface Sparse {
  at(i: number, j: number): Verdict;
  rows: number[];
  cols: number[];
}

/**
 * The pairs of `steps` with the entries from `lo` on (indices into `recs`) that stand. Instructions
 * that check under no entry take no part in any alignment: they are left out of the count (a chain
 * of thousands of stages is mostly such), their indices kept.
 */
function pairsFrom(steps: Step[], recs: Recorded[], lo: number | undefined, rows: (s: Step) => readonly Verdict[]): Array<[number, number]> {
  const from = lo ?? 0;
  const m = recs.length - from;
  const keep: number[] = [];
  steps.forEach((s, i) => {
    if ((LAST.get(rows(s)) ?? Infinity) >= from) keep.push(i);
  });
  const v = keep.map((i) => rows(steps[i]!).slice(from));
  const forced = forcedPairs(v, keep.length, m).map(([k, j]) => [keep[k]!, j] as [number, number]);
  const sparse: Sparse = { at: (i, j) => rows(steps[i]!)[from + j]!, rows: keep, cols: Array.from({ length: m }, (_x, j) => j) };
  return standing(sparse, forced, lo !== undefined).map(([i, j]) => [i, from + j] as [number, number]);
}

/** A base length taken from the candidates: the one after which every entry and instruction pairs. */
function fromCandidates(steps: Step[], recs: Recorded[], ev: MatchEvidence, rows: (s: Step) => readonly Verdict[]): { lo: number; pairs: Array<[number, number]> } | undefined {
  const needed = steps.filter((s) => !OPTIONAL.has(s.ins.keyword)).length;
  for (const k of ev.baseCandidates ?? []) {
    if (k > recs.length) continue;
    const pairs = pairsFrom(steps, recs, k, rows);
    if (pairs.length === recs.length - k && pairs.length >= needed) return { lo: k, pairs };
  }
  return undefined;
}

function align(steps: Step[], recs: Recorded[], root: Stage, ev: MatchEvidence, rows: (s: Step) => readonly Verdict[]): Aligned {
  const out: StepMatch[] = recs.map(() => ({ kind: 'unmatched' }));
  const base = ev.baseSteps?.(root);
  let lo: number | undefined;
  let pairs: Array<[number, number]>;
  if (base !== undefined && base <= recs.length) {
    lo = base;
    pairs = pairsFrom(steps, recs, lo, rows);
  } else {
    const c = fromCandidates(steps, recs, ev, rows);
    lo = c?.lo;
    pairs = c?.pairs ?? trustedFromEnd(pairsFrom(steps, recs, undefined, rows), steps, recs);
  }
  for (const [i, j] of pairs) out[j] = { kind: 'instruction', stage: steps[i]!.stage, ins: steps[i]!.ins };
  if (lo !== undefined && pairs.length > 0) for (let k = 0; k < lo; k++) out[k] = { kind: 'base', stage: root };
  return { steps: out, matched: pairs.length, unpaired: steps.length - pairs.length, ends: endsImage(pairs, steps, recs) };
}

/**
 * Each entry after the last pair has an instruction after that pair of its keyword, in order (an edited
 * instruction; instructions appended since the build may be left over, entries may not).
 */
function endsImage(pairs: Array<[number, number]>, steps: Step[], recs: Recorded[]): boolean {
  const [i, j] = pairs[pairs.length - 1] ?? [-1, -1];
  let k = i + 1;
  for (const r of recs.slice(j + 1)) {
    while (k < steps.length && steps[k]!.ins.keyword !== r.keyword) k++;
    if (k++ >= steps.length) return false;
  }
  return true;
}

function sameStep(s: StepMatch, t: StepMatch): boolean {
  if (s.kind !== t.kind) return false;
  if (s.kind === 'instruction') return s.ins === (t as typeof s).ins;
  if (s.kind === 'base') return s.stage.from === (t as typeof s).stage.from;
  return true;
}

const sameLines = (a: StepMatch[], b: StepMatch[]): boolean => a.every((s, j) => sameStep(s, b[j]!));

/**
 * What every reading of a target's chain agrees on (one reading per parent a variable FROM may name,
 * parse.ts stageChains): an entry they pair differently is unmatched.
 */
function agreed(readings: Aligned[]): Aligned {
  if (readings.length === 1) return readings[0]!;
  const [first, ...rest] = readings;
  const steps = first!.steps.map((s, j): StepMatch => (rest.every((r) => sameStep(s, r.steps[j]!)) ? s : { kind: 'unmatched' }));
  const matched = steps.filter((s) => s.kind === 'instruction').length;
  return { steps: matched ? steps : steps.map(() => ({ kind: 'unmatched' })), matched, unpaired: Math.max(...readings.map((r) => r.unpaired)), ends: true };
}

/**
 * Matches an image's history (`created_by` of each entry, oldest first) to the Dockerfile. Every stage
 * is tried as the build target (a `--target` build holds only its chain); a stage whose chain cannot
 * end this image (`ends`: a builder stage ending in a RUN where the image ends in a COPY) is not one,
 * and of the others the one pairing the most entries wins. Stages that tie with different lines leave
 * every entry unmatched and are named in `ambiguous`; with the same lines, the chain leaving fewest
 * instructions unpaired is the target. An entry that another possible target pairs with another line
 * (two stages holding the same RUN, one of them edited) is left unmatched.
 */
export function matchHistory(df: Dockerfile, createdBy: readonly string[], ev: MatchEvidence = {}): HistoryMatch {
  const recs = createdBy.map(readRecorded);
  const none: HistoryMatch = { steps: recs.map(() => ({ kind: 'unmatched' })), matched: 0 };
  const rows = verdictRows(recs, ev);
  const contexts = new Map<string, BuildContext>();
  const tried = df.stages.flatMap((target) => {
    const readings = stageChains(df, target)
      .map((chain) => {
        const context = ev.context && chainContext(chain, ev.context, contexts);
        return align(chainSteps(df, chain), recs, chain[0]!, ev, (s) => rows(s, context));
      })
      .filter((r) => r.ends);
    return readings.length ? [{ target, ...agreed(readings) }] : [];
  });
  const possible = tried.filter((t) => t.matched > 0);
  const most = Math.max(0, ...possible.map((t) => t.matched));
  if (most === 0) return none;
  const top = possible.filter((t) => t.matched === most);
  if (top.some((t) => !sameLines(t.steps, top[0]!.steps))) return { ...none, ambiguous: top.map((t) => t.target) };
  // the same lines from several chains (one stage FROM another): the chain with fewest left over
  const fewest = Math.min(...top.map((t) => t.unpaired));
  const pick = top.filter((t) => t.unpaired === fewest).pop()!;
  const steps = pick.steps.map((s, j): StepMatch => (s.kind === 'instruction' && possible.some((t) => pairedElsewhere(t.steps[j]!, s.ins)) ? { kind: 'unmatched' } : s));
  const matched = steps.filter((s) => s.kind === 'instruction').length;
  if (matched === 0) return none;
  return { target: pick.target, steps, matched };
}

const pairedElsewhere = (s: StepMatch, ins: Instruction): boolean => s.kind === 'instruction' && s.ins !== ins;
