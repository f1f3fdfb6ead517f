/**
 * The kinds a file can be (README.md "Kinds"), in the order reports list them. The names are the
 * report's (`Kind`, from the schema); the rules that pick one are attribute/kinds.ts.
 */
import type { Kind } from '../report/types.js';

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
] as const satisfies readonly Kind[];
