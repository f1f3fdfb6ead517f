/**
 * History entries matched to the Dockerfile instructions that made them (docs/dockerfile.md
 * "Matching"). Every instruction but FROM leaves exactly one entry (BuildKit leaves none for ONBUILD),
 * in order, so the entries of a stage chain are the last ones of the history: they are paired from the
 * end, each pair checked on its recorded text. An entry whose text does not check under an instruction
 * of the same keyword is left unmatched (the Dockerfile changed since the build); a keyword that differs
 * ends the pairing, and everything before it stays unmatched. When every instruction of the chain is
 * paired and checked, the entries before them came with the base image its first FROM names.
 */
import { advance, type ChainState, initialState, OPTIONAL, type Recorded, readRecorded, recordedBy } from './expect.js';
import { type Dockerfile, type Instruction, type Stage, stageChain } from './parse.js';

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
}

interface Step {
  stage: Stage;
  ins: Instruction;
  st: ChainState;
}

function chainSteps(df: Dockerfile, chain: Stage[]): Step[] {
  let st = initialState(df.escape);
  const out: Step[] = [];
  for (const stage of chain) {
    for (const ins of stage.instructions) {
      out.push({ stage, ins, st });
      st = advance(ins, st);
    }
  }
  return out;
}

function align(steps: Step[], recs: Recorded[], root: Stage): { steps: StepMatch[]; matched: number } {
  const out: StepMatch[] = recs.map(() => ({ kind: 'unmatched' }));
  let i = steps.length - 1;
  let j = recs.length - 1;
  let matched = 0;
  let edited = 0;
  while (i >= 0 && j >= 0) {
    const s = steps[i]!;
    const r = recs[j]!;
    if (recordedBy(s.ins, s.st, r)) {
      out[j] = { kind: 'instruction', stage: s.stage, ins: s.ins };
      matched++;
      i--;
      j--;
    } else if (OPTIONAL.has(s.ins.keyword)) {
      i--;
    } else if (r.keyword === s.ins.keyword) {
      i--; // the same instruction with other text: neither is claimed
      j--;
      edited++;
    } else {
      return { steps: out, matched };
    }
  }
  while (i >= 0 && OPTIONAL.has(steps[i]!.ins.keyword)) i--;
  // the base image's steps are told apart only when every instruction checked: after an edit, the
  // entries left could as well be the Dockerfile's own
  if (i < 0 && edited === 0) for (let k = 0; k <= j; k++) out[k] = { kind: 'base', stage: root };
  return { steps: out, matched };
}

/**
 * Matches an image's history (`created_by` of each entry, oldest first) to the Dockerfile. Every stage
 * is tried as the build target (a `--target` build holds only its chain); the one pairing the most
 * entries wins, the later stage on a tie (the default target is the last).
 */
export function matchHistory(df: Dockerfile, createdBy: readonly string[]): HistoryMatch {
  const recs = createdBy.map(readRecorded);
  let best: HistoryMatch = { steps: recs.map(() => ({ kind: 'unmatched' })), matched: 0 };
  for (const target of df.stages) {
    const chain = stageChain(df, target);
    const r = align(chainSteps(df, chain), recs, chain[0]!);
    if (r.matched > 0 && r.matched >= best.matched) best = { target, ...r };
  }
  return best;
}
