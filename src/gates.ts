import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { KINDS } from './catalog/kinds.js';
import type { Analysis, Kind } from './report/types.js';
import { inputError } from './errors.js';
import { readSmallFile } from './util/files.js';
import { formatBytes } from './util/format.js';
import { DIVE_CI_FILE, DIVE_DEFAULTS, diveKey, goParseFloat, humanizeParseBytes, isDiveDisabled } from './ci/dive.js';

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
  /** dive's CI rules (src/ci/dive.ts): efficiency and user-wasted as ratios, wasted bytes as dive counts them. */
  lowestEfficiency?: number;
  highestWastedBytes?: number;
  highestUserWastedPercent?: number;
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
  lowestEfficiency?: string | number;
  highestWastedBytes?: string | number;
  highestUserWastedPercent?: string | number;
  baseline?: string;
}

type Limits = Omit<Rules, 'baselineReport'>;

/**
 * One budget: the name it has as a flag (`--max-size`), as a key of the config file and as the rule
 * of a failure (`FAIL max-size: …`); the option as the CLI declares it; how a value is read (from a
 * flag's string or the config file's YAML value) and how an image is checked against it.
 */
export interface Budget<F extends keyof Limits = keyof Limits> {
  name: string;
  /** The RawRules key: the name in camelCase, which is also the option's key in commander. */
  raw: Exclude<keyof RawRules, 'baseline'>;
  field: F;
  /** The option's flags and help line as `--help` shows them. */
  flags: string;
  help: string;
  /** Given more than once, the values add up (NAME=SIZE lists). */
  repeatable?: boolean;
  /** One of dive's rules: dive's "disabled"/"off"/"false"/"" switch it off (src/ci/dive.ts). */
  dive?: boolean;
  parse(v: unknown, what: string): NonNullable<Limits[F]>;
  /** One message per way the image breaks the limit; `baseline` is what growth is measured against. */
  check(a: Analysis, limit: NonNullable<Limits[F]>, baseline: Analysis | undefined): string[];
}

const B = (n: number): string => `${formatBytes(n)} (${n} B)`;
const kindBytes = (a: Analysis, k: Kind): number => a.kinds.find((r) => r.kind === k)?.bytes ?? 0;
const budget = <F extends keyof Limits>(b: Budget<F>): Budget => b as unknown as Budget;

/**
 * A dive ratio (lowestEfficiency, highestUserWastedPercent): Go's float syntax on the value as it is,
 * refused below 0 or over 1, as dive checks it (NaN is neither, so dive, and this, accept it: a rule
 * that then never fails).
 */
function diveRatio(v: unknown, what: string): number {
  const f = goParseFloat(String(v));
  if (f === undefined || f < 0 || f > 1) throw inputError(`${what}: '${String(v)}' is not a ratio between 0 and 1 (dive's range; 'disabled' turns the rule off)`);
  return f;
}

/**
 * dive's %-user-wasted-bytes: its wasted bytes over the bytes every layer but the first adds (dive
 * image.Analyze: WastedBytes / UserSizeBytes, a layer's size being the sum of its tar entries'
 * sizes). Go's float division: 0/0 is NaN, which passes, and x/0 is +Inf, which fails.
 */
export function userWastedRatio(a: Analysis): number {
  const user = a.layers.slice(1).reduce((s, l) => s + l.bytes, 0);
  return a.totals.diveWastedBytes / user;
}

const ratio = (x: number): string => String(Number(x.toFixed(4)));

/** Every budget, in the order the help lists them and failures are reported. Every limit is inclusive. */
export const BUDGETS: readonly Budget[] = [
  budget({
    name: 'max-size', raw: 'maxSize', field: 'maxSize', flags: '--max-size <size>', help: 'fail when the image size exceeds SIZE (e.g. 2GB, 1.5GiB)',
    parse: (v, what) => parseSize(v as string, what),
    check: (a, lim) => (a.totals.imageBytes > lim ? [`image size ${B(a.totals.imageBytes)} > limit ${B(lim)}`] : []),
  }),
  budget({
    name: 'max-compressed', raw: 'maxCompressed', field: 'maxCompressed', flags: '--max-compressed <size>', help: 'fail when the compressed (pull) size exceeds SIZE',
    parse: (v, what) => parseSize(v as string, what),
    check: ({ totals: { compressedBytes: c } }, lim) =>
      c === null ? ['compressed size unknown (the source stores layers uncompressed); analyze the image from its registry or an OCI layout']
      : c > lim ? [`compressed size ${B(c)} > limit ${B(lim)}`]
      : [],
  }),
  budget({
    name: 'max-waste', raw: 'maxWaste', field: 'maxWaste', flags: '--max-waste <size>', help: 'fail when the waste exceeds SIZE',
    parse: (v, what) => parseSize(v as string, what),
    check: (a, lim) => (a.totals.wasteBytes > lim ? [`waste ${B(a.totals.wasteBytes)} > limit ${B(lim)}`] : []),
  }),
  budget({
    name: 'min-efficiency', raw: 'minEfficiency', field: 'minEfficiency', flags: '--min-efficiency <x>', help: 'fail when dive efficiency is below X (0.95 or 95%)',
    parse: (v, what) => {
      const f = parseFraction(v as string, what);
      if (f > 1) throw inputError(`${what}: must be between 0 and 1 (or 0%–100%), got '${String(v)}'`);
      return f;
    },
    check: ({ totals: { efficiency: e } }, min) => (e < min ? [`efficiency ${(e * 100).toFixed(2)}% < minimum ${(min * 100).toFixed(2)}%`] : []),
  }),
  budget({
    name: 'forbid-kind', raw: 'forbidKind', field: 'forbidKinds', flags: '--forbid-kind <kinds>', help: 'fail when the image carries any of these kinds (comma-separated)',
    parse: (v, what) => parseKinds(v as string | string[], what),
    check: (a, kinds) => kinds.filter((k) => kindBytes(a, k) > 0).map((k) => `${k} is forbidden but the image carries ${B(kindBytes(a, k))}`),
  }),
  budget({
    name: 'max-kind', raw: 'maxKind', field: 'maxKind', flags: '--max-kind <kind=size>', help: 'fail when a kind exceeds SIZE (repeatable)', repeatable: true,
    parse: (v, what) => {
      const m = parseMap(v, what);
      parseKinds(Object.keys(m), what);
      return m as Partial<Record<Kind, number>>;
    },
    check: (a, limits) =>
      Object.entries(limits)
        .filter(([k, lim]) => kindBytes(a, k as Kind) > lim!)
        .map(([k, lim]) => `${k} ${B(kindBytes(a, k as Kind))} > limit ${B(lim!)}`),
  }),
  budget({
    name: 'max-owner', raw: 'maxOwner', field: 'maxOwner', flags: '--max-owner <owner=size>', help: 'fail when an owner (pip:torch, apt:gcc-12…) exceeds SIZE (repeatable)', repeatable: true,
    parse: (v, what) => parseMap(v, what),
    check: (a, limits) =>
      Object.entries(limits).flatMap(([o, lim]) => {
        const bytes = a.owners.find((r) => r.owner === o)?.bytes ?? 0;
        return bytes > lim ? [`${o} ${B(bytes)} > limit ${B(lim)}`] : [];
      }),
  }),
  budget({
    name: 'max-growth', raw: 'maxGrowth', field: 'maxGrowth', flags: '--max-growth <pct>', help: 'fail when the image grew more than PCT against the baseline',
    parse: (v, what) => parseFraction(v as string, what),
    check: (a, lim, baseline) => {
      if (!baseline) return ['no baseline to measure growth against (--baseline)'];
      const [from, to] = [baseline.totals.imageBytes, a.totals.imageBytes];
      if (!(from > 0)) return [];
      const g = (to - from) / from;
      return g > lim + 1e-12 ? [`image size grew ${(g * 100).toFixed(2)}% (${B(from)} → ${B(to)}) > limit ${(lim * 100).toFixed(2)}%`] : [];
    },
  }),
  // dive's three CI rules, with dive's comparisons: efficiency fails when the threshold is greater,
  // the other two when the value is greater (dive ci/rules.go)
  budget({
    name: 'lowest-efficiency', raw: 'lowestEfficiency', field: 'lowestEfficiency', dive: true, flags: '--lowest-efficiency <ratio>',
    help: "dive's lowestEfficiency: fail when dive's efficiency is below RATIO (0-1, or 'disabled')",
    parse: diveRatio,
    check: ({ totals: { efficiency: e } }, t) => (t > e ? [`efficiency ${ratio(e)} < threshold ${t} (dive's lowestEfficiency)`] : []),
  }),
  budget({
    name: 'highest-wasted-bytes', raw: 'highestWastedBytes', field: 'highestWastedBytes', dive: true, flags: '--highest-wasted-bytes <size>',
    help: "dive's highestWastedBytes: fail when dive's wasted bytes exceed SIZE (dive's units: 20MB = 20,000,000, 20MiB; or 'disabled')",
    parse: (v, what) => {
      const n = humanizeParseBytes(String(v));
      if (n === undefined) throw inputError(`${what}: '${String(v)}' is not a size dive reads (e.g. 20MB, 20 MiB, 1048576, or 'disabled')`);
      return n;
    },
    check: ({ totals: { diveWastedBytes: w } }, t) => (w > t ? [`dive's wasted bytes ${B(w)} > threshold ${B(t)} (dive's highestWastedBytes)`] : []),
  }),
  budget({
    name: 'highest-user-wasted-percent', raw: 'highestUserWastedPercent', field: 'highestUserWastedPercent', dive: true, flags: '--highest-user-wasted-percent <ratio>',
    help: "dive's highestUserWastedPercent: fail when dive's wasted bytes over the bytes added after the base layer exceed RATIO (0-1, or 'disabled')",
    parse: diveRatio,
    check: (a, t) => {
      const r = userWastedRatio(a);
      return r > t ? [`user-wasted ratio ${ratio(r)} (dive's wasted ${B(a.totals.diveWastedBytes)} / ${B(a.layers.slice(1).reduce((s, l) => s + l.bytes, 0))} added after the first layer) > threshold ${t} (dive's highestUserWastedPercent)`] : [];
    },
  }),
];

/** Reads each rule present in `raw`; `what(name)` names the value in an error (the file's name and key, or the flag). */
function parseWith(raw: RawRules, what: (name: string) => string): Rules {
  const r: Rules = {};
  for (const b of BUDGETS) {
    const v = raw[b.raw];
    if (v !== undefined && !(b.dive && isDiveDisabled(v))) (r as Record<string, unknown>)[b.field] = b.parse(v, what(b.name));
  }
  if (raw.baseline !== undefined) r.baselineReport = raw.baseline;
  return r;
}

export function parseRules(raw: RawRules, where: string): Rules {
  return parseWith(raw, (name) => `${where} ${name}`);
}

/**
 * The budgets of one command: the config file's, then the flags', a flag winning over the file rule by
 * rule. A bad value is reported with where it came from: the file's name and key, or the flag.
 */
export function resolveRules(configs: ConfigRules | ConfigRules[], flags: RawRules): Rules {
  let fromFiles: Rules = {};
  for (const config of Array.isArray(configs) ? configs : [configs]) {
    // a file rule a flag overrides is not read at all (as when the two were merged before parsing)
    const unset = Object.fromEntries(Object.entries(config.raw).filter(([k]) => (flags as Record<string, unknown>)[k] === undefined)) as RawRules;
    if (config.file) fromFiles = { ...fromFiles, ...parseRules(unset, config.file) };
  }
  const fromFlags = parseWith(flags, (name) => `--${name}`);
  return { ...fromFiles, ...fromFlags };
}

/** The rules one config file holds, by their RawRules keys, unparsed. */
export interface ConfigRules {
  file?: string;
  raw: RawRules;
}

const CONFIG_KEYS: Record<string, keyof RawRules> = { ...Object.fromEntries(BUDGETS.map((b) => [b.name, b.raw])), baseline: 'baseline' };

export const CONFIG_NAMES = ['.imgscope.yml', '.imgscope.yaml'];

/** The YAML parser, loaded on first use: it is a noticeable part of the CLI's start-up, and most runs read no config file. */
function yaml(): typeof import('yaml') {
  return createRequire(import.meta.url)('yaml') as typeof import('yaml');
}

/** The most a rules file may hold: a few lines in practice; anything bigger is not one. */
export const RULES_FILE_MAX = 1024 * 1024;

/**
 * Rules from a config file: `--config FILE`, else `.imgscope.yml` (or `.yaml`) in the current
 * directory, found like dive's `.dive-ci`. Keys are the flag names, at the top level or under `rules:`.
 */
export function loadConfig(explicit: string | undefined, cwd = process.cwd()): ConfigRules {
  const file = explicit ?? CONFIG_NAMES.map((n) => path.join(cwd, n)).find((p) => existsSync(p));
  if (!file) return { raw: {} };
  const body = readRulesFile(file, explicit !== undefined ? `--config ${file}` : file);
  if (!body) return { file, raw: {} };
  const raw: RawRules = {};
  const plainValue = (n: unknown): unknown => (yaml().isNode(n) ? n.toJS(body.doc) : n);
  for (const pair of body.items) {
    const k = String(isScalar(pair.key) ? pair.key.value : pair.key);
    const key = CONFIG_KEYS[k];
    if (!key) throw inputError(`${file}: unknown rule '${k}' (rules: ${Object.keys(CONFIG_KEYS).join(', ')})`);
    (raw as Record<string, unknown>)[key] = plainValue(pair.value);
  }
  return { file, raw };
}

const isScalar = (n: unknown): n is { value: unknown; source?: string } => yaml().isScalar(n);

/** A rules file's mapping: its entries as YAML nodes, and the document (for aliases). */
interface RulesBody {
  doc: import('yaml').Document;
  items: Array<{ key: unknown; value: unknown }>;
  /** The items are those under `rules:` (not the top level). */
  nested: boolean;
}

/**
 * A YAML rules file's mapping node: the `rules:` mapping when there is one, else the top level;
 * undefined when empty. Read only as a regular file of at most RULES_FILE_MAX bytes (util/files.ts);
 * `shown` names it in errors.
 */
function readRulesFile(file: string, shown: string): RulesBody | undefined {
  const text = readSmallFile(file, shown, RULES_FILE_MAX);
  const y = yaml();
  const doc = y.parseDocument(text);
  if (doc.errors.length) throw inputError(`${file}: ${doc.errors[0]!.message.split('\n')[0]}`, doc.errors[0]);
  try {
    doc.toJS(); // what only resolving finds: an alias to no anchor, an alias bomb past yaml's limit
  } catch (err) {
    throw inputError(`${file}: ${(err as Error).message.split('\n')[0]}`, err);
  }
  const top = doc.contents;
  if (top === null || (isScalar(top) && top.value === null)) return undefined;
  if (!y.isMap(top)) throw inputError(`${file}: expected a mapping of rules`);
  const rules = top.get('rules', true);
  const body = rules === undefined ? top : rules;
  if (body === null || (isScalar(body) && body.value === null)) return undefined;
  if (!y.isMap(body)) throw inputError(`${file}: expected a mapping of rules`);
  return { doc, items: body.items as RulesBody['items'], nested: rules !== undefined };
}

/** dive's truthy(): what turns CI mode on from the CI variable (cmd/dive/cli/internal/options/ci.go). */
export const isCiEnv = (v: string | undefined): boolean => v === 'true' || v === '1' || v === 'yes';

/**
 * A `.dive-ci` value as dive 0.13 holds it (yaml.v3 into a string field): a scalar's own text, so
 * `1e3` stays "1e3" and `0x10` "0x10" (which dive then refuses), never the number a YAML 1.2 reader
 * makes of it; a null (`key:` with nothing, `~`) leaves dive's default in place (undefined here).
 */
function diveValue(node: unknown, doc: RulesBody['doc']): string | undefined {
  const y = yaml();
  const n = y.isAlias(node) ? node.resolve(doc) : node;
  if (n === null || n === undefined) return undefined;
  if (isScalar(n)) return n.value === null ? undefined : (n.source ?? String(n.value));
  return JSON.stringify(y.isNode(n) ? n.toJS(doc) : n); // a list or a mapping: dive cannot read it into a string, nor can this
}

/**
 * dive's CI rules file, read as dive reads it: `--ci-config FILE`, else `.dive-ci` in the current
 * directory when `useDefault` (CI mode, and no imgscope config file in play). Keys under `rules:`
 * in dive's README's camelCase (viper), or at the top level in dive 0.13's kebab spelling (src/ci/dive.ts);
 * other keys are ignored, as dive ignores them. A rule the file leaves out or leaves empty takes
 * dive's default, as in dive.
 */
export function loadDiveConfig(explicit: string | undefined, useDefault: boolean, cwd = process.cwd()): ConfigRules {
  const fallback = path.join(cwd, DIVE_CI_FILE);
  const file = explicit ?? (useDefault && existsSync(fallback) ? fallback : undefined);
  if (!file) return { raw: {} };
  if (!existsSync(file)) throw inputError(`--ci-config ${file}: no such file`);
  const raw: RawRules = { ...DIVE_DEFAULTS };
  const body = readRulesFile(file, explicit !== undefined ? `--ci-config ${file}` : file);
  for (const pair of body?.items ?? []) {
    const key = diveKey(String(isScalar(pair.key) ? pair.key.value : pair.key), body!.nested);
    const v = diveValue(pair.value, body!.doc);
    if (key && v !== undefined) raw[key] = v;
  }
  return { file, raw };
}

export function hasRules(r: Rules): boolean {
  return Object.values(r).some((v) => v !== undefined);
}

export interface GateFailure {
  image: string;
  rule: string;
  message: string;
}

/** Evaluates every rule on every image, in the table's order; a value equal to its limit passes. */
export function evaluate(images: Array<{ name: string; analysis: Analysis }>, rules: Rules, baseline?: Analysis): GateFailure[] {
  const fails: GateFailure[] = [];
  for (const { name, analysis } of images) {
    for (const b of BUDGETS) {
      const limit = rules[b.field];
      if (limit === undefined) continue;
      for (const message of b.check(analysis, limit as never, baseline)) fails.push({ image: name, rule: b.name, message });
    }
  }
  return fails;
}

export function formatFailures(fails: GateFailure[]): string[] {
  return fails.map((f) => `FAIL ${f.rule}: ${f.image}: ${f.message}`);
}
