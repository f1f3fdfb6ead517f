/**
 * One source of truth for the report: schema/report.schema.json. The TypeScript types the code
 * builds reports with (src/report/types.ts) are generated from it (`npm run schema`), so a field the
 * schema lacks does not compile; and the reports checked in under reports/ still validate.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateReportTypes, TYPES } from '../../schema/types.mjs';
import { expectSchemaValid } from '../helpers/report.js';

const REPORTS = new URL('../../reports/', import.meta.url);

describe('the report contract', () => {
  it('src/report/types.ts is what the schema generates (run `npm run schema` after editing the schema)', async () => {
    expect(readFileSync(TYPES, 'utf8')).toBe(await generateReportTypes());
  });

  it('every report checked in under reports/ validates against the schema', () => {
    const names = readdirSync(REPORTS).filter((n) => n.endsWith('.json'));
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(() => expectSchemaValid(JSON.parse(readFileSync(new URL(n, REPORTS), 'utf8'))), n).not.toThrow();
  });
});
