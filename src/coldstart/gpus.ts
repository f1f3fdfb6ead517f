import { inputError } from '../errors.js';
import type { DeviceRequest } from '../report/types.js';

/** One CSV record (Go's encoding/csv: fields split on ',', double quotes group and escape). */
function csvFields(value: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted) {
      if (c === '"' && value[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  if (quoted) throw inputError(`--gpus '${value}': unterminated quote`);
  out.push(field);
  return out;
}

function parseCount(s: string, value: string): number {
  if (s === 'all') return -1;
  if (!/^-?\d+$/.test(s)) throw inputError(`--gpus '${value}': invalid count (${s}): value must be either "all" or an integer`);
  return Number(s);
}

/**
 * `--gpus` exactly as the docker CLI builds it (docker/cli opts/gpus.go): the value is one CSV record
 * of `all` | N | key=value fields (driver, count, device, capabilities, options); without a count or
 * device IDs the count is 1; capabilities default to [["gpu"]] and always include "gpu".
 * `--gpus all` → {Driver:"", Count:-1, DeviceIDs:null, Capabilities:[["gpu"]], Options:{}}.
 * Device lists need quoting as with docker: `--gpus '"device=0,1"'`.
 */
export function parseGpus(value: string): DeviceRequest {
  const req: DeviceRequest = { Driver: '', Count: 0, DeviceIDs: null, Capabilities: [], Options: {} };
  let caps: string[][] | null = null;
  const seen = new Set<string>();
  for (const field of csvFields(value)) {
    const eq = field.indexOf('=');
    const key = eq < 0 ? field : field.slice(0, eq);
    if (seen.has(key)) throw inputError(`--gpus '${value}': gpu request key '${key}' can be specified only once`);
    seen.add(key);
    if (eq < 0) {
      seen.add('count');
      req.Count = parseCount(key, value);
      continue;
    }
    const val = field.slice(eq + 1);
    switch (key) {
      case 'driver':
        req.Driver = val;
        break;
      case 'count':
        req.Count = parseCount(val, value);
        break;
      case 'device':
        req.DeviceIDs = val.split(',');
        break;
      case 'capabilities':
        caps = [[...val.split(','), 'gpu']];
        break;
      case 'options':
        for (const kv of csvFields(val)) {
          const i = kv.indexOf('=');
          req.Options[i < 0 ? kv : kv.slice(0, i)] = i < 0 ? '' : kv.slice(i + 1);
        }
        break;
      default:
        throw inputError(`--gpus '${value}': unexpected key '${key}' in '${field}'`);
    }
  }
  if (!seen.has('count') && req.DeviceIDs === null) req.Count = 1;
  req.Capabilities = caps ?? [['gpu']];
  return req;
}
