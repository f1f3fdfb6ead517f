/**
 * Puts Dockerfile lines on an Analysis (docs/dockerfile.md): each history step and layer gets the
 * instruction that made it, each finding the location of the step it is mainly about, and the report
 * says which steps matched nothing.
 */
import type { Analysis, DockerfileLocation, DockerfileStep, Finding } from '../report/types.js';
import type { BuildContext } from './expect.js';
import type { LayerPaths } from './layer-paths.js';
import { type HistoryMatch, matchHistory, type StepMatch } from './match.js';
import { type Dockerfile, stageLabel } from './parse.js';

/** Where a finding's paths and packages are when its evidence names no layer (the pipeline knows). */
export interface LayerLookup {
  /** The layer that holds a path of the final filesystem. */
  path(p: string): number | undefined;
  /** The layer holding most of an owner's (`apt:gcc-12`) visible bytes. */
  owner(o: string): number | undefined;
}

function stepOf(df: Dockerfile, m: StepMatch): DockerfileStep | undefined {
  if (m.kind === 'unmatched') return undefined;
  const ins = m.kind === 'instruction' ? m.ins : m.stage.from;
  return { file: df.file, line: ins.line, endLine: ins.endLine, stage: stageLabel(m.stage), instruction: ins.keyword };
}

const at = (d: DockerfileStep | undefined): DockerfileLocation | undefined => (d ? { file: d.file, line: d.line, endLine: d.endLine } : undefined);

/** First of evidence.steps, else the first evidence layer (the one that added a path) that matched. */
function fromEvidence(a: Analysis, f: Finding): DockerfileStep | undefined {
  const e = f.evidence;
  for (const s of e.steps ?? []) {
    const d = a.history[s]?.dockerfile;
    if (d) return d;
  }
  const layers = [...(e.layers ?? []), ...(e.items ?? []).flatMap((i) => (i.layer === undefined ? [] : [i.layer]))];
  for (const l of layers) {
    const d = a.layers[l]?.dockerfile;
    if (d) return d;
  }
  return undefined;
}

function findingStep(a: Analysis, f: Finding, lookup: LayerLookup | undefined): DockerfileStep | undefined {
  const d = fromEvidence(a, f);
  if (d || !lookup) return d;
  const p = f.evidence.items?.find((i) => i.layer === undefined)?.path;
  const o = f.evidence.packages?.[0];
  const layer = (p !== undefined ? lookup.path(p) : undefined) ?? (o !== undefined ? lookup.owner(o) : undefined);
  return layer === undefined ? undefined : a.layers[layer]?.dockerfile;
}

/** What the pipeline knows beyond the report: each layer's paths, the base images' history lengths. */
export interface LocateEvidence {
  /** Per layer (index into `layers`). */
  layerPaths?: ReadonlyArray<LayerPaths | undefined>;
  /** Per root stage index: how many leading history entries are its FROM image (dockerfile/base.ts). */
  baseSteps?: ReadonlyMap<number, number>;
  /** Lengths of images the history starts with, for a FROM image not known (dockerfile/base.ts). */
  baseCandidates?: readonly number[];
  /** The build context, to check classic COPY records on (dockerfile/read.ts contextProbe). */
  context?: BuildContext;
}

/** Matches the history to `df` and writes the locations into `a` (in place); returns the match. */
export function locate(a: Analysis, df: Dockerfile, lookup?: LayerLookup, ev: LocateEvidence = {}): HistoryMatch {
  const m = matchHistory(
    df,
    a.history.map((h) => h.createdBy),
    {
      layers: a.history.map((h) => (h.layer === null ? undefined : ev.layerPaths?.[h.layer])),
      baseSteps: (root) => ev.baseSteps?.get(root.index),
      ...(ev.baseCandidates ? { baseCandidates: ev.baseCandidates } : {}),
      ...(ev.context ? { context: ev.context } : {}),
    },
  );
  if (m.ambiguous) {
    a.warnings.push(`--dockerfile ${df.file}: ambiguous: stages ${m.ambiguous.map(stageLabel).join(' and ')} pair with the history equally well on different lines; no step is matched`);
  }
  const unmatched: Array<{ step: number; createdBy: string }> = [];
  a.history.forEach((h, j) => {
    const d = stepOf(df, m.steps[j]!);
    if (!d) {
      unmatched.push({ step: j, createdBy: h.createdBy });
      return;
    }
    h.dockerfile = d;
    if (h.layer !== null && a.layers[h.layer]) a.layers[h.layer]!.dockerfile = d;
  });
  for (const f of a.findings) {
    const loc = at(findingStep(a, f, lookup));
    if (loc) f.location = loc;
  }
  a.dockerfile = {
    file: df.file,
    ...(m.target ? { stage: stageLabel(m.target) } : {}),
    matched: m.matched,
    baseImage: m.steps.filter((s) => s.kind === 'base').length,
    unmatched,
  };
  return m;
}
