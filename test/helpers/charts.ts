/**
 * Three images with known numbers for the comparison charts' tests (unit and browser): sizes by kind,
 * cold runs whose median run is known by construction, and one image with no cold run. The first
 * image's name is hostile (markup, quotes, a control character).
 */
import { readFileSync } from 'node:fs';
import type { Analysis, ColdStart, Kind, RunPhases } from '../../src/report/types.js';
import { makeAnalysis } from './analysis.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

export const HOSTILE_NAME = `<script>alert("x")</script>'\x1b[31m`;

export interface ChartImage {
  name: string;
  kinds: Partial<Record<Kind, number>>;
  /** pull, create, start, ready per cold run; none: a warm run only. */
  coldRuns: Array<[number, number, number, number]>;
  /** The phases the chart must draw: the run with the median total, or the mean of the two middle ones. */
  medianRun: [number, number, number, number] | null;
}

export const CHART_IMAGES: ChartImage[] = [
  {
    name: HOSTILE_NAME,
    kinds: { 'cuda-devel': GiB, python: 300 * MiB, system: 100 * MiB },
    // totals 11 000, 12 000, 13 000: the median run is the second, whose pull (8000) is not the median pull (10 000)
    coldRuns: [[10_000, 50, 200, 750], [8000, 40, 100, 3860], [12_000, 60, 300, 640]],
    medianRun: [8000, 40, 100, 3860],
  },
  {
    name: 'multi "stage"',
    kinds: { python: 200 * MiB, app: 50 * MiB },
    // totals 5000, 6000, 7000, 9000: the mean of the 6000 and 7000 runs
    coldRuns: [[8000, 100, 300, 600], [4000, 100, 300, 600], [5600, 200, 500, 700], [5000, 100, 300, 600]],
    medianRun: [5300, 150, 400, 650],
  },
  { name: 'warm-only', kinds: { system: 80 * MiB }, coldRuns: [], medianRun: null },
];

export const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** The final bytes by construction: what the kinds add up to. */
export const finalBytes = (i: ChartImage): number => sum(Object.values(i.kinds));

const digest = (n: number): string => `sha256:${String(n + 1).repeat(64)}`;

export function chartAnalysis(i: ChartImage, n: number): Analysis {
  const a = makeAnalysis({ reference: `app:${n}`, imageBytes: finalBytes(i) + MiB, kinds: i.kinds });
  return { ...a, image: { ...a.image, configDigest: digest(n) } };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return { median: s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2, p90: s[Math.ceil(0.9 * s.length) - 1]!, min: s[0]!, max: s[s.length - 1]!, n: s.length };
};

/**
 * A coldstart report for the image (schema-valid: the demo's cpu-naive report with the runs, the
 * phases and the identity replaced), cold when `cold`, else one warm run of 900 ms.
 */
export function chartColdStart(i: ChartImage, n: number, cold: boolean): ColdStart {
  const template = (JSON.parse(readFileSync(new URL('../../reports/cpu-naive.coldstart.json', import.meta.url), 'utf8')) as { coldStart: ColdStart }).coldStart;
  const runs: RunPhases[] = (cold ? i.coldRuns : [[0, 100, 300, 500] as const]).map(([pull, create, start, ready]) => ({
    ...(cold ? { pull, download: pull / 2, extract: pull / 2 } : {}),
    create, start, ready, startToReady: create + start + ready, total: (cold ? pull : 0) + create + start + ready,
  }));
  const pick = (k: keyof RunPhases) => stats(runs.map((r) => r[k]!));
  return {
    ...template,
    reference: `app:${n}`,
    imageId: digest(n),
    runs,
    phases: {
      ...(cold ? { pull: pick('pull'), download: pick('download'), extract: pick('extract') } : {}),
      create: pick('create'), start: pick('start'), ready: pick('ready'), startToReady: pick('startToReady'), total: pick('total'),
    },
    cold: cold ? template.cold : null,
    pulls: cold ? template.pulls!.slice(0, 1) : null,
    workingSet: null,
  };
}

/** The compare inputs: each image with its cold report (when it has cold runs) and a warm one. */
export const chartInputs = () =>
  CHART_IMAGES.map((i, n) => ({
    name: i.name,
    analysis: chartAnalysis(i, n),
    starts: [...(i.coldRuns.length ? [chartColdStart(i, n, true)] : []), chartColdStart(i, n, false)],
  }));
