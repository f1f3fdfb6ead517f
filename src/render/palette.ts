/**
 * The colours the HTML views draw with, one place for every chart and the treemap (issue 16): a kind
 * is the same colour wherever it is drawn. Kinds take Tableau's ten categorical colours, chosen to
 * stay apart for the common colour-vision deficiencies; the related CUDA kinds are neighbours (red,
 * pink). The cold-start phases take a ramp of their own, blue (pull) to orange (ready), so a phase is
 * never read as a kind.
 */
import type { Kind } from '../report/types.js';

export const KIND_COLOURS: Readonly<Record<Kind, string>> = {
  'model-weights': '#b07aa1',
  'cuda-devel': '#e15759',
  'cuda-runtime': '#ff9da7',
  toolchain: '#f28e2b',
  caches: '#edc948',
  python: '#4e79a7',
  docs: '#9c755f',
  app: '#59a14f',
  system: '#76b7b2',
  other: '#bab0ac',
};

/** The cold-start phases in the order they happen (docs/coldstart.md "Phases"). */
export const PHASES = ['pull', 'create', 'start', 'ready'] as const;
export type Phase = (typeof PHASES)[number];

export const PHASE_COLOURS: Readonly<Record<Phase, string>> = {
  pull: '#08519c',
  create: '#6baed6',
  start: '#fdae6b',
  ready: '#e6550d',
};
