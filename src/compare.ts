import { KINDS } from './catalog/kinds.js';
import { SEVERITIES } from './findings/rules.js';
import type { Analysis, ColdStart, ColdStartPhases, Comparison, ComparisonRow, FindingAcross, ImageDiff, Kind, OwnerDelta } from './report/types.js';
import { summarize } from './coldstart/stats.js';
import { shortenStep } from './util/format.js';

export interface ComparisonInput {
  name: string;
  analysis: Analysis;
  /** The image's coldstart measurements: a cold one (`cold` set) and/or a warm one. */
  starts?: ColdStart[];
}

const TOP = 10;

/** Normalizes a history step so the same instruction matches across images (no cache hashes). */
function stepKey(createdBy: string): string {
  return shortenStep(createdBy, 10_000).replace(/file:[0-9a-f]{16,}/g, 'file:…').replace(/dir:[0-9a-f]{16,}/g, 'dir:…');
}

function stepBytes(a: Analysis): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of a.layers) {
    const k = stepKey(l.createdBy || l.comment || `layer ${l.index + 1}`);
    m.set(k, (m.get(k) ?? 0) + l.bytes);
  }
  return m;
}

/**
 * The side-by-side comparison of several images against a baseline (pure: reports in, data out):
 * sizes, cold start, and what differs per kind, per owner and per Dockerfile step.
 */
export function compare(inputs: ComparisonInput[], baseline: number, version: string): Comparison {
  const base = inputs[baseline]!;
  const times = inputs.map((i) => startTimes(i.starts ?? []));
  const bt = times[baseline]!;
  const rows: ComparisonRow[] = inputs.map((i, idx) => {
    const t = times[idx]!;
    return {
      name: i.name,
      reference: i.analysis.image.reference,
      imageBytes: i.analysis.totals.imageBytes,
      compressedBytes: i.analysis.totals.compressedBytes,
      finalBytes: i.analysis.totals.finalBytes,
      wasteBytes: i.analysis.totals.wasteBytes,
      ...t,
      vsBaseline: {
        imageBytes: i.analysis.totals.imageBytes - base.analysis.totals.imageBytes,
        imageRatio: base.analysis.totals.imageBytes > 0 ? i.analysis.totals.imageBytes / base.analysis.totals.imageBytes : null,
        coldStartMs: t.coldStartMs !== null && bt.coldStartMs !== null ? t.coldStartMs - bt.coldStartMs : null,
        warmStartMs: t.warmStartMs !== null && bt.warmStartMs !== null ? t.warmStartMs - bt.warmStartMs : null,
      },
    };
  });
  const kindOf = (a: Analysis, k: Kind): number => a.kinds.find((r) => r.kind === k)?.bytes ?? 0;
  const kinds = KINDS.map((kind) => {
    const bytes = inputs.map((i) => kindOf(i.analysis, kind));
    return { kind, bytes, delta: bytes.map((b) => b - bytes[baseline]!) };
  });
  const baseOwners = new Map(base.analysis.owners.map((o) => [o.owner, o.bytes]));
  const baseSteps = stepBytes(base.analysis);
  const diffs: ImageDiff[] = inputs
    .filter((_, idx) => idx !== baseline)
    .map((i) => {
      const owners = new Map(i.analysis.owners.map((o) => [o.owner, o.bytes]));
      const both: OwnerDelta[] = [];
      const onlyHere: ImageDiff['onlyHere'] = [];
      for (const [owner, bytes] of owners) {
        const b = baseOwners.get(owner);
        if (b === undefined) {
          if (bytes > 0) onlyHere.push({ owner, bytes });
        } else if (bytes !== b) both.push({ owner, baseline: b, bytes, delta: bytes - b });
      }
      const onlyInBaseline = [...baseOwners].filter(([o, b]) => !owners.has(o) && b > 0).map(([owner, bytes]) => ({ owner, bytes }));
      const steps = stepBytes(i.analysis);
      const byBytes = (a: { bytes: number }, b: { bytes: number }): number => b.bytes - a.bytes;
      return {
        name: i.name,
        growers: both.filter((d) => d.delta > 0).sort((a, b) => b.delta - a.delta).slice(0, TOP),
        shrinkers: both.filter((d) => d.delta < 0).sort((a, b) => a.delta - b.delta).slice(0, TOP),
        onlyHere: onlyHere.sort(byBytes).slice(0, TOP),
        onlyInBaseline: onlyInBaseline.sort(byBytes).slice(0, TOP),
        stepsOnlyHere: [...steps].filter(([s]) => !baseSteps.has(s)).map(([step, bytes]) => ({ step, bytes })).sort(byBytes),
        stepsOnlyInBaseline: [...baseSteps].filter(([s]) => !steps.has(s)).map(([step, bytes]) => ({ step, bytes })).sort(byBytes),
      };
    });
  return { schemaVersion: 1, kind: 'comparison', tool: { name: 'imgscope', version }, generatedAt: new Date().toISOString(), baseline, rows, kinds, diffs, findings: findingsAcross(inputs) };
}

type StartTimes = Pick<ComparisonRow, 'pullMs' | 'downloadedBytes' | 'presentBytes' | 'startToReadyMs' | 'coldStartMs' | 'warmStartMs' | 'workingSetBytes' | 'workingSetShare' | 'coldStartPhases'>;

/** Create → ready of each run (reports written before startToReady existed: create + start + ready). */
const toReady = (c: ColdStart): number => summarize(c.runs.map((r) => r.startToReady ?? r.create + r.start + r.ready)).median;

/**
 * The phases of a cold report's median run: the runs sorted by total, the middle one, or with an even
 * number of runs the mean of the two middle ones, phase by phase. Their sum is the median total
 * (summarize's median), so a stacked bar of them ends at coldStartMs; the median of each phase
 * would not add up to it (docs/coldstart.md "In the comparison").
 */
export function medianRunPhases(c: ColdStart): ColdStartPhases {
  const runs = [...c.runs].sort((a, b) => a.total - b.total);
  const mid = Math.floor(runs.length / 2);
  const middle = runs.length % 2 === 1 ? [runs[mid]!] : [runs[mid - 1]!, runs[mid]!];
  const mean = (f: (r: (typeof runs)[number]) => number): number => middle.reduce((s, r) => s + f(r), 0) / middle.length;
  return { pullMs: mean((r) => r.pull ?? 0), createMs: mean((r) => r.create), startMs: mean((r) => r.start), readyMs: mean((r) => r.ready) };
}

/** The comparison's timing columns from an image's cold and warm measurements (the last of each kind wins). */
export function startTimes(starts: ColdStart[]): StartTimes {
  const cold = starts.filter((s) => s.cold).pop();
  const warm = starts.filter((s) => !s.cold).pop();
  const ws = [cold, warm].find((s) => s?.workingSet)?.workingSet ?? null;
  return {
    pullMs: cold?.phases.pull?.median ?? null,
    downloadedBytes: cold?.pulls?.length ? summarize(cold.pulls.map((p) => p.downloadedBytes)).median : null,
    presentBytes: cold?.pulls?.length ? summarize(cold.pulls.map((p) => p.presentBytes)).median : null,
    startToReadyMs: cold ? toReady(cold) : warm ? toReady(warm) : null,
    coldStartMs: cold ? cold.phases.total.median : null,
    warmStartMs: warm ? warm.phases.total.median : null,
    workingSetBytes: ws?.bytes ?? null,
    workingSetShare: ws?.share ?? null,
    coldStartPhases: cold ? medianRunPhases(cold) : null,
  };
}

/** One row per finding id across the images, worst severity first, then by the largest saving. */
export function findingsAcross(inputs: ComparisonInput[]): FindingAcross[] {
  const byId = new Map<string, FindingAcross>();
  inputs.forEach((inp, idx) => {
    for (const f of inp.analysis.findings ?? []) {
      let row = byId.get(f.id);
      if (!row) {
        row = { id: f.id, severity: f.severity, title: f.title, images: inputs.map(() => null) };
        byId.set(f.id, row);
      }
      const prev = row.images[idx];
      // a rule can emit one id once per image; keep the larger saving if it ever repeats
      if (!prev || (f.savingBytes ?? 0) > (prev.savingBytes ?? 0)) {
        row.images[idx] = { severity: f.severity, savingBytes: f.savingBytes, ...(f.savingSeconds !== undefined ? { savingSeconds: f.savingSeconds } : {}) };
      }
      if (SEVERITIES.indexOf(f.severity) < SEVERITIES.indexOf(row.severity)) row.severity = f.severity;
    }
  });
  const maxSaving = (r: FindingAcross) => Math.max(0, ...r.images.map((c) => c?.savingBytes ?? 0));
  return [...byId.values()].sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || maxSaving(b) - maxSaving(a) || (a.id < b.id ? -1 : 1));
}
