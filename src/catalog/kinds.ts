/**
 * The kinds a file can be (README.md "Kinds"), in the order reports list them. The names are the
 * report's (report/analysis.ts `Kind`); the rules that pick one are attribute/kinds.ts.
 */
export const KINDS = [
  'model-weights',
  'cuda-devel',
  'cuda-runtime',
  'toolchain',
  'caches',
  'python',
  'docs',
  'app',
  'system',
  'other',
] as const;
