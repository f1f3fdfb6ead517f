/** Every SARIF log a test produces is checked against the SARIF 2.1.0 JSON schema (test/fixtures/sarif/README.md). */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';

const raw = JSON.parse(readFileSync(new URL('../fixtures/sarif/sarif-2.1.0-rtm.5.json', import.meta.url), 'utf8')) as Record<string, unknown>;
// draft-04's top-level `id` is draft-07's `$id`; no other keyword of the file differs between the two
const { id, $schema: _draft4, ...rest } = raw;
// the file's `language` pattern has a stray ']' that a unicode RegExp refuses (ECMA-262 without the u flag reads it as a literal, as the JSON Schema spec's regex dialect does)
const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
(addFormatsModule as unknown as (a: Ajv) => void)(ajv);
const validate = ajv.compile({ ...rest, $id: id as string });

export interface SarifLog {
  version: string;
  runs: Array<{
    tool: { driver: { name: string; version: string; rules: Array<Record<string, any>> } };
    results: Array<Record<string, any>>;
  }>;
}

/** Parses and validates a SARIF log; throws with ajv's errors when it does not match the schema. */
export function checkSarif(text: string): SarifLog {
  const doc = JSON.parse(text) as unknown;
  if (!validate(doc)) throw new Error(`SARIF does not match the 2.1.0 schema: ${ajv.errorsText(validate.errors)}`);
  return doc as SarifLog;
}
