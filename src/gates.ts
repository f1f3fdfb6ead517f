import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { KINDS } from './catalog/kinds.js';
import type { Analysis, Kind } from './report/types.js';
import { inputError } from './errors.js';
import { formatBytes } from './util/format.js';

/** CI budgets; sizes in bytes, growth and efficiency as fractions. Every limit is inclusive. */
export interface Rules {
  maxSize?: number;
  maxCompressed?: number;
  maxWaste?: number;
  minEfficiency?: number;
  forbidKinds?: Kind[];
  maxKind?: Partial<Record<Kind, number>>;
  maxOwner?: Record<string, number>;
  maxGrowth?: number;
  /** A saved report to measure growth against (analyze); compare uses its --baseline image. */
  baselineReport?: string;
}

const UNIT: Record<string, number> = {
  '': 1, b: 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tib: 1024 ** 4,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
};

/**
 * Sizes: a number of bytes, or a number with a unit: KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB
 * and the bare K/M/G/T (as docker's --memory) powers of 1024.
 */
export function parseSize(s: string | number, what: string): number {
  if (typeof s === 'number' && Number.isFinite(s) && s >= 0) return Math.round(s);
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(String(s));
  const mult = m ? UNIT[m[2]!.toLowerCase()] : undefined;
  if (!m || mult === undefined) throw inputError(`${what}: invalid size '${s}' (e.g. 800MB, 1.5GiB, 2G)`);
  return Math.round(Number(m[1]) * mult);
}

/** "5%" or "0.05" → 0.05. */
export function parseFraction(s: string | number, what: string): number {
  const str = String(s).trim();
  const v = str.endsWith('%') ? Number(str.slice(0, -1)) / 100 : Number(str);
  if (!Number.isFinite(v) || v < 0) throw inputError(`${what}: invalid value '${s}' (e.g. 5% or 0.05)`);
  return v;
}

function parseKinds(v: string | string[], what: string): Kind[] {
  const list = (Array.isArray(v) ? v : String(v).split(',')).map((k) => String(k).trim()).filter(Boolean);
  for (const k of list) if (!(KINDS as readonly string[]).includes(k)) throw inputError(`${what}: unknown kind '${k}' (kinds: ${KINDS.join(', ')})`);
  return list as Kind[];
}

function parseMap(v: unknown, what: string): Record<string, number> {
  const out: Record<string, number> = {};
  const entries: Array<[string, unknown]> = Array.isArray(v)
    ? v.flatMap((x) => String(x).split(',')).map((kv) => {
        const i = kv.lastIndexOf('=');
        if (i <= 0) throw inputError(`${what}: expected NAME=SIZE, got '${kv}'`);
        return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()];
      })
    : typeof v === 'object' && v !== null
      ? Object.entries(v)
      : (() => {
          throw inputError(`${what}: expected NAME=SIZE pairs`);
        })();
  for (const [k, s] of entries) out[k] = parseSize(s as string, `${what} ${k}`);
  return out;
}

/** Raw rule values from flags (strings) or the config file (YAML values), by their CLI names. */
export interface RawRules {
  maxSize?: string | number;
  maxCompressed?: string | number;
  maxWaste?: string | number;
  minEfficiency?: string | number;
  forbidKind?: string | string[];
  maxKind?: string[] | Record<string, string | number>;
  maxOwner?: string[] | Record<string, string | number>;
  maxGrowth?: string | number;
  baseline?: string;
}

export function parseRules(raw: RawRules, where: string): Rules {
  const r: Rules = {};
  if (raw.maxSize !== undefined) r.maxSize = parseSize(raw.maxSize, `${where} max-size`);
  if (raw.maxCompressed !== undefined) r.maxCompressed = parseSize(raw.maxCompressed, `${where} max-compressed`);
  if (raw.maxWaste !== undefined) r.maxWaste = parseSize(raw.maxWaste, `${where} max-waste`);
  if (raw.minEfficiency !== undefined) {
    r.minEfficiency = parseFraction(raw.minEfficiency, `${where} min-efficiency`);
    if (r.minEfficiency > 1) throw inputError(`${where} min-efficiency: must be between 0 and 1 (or 0%–100%)`);
  }
  if (raw.forbidKind !== undefined) r.forbidKinds = parseKinds(raw.forbidKind, `${where} forbid-kind`);
  if (raw.maxKind !== undefined) {
    const m = parseMap(raw.maxKind, `${where} max-kind`);
    parseKinds(Object.keys(m), `${where} max-kind`);
    r.maxKind = m as Partial<Record<Kind, number>>;
  }
  if (raw.maxOwner !== undefined) r.maxOwner = parseMap(raw.maxOwner, `${where} max-owner`);
  if (raw.maxGrowth !== undefined) r.maxGrowth = parseFraction(raw.maxGrowth, `${where} max-growth`);
  if (raw.baseline !== undefined) r.baselineReport = raw.baseline;
  return r;
}

const CONFIG_KEYS: Record<string, keyof RawRules> = {
  'max-size': 'maxSize', 'max-compressed': 'maxCompressed', 'max-waste': 'maxWaste', 'min-efficiency': 'minEfficiency',
  'forbid-kind': 'forbidKind', 'max-kind': 'maxKind', 'max-owner': 'maxOwner', 'max-growth': 'maxGrowth', baseline: 'baseline',
};

export const CONFIG_NAMES = ['.imgscope.yml', '.imgscope.yaml'];

/**
 * Rules from a config file: `--config FILE`, else `.imgscope.yml` (or `.yaml`) in the current
 * directory, found like dive's `.dive-ci`. Keys are the flag names, at the top level or under `rules:`.
 */
export function loadConfig(explicit: string | undefined, cwd = process.cwd()): { file?: string; raw: RawRules } {
  const file = explicit ?? CONFIG_NAMES.map((n) => path.join(cwd, n)).find((p) => existsSync(p));
  if (!file) return { raw: {} };
  let doc: unknown;
  try {
    doc = YAML.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw inputError(`${file}: ${(err as Error).message.split('\n')[0]}`, err);
  }
  if (doc === null || doc === undefined) return { file, raw: {} };
  if (typeof doc !== 'object' || Array.isArray(doc)) throw inputError(`${file}: expected a mapping of rules`);
  const body = ((doc as Record<string, unknown>).rules ?? doc) as Record<string, unknown>;
  const raw: RawRules = {};
  for (const [k, v] of Object.entries(body)) {
    const key = CONFIG_KEYS[k];
    if (!key) throw inputError(`${file}: unknown rule '${k}' (rules: ${Object.keys(CONFIG_KEYS).join(', ')})`);
    (raw as Record<string, unknown>)[key] = v;
  }
  return { file, raw };
}

/** Flags win over the config file, rule by rule. */
export function mergeRaw(config: RawRules, flags: RawRules): RawRules {
  const out: RawRules = { ...config };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined && !(Array.isArray(v) && v.length === 0)) (out as Record<string, unknown>)[k] = v;
  return out;
}

export function hasRules(r: Rules): boolean {
  return Object.values(r).some((v) => v !== undefined);
}

export interface GateFailure {
  image: string;
  rule: string;
  message: string;
}

const B = (n: number): string => `${formatBytes(n)} (${n} B)`;

/** Evaluates every rule on every image; a value equal to its limit passes. */
export function evaluate(images: Array<{ name: string; analysis: Analysis }>, rules: Rules, baseline?: Analysis): GateFailure[] {
  const fails: GateFailure[] = [];
  for (const { name, analysis: a } of images) {
    const fail = (rule: string, message: string): void => {
      fails.push({ image: name, rule, message });
    };
    const t = a.totals;
    if (rules.maxSize !== undefined && t.imageBytes > rules.maxSize) fail('max-size', `image size ${B(t.imageBytes)} > limit ${B(rules.maxSize)}`);
    if (rules.maxCompressed !== undefined) {
      if (t.compressedBytes === null) fail('max-compressed', 'compressed size unknown (the source stores layers uncompressed); analyze the image from its registry or an OCI layout');
      else if (t.compressedBytes > rules.maxCompressed) fail('max-compressed', `compressed size ${B(t.compressedBytes)} > limit ${B(rules.maxCompressed)}`);
    }
    if (rules.maxWaste !== undefined && t.wasteBytes > rules.maxWaste) fail('max-waste', `waste ${B(t.wasteBytes)} > limit ${B(rules.maxWaste)}`);
    if (rules.minEfficiency !== undefined && t.efficiency < rules.minEfficiency) {
      fail('min-efficiency', `efficiency ${(t.efficiency * 100).toFixed(2)}% < minimum ${(rules.minEfficiency * 100).toFixed(2)}%`);
    }
    const kind = (k: Kind): number => a.kinds.find((r) => r.kind === k)?.bytes ?? 0;
    for (const k of rules.forbidKinds ?? []) if (kind(k) > 0) fail('forbid-kind', `${k} is forbidden but the image carries ${B(kind(k))}`);
    for (const [k, lim] of Object.entries(rules.maxKind ?? {})) if (kind(k as Kind) > lim!) fail('max-kind', `${k} ${B(kind(k as Kind))} > limit ${B(lim!)}`);
    for (const [o, lim] of Object.entries(rules.maxOwner ?? {})) {
      const bytes = a.owners.find((r) => r.owner === o)?.bytes ?? 0;
      if (bytes > lim) fail('max-owner', `${o} ${B(bytes)} > limit ${B(lim)}`);
    }
    if (rules.maxGrowth !== undefined) {
      if (!baseline) fail('max-growth', 'no baseline to measure growth against (--baseline)');
      else if (baseline.totals.imageBytes > 0) {
        const g = (t.imageBytes - baseline.totals.imageBytes) / baseline.totals.imageBytes;
        if (g > rules.maxGrowth + 1e-12) {
          fail('max-growth', `image size grew ${(g * 100).toFixed(2)}% (${B(baseline.totals.imageBytes)} → ${B(t.imageBytes)}) > limit ${(rules.maxGrowth * 100).toFixed(2)}%`);
        }
      }
    }
  }
  return fails;
}

export function formatFailures(fails: GateFailure[]): string[] {
  return fails.map((f) => `FAIL ${f.rule}: ${f.image}: ${f.message}`);
}
