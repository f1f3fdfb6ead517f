import { readFileSync } from 'node:fs';
import type { Analysis } from './types.js';

/** The `schemaVersion` every report carries (the schema's `const`). */
export const SCHEMA_VERSION: Analysis['schemaVersion'] = 1;

/** The version every report names as its `tool.version`: package.json's. */
export function toolVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}
