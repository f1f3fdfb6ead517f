/**
 * The report contract in one place: every JSON document imgscope writes is one of these. The schema
 * (schema/report.schema.json) describes the same shapes; test/unit/report.test.ts holds them together.
 */
import type { Analysis } from './analysis.js';
import type { ColdStartReport } from './coldstart.js';
import type { Comparison } from './comparison.js';

/** What `--format json` writes: an analysis or cold-start report (an array for several images), or a comparison. */
export type Report = Analysis | Analysis[] | ColdStartReport | ColdStartReport[] | Comparison;
