/**
 * The report's TypeScript types (src/report/types.ts) are generated from schema/report.schema.json,
 * the one source of truth for the JSON imgscope writes: `npm run schema` writes them, and
 * test/unit/report-types.test.ts fails when the checked-in file differs from what this generates.
 * Each subschema with a `title` becomes a named type; descriptions become doc comments.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const SCHEMA = new URL('./report.schema.json', import.meta.url);
export const TYPES = new URL('../src/report/types.ts', import.meta.url);

const BANNER = `/**
 * Generated from schema/report.schema.json by \`npm run schema\` (schema/types.mjs): edit the schema,
 * not this file. Every JSON document imgscope writes is a \`Report\`.
 */`;

export async function generateReportTypes() {
  const schema = JSON.parse(readFileSync(SCHEMA, 'utf8'));
  const out = await compile({ ...schema, title: 'Report' }, 'Report', {
    bannerComment: BANNER,
    additionalProperties: false,
    // The schema's tuple bounds (ten kinds) stay checks of the JSON; the code builds plain arrays.
    ignoreMinAndMaxItems: true,
    unreachableDefinitions: false,
    style: { singleQuote: true, printWidth: 120 },
  });
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(TYPES, await generateReportTypes());
}
