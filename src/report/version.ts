import type { Analysis } from './types.js';

/** The `schemaVersion` every report carries (the schema's `const`). */
export const SCHEMA_VERSION: Analysis['schemaVersion'] = 1;
