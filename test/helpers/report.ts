import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { expect } from 'vitest';
import type { AnalyzeOptions } from '../../src/analysis.js';
import { wantsBody } from '../../src/catalog/metadata.js';
import { analyze, analyzeReference } from '../../src/pipeline.js';
import type { Analysis, ColdStart } from '../../src/report/types.js';
import { loadImage } from '../../src/image/load.js';
import { wantsProbe } from '../../src/inspect/probe.js';
import type { LoadOptions } from '../../src/image/types.js';

const schema = JSON.parse(readFileSync(new URL('../../schema/report.schema.json', import.meta.url), 'utf8')) as object;
const ajv = new Ajv2020({ allErrors: true, strict: true });
const addFormats = addFormatsModule as unknown as (a: Ajv2020) => void;
addFormats(ajv);
const validate = ajv.compile(schema);

/**
 * Every report a test produces goes through here: schema-valid, and for analyses owners and kinds
 * summing to the final size.
 */
export function checkReport(report: unknown): Analysis {
  const round = JSON.parse(JSON.stringify(report)) as unknown;
  if (!validate(round)) throw new Error(`report does not match schema: ${ajv.errorsText(validate.errors)}`);
  const list = (Array.isArray(round) ? round : [round]) as Analysis[];
  for (const a of list) {
    const ownerSum = a.owners.reduce((s, o) => s + o.bytes, 0);
    const kindSum = a.kinds.reduce((s, k) => s + k.bytes, 0);
    expect(ownerSum).toBe(a.totals.finalBytes);
    expect(kindSum).toBe(a.totals.finalBytes);
    for (const o of a.owners) expect(Object.values(o.kinds).reduce((s, v) => s + (v ?? 0), 0)).toBe(o.bytes);
    expect(a.layers.reduce((s, l) => s + l.visibleBytes, 0)).toBe(a.totals.finalBytes);
    expect(a.layers.reduce((s, l) => s + l.wasteBytes, 0)).toBe(a.totals.wasteBytes);
    for (const l of a.layers) expect(l.visibleBytes + l.wasteBytes).toBe(l.bytes);
  }
  return list[0]!;
}

/** The CLI's path (layers merged while loading), checked; and the plain load-then-analyze path agrees. */
export async function analyzeChecked(ref: string, opts: LoadOptions & AnalyzeOptions = {}): Promise<Analysis> {
  const streamed = checkReport(await analyzeReference(ref, opts));
  const whole = checkReport(analyze(await loadImage(ref, { capture: wantsBody, probe: wantsProbe, ...opts }), undefined, opts));
  expect({ ...whole, generatedAt: '' }).toEqual({ ...streamed, generatedAt: '' });
  return streamed;
}

export function ownerBytes(a: Analysis, owner: string): number | undefined {
  return a.owners.find((o) => o.owner === owner)?.bytes;
}

export function kindBytes(a: Analysis, kind: string): number {
  return a.kinds.find((k) => k.kind === kind)!.bytes;
}

/** Schema check for a cold-start report (returns the first ColdStart). */
export function checkColdStartReport(report: unknown): ColdStart {
  const round = JSON.parse(JSON.stringify(report)) as unknown;
  if (!validate(round)) throw new Error(`report does not match schema: ${ajv.errorsText(validate.errors)}`);
  const list = (Array.isArray(round) ? round : [round]) as Array<{ coldStart: ColdStart }>;
  return list[0]!.coldStart;
}

/** Schema check alone (for constructed reports whose numbers need not add up). */
export function expectSchemaValid(doc: unknown): void {
  const round = JSON.parse(JSON.stringify(doc)) as unknown;
  if (!validate(round)) throw new Error(`report does not match schema: ${ajv.errorsText(validate.errors)}`);
}
