/**
 * The shapes of the JSON documents an image is made of (docs/formats.md "Configs and history",
 * "Indexes and platforms"), checked once where they are read, so that nothing downstream meets a
 * number where it reads a list. Only the fields imgscope reads are constrained; anything else may be
 * there. A document that does not fit is one line naming the document and the field
 * (`config sha256:…: /history/3/created_by must be string`). ajv does the checking (already a
 * dependency for the report schema).
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { inputError } from '../errors.js';

const str = { type: 'string' };
const strList = { type: ['array', 'null'], items: str };
const strMap = { type: ['object', 'null'], additionalProperties: str };

const descriptor = {
  type: 'object',
  required: ['digest'],
  properties: {
    mediaType: str,
    digest: str,
    size: { type: 'integer', minimum: 0 },
    urls: strList,
    annotations: strMap,
    platform: { type: 'object', properties: { os: str, architecture: str, variant: str, 'os.version': str } },
    artifactType: str,
  },
};

const SCHEMAS = {
  config: {
    type: 'object',
    required: ['rootfs'],
    properties: {
      architecture: str,
      os: str,
      variant: str,
      created: str,
      author: str,
      config: {
        type: ['object', 'null'],
        properties: {
          User: str,
          Env: strList,
          Entrypoint: strList,
          Cmd: strList,
          WorkingDir: str,
          Labels: strMap,
          ExposedPorts: { type: ['object', 'null'] },
          Healthcheck: {
            type: ['object', 'null'],
            properties: { Test: strList, Interval: { type: 'number' }, Timeout: { type: 'number' }, StartPeriod: { type: 'number' }, Retries: { type: 'number' } },
          },
        },
      },
      rootfs: { type: 'object', required: ['diff_ids'], properties: { type: str, diff_ids: { type: 'array', items: str } } },
      history: {
        type: ['array', 'null'],
        items: { type: 'object', properties: { created: str, created_by: str, author: str, comment: str, empty_layer: { type: 'boolean' } } },
      },
    },
  },
  manifest: {
    type: 'object',
    properties: { schemaVersion: { type: 'integer' }, mediaType: str, config: descriptor, layers: { type: 'array', items: descriptor } },
  },
  index: {
    type: 'object',
    properties: { schemaVersion: { type: 'integer' }, mediaType: str, manifests: { type: ['array', 'null'], items: descriptor } },
  },
  'manifest.json': {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        Config: str,
        RepoTags: strList,
        Layers: { type: 'array', items: str },
        LayerSources: { type: ['object', 'null'], additionalProperties: descriptor },
      },
    },
  },
} as const;

export type Shape = keyof typeof SCHEMAS;

let ajv: Ajv2020 | undefined;
const compiled = new Map<Shape, ValidateFunction>();

function describe(e: ErrorObject): string {
  const at = e.instancePath || '/';
  if (e.keyword === 'type') return `${at} must be ${String((e.params as { type: string | string[] }).type).replace(',', ' or ')}`;
  return `${at} ${e.message ?? 'is not valid'}`;
}

/** Throws a one-line input error naming `what` and the first field that does not fit `shape`. */
export function checkShape(shape: Shape, what: string, value: unknown): void {
  let v = compiled.get(shape);
  if (!v) {
    ajv ??= new Ajv2020({ allErrors: false, strict: false });
    v = ajv.compile(SCHEMAS[shape]);
    compiled.set(shape, v);
  }
  if (!v(value)) throw inputError(`${what}: ${describe(v.errors![0]!)}`);
}
