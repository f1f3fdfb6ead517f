import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Analysis, ColdStart } from './report/types.js';
import { inputError } from './errors.js';
import { referenceKey } from './image/transports.js';

let validator: ((doc: unknown) => boolean) & { errors?: unknown } | undefined;
let ajvInstance: Ajv2020 | undefined;

/** The committed schema (schema/report.schema.json), compiled once. */
function validate(doc: unknown): string | undefined {
  if (!validator) {
    const schema = JSON.parse(readFileSync(new URL('../schema/report.schema.json', import.meta.url), 'utf8')) as object;
    ajvInstance = new Ajv2020({ allErrors: false, strict: false });
    (addFormatsModule as unknown as (a: Ajv2020) => void)(ajvInstance);
    validator = ajvInstance.compile(schema);
  }
  return validator(doc) ? undefined : ajvInstance!.errorsText(validator.errors as never, { separator: '; ' });
}

export interface LoadedReports {
  analyses: Analysis[];
  coldStarts: ColdStart[];
}

/** Reads a saved imgscope report (analysis or cold start, one or an array), checked against the schema. */
export function loadReportFile(file: string): LoadedReports {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw inputError(`${file}: ${e.code === 'ENOENT' ? 'no such file' : `not a JSON report: ${e.message}`}`, err);
  }
  const problem = validate(doc);
  if (problem) throw inputError(`${file}: not an imgscope report (schemaVersion 1): ${problem}`);
  const list = (Array.isArray(doc) ? doc : [doc]) as Array<Analysis | { coldStart: ColdStart }>;
  const out: LoadedReports = { analyses: [], coldStarts: [] };
  for (const d of list) {
    if ('coldStart' in d) out.coldStarts.push(d.coldStart);
    else out.analyses.push(d);
  }
  return out;
}

/**
 * The cold-start measurements (cold and warm) of an analyzed image: the same image ID (the config
 * digest, as the Docker Engine's classic store names images), or the same reference or tag.
 */
export function matchColdStarts(a: Analysis, coldStarts: ColdStart[]): ColdStart[] {
  const keys = new Set([a.image.reference, ...a.image.tags].map(referenceKey));
  return coldStarts.filter((c) => c.imageId === a.image.configDigest || keys.has(referenceKey(c.reference)));
}
