/**
 * dive's CI rules read as dive reads them (wagoodman/dive: cmd/dive/cli/internal/command/ci/rules.go,
 * options/ci.go and ci_rules.go; the older runtime/ci/rule.go): the `.dive-ci` file, its three rule
 * names in every spelling dive has used, the values that switch a rule off, go-humanize's byte sizes
 * and Go's float syntax. Plain functions over strings: gates.ts makes them budgets.
 */

/** A dive rule: imgscope's name (a flag and a key of .imgscope.yml) and the names a `.dive-ci` may use. */
export const DIVE_RULES = [
  { name: 'lowest-efficiency', raw: 'lowestEfficiency', aliases: ['lowestEfficiency', 'lowest-efficiency-threshold', 'lowest-efficiency'] },
  { name: 'highest-wasted-bytes', raw: 'highestWastedBytes', aliases: ['highestWastedBytes', 'highest-wasted-bytes'] },
  { name: 'highest-user-wasted-percent', raw: 'highestUserWastedPercent', aliases: ['highestUserWastedPercent', 'highest-user-wasted-percent'] },
] as const;

export type DiveRaw = (typeof DIVE_RULES)[number]['raw'];

/** dive's defaults (DefaultCIRules), applied under a `.dive-ci` for every rule it leaves out, as dive does. */
export const DIVE_DEFAULTS: Record<DiveRaw, string> = { lowestEfficiency: '0.9', highestWastedBytes: 'disabled', highestUserWastedPercent: '0.1' };

export const DIVE_CI_FILE = '.dive-ci';

/** viper matches keys case-insensitively; the kebab and camel spellings meet once '-' and '_' are dropped. */
const norm = (k: string): string => k.toLowerCase().replace(/[-_]/g, '');
const BY_KEY = new Map<string, DiveRaw>(DIVE_RULES.flatMap((r) => r.aliases.map((a) => [norm(a), r.raw] as [string, DiveRaw])));

/** The rule a `.dive-ci` key names, or undefined (dive ignores other keys). */
export function diveKey(key: string): DiveRaw | undefined {
  return BY_KEY.get(norm(key));
}

/** dive's isRuleDisabled: empty, "disabled", "off" or "false", any case, spaces trimmed. */
export function isDiveDisabled(v: unknown): boolean {
  if (v === null || v === undefined || v === false) return true;
  const s = String(v).trim().toLowerCase();
  return s === '' || s === 'disabled' || s === 'off' || s === 'false';
}

/** Go's strconv.ParseFloat for the decimal forms a config holds (no hex floats, no inf/nan); undefined when Go refuses it. */
export function goParseFloat(s: string): number | undefined {
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

// go-humanize's bytesSizeTable: SI names are powers of 1000 (k, kb, m, mb…), IEC names powers of 1024
const SI = ['', 'k', 'm', 'g', 't', 'p', 'e'];
const HUMANIZE: Record<string, number> = { b: 1 };
SI.forEach((p, i) => {
  HUMANIZE[p] = 1000 ** i;
  if (i) {
    HUMANIZE[`${p}b`] = 1000 ** i;
    HUMANIZE[`${p}i`] = 1024 ** i;
    HUMANIZE[`${p}ib`] = 1024 ** i;
  }
});

/**
 * go-humanize's ParseBytes, as dive reads highestWastedBytes: the leading digits, dots and commas
 * (commas dropped) as a Go float, then the rest trimmed and lower-cased as a unit name; the product
 * truncated to an integer. "20MB" = 20,000,000, "20 MiB" = 20,971,520, "1k" = 1000. Undefined when dive would refuse it.
 */
export function humanizeParseBytes(s: string): number | undefined {
  const m = /^[0-9.,]*/.exec(s)![0];
  const f = goParseFloat(m.replace(/,/g, ''));
  const mult = HUMANIZE[s.slice(m.length).trim().toLowerCase()];
  if (f === undefined || mult === undefined) return undefined;
  return Math.floor(f * mult);
}
