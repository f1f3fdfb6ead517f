/**
 * dive's CI rules read as dive reads them (wagoodman/dive: cmd/dive/cli/internal/command/ci/rules.go,
 * options/ci.go and ci_rules.go; the older runtime/ci/rule.go): the `.dive-ci` file, its three rule
 * names in every spelling dive has used, the values that switch a rule off, go-humanize's byte sizes
 * and Go's float syntax. Plain functions over strings: gates.ts makes them budgets.
 */

/**
 * A dive rule: imgscope's name (a flag and a key of .imgscope.yml), the camelCase key dive up to 0.12
 * read through viper under `rules:` (runtime/ci/rules.go: `rules.lowestEfficiency`; viper matches keys
 * in any case) and the kebab key dive 0.13 reads with yaml.v3 at the file's top level
 * (cmd/dive/cli/internal/options/ci_rules.go: `lowest-efficiency-threshold`; yaml.v3 matches exactly).
 */
export const DIVE_RULES = [
  { name: 'lowest-efficiency', raw: 'lowestEfficiency', kebab: 'lowest-efficiency-threshold' },
  { name: 'highest-wasted-bytes', raw: 'highestWastedBytes', kebab: 'highest-wasted-bytes' },
  { name: 'highest-user-wasted-percent', raw: 'highestUserWastedPercent', kebab: 'highest-user-wasted-percent' },
] as const;

export type DiveRaw = (typeof DIVE_RULES)[number]['raw'];

/** dive's defaults (DefaultCIRules), applied under a `.dive-ci` for every rule it leaves out, as dive does. */
export const DIVE_DEFAULTS: Record<DiveRaw, string> = { lowestEfficiency: '0.9', highestWastedBytes: 'disabled', highestUserWastedPercent: '0.1' };

export const DIVE_CI_FILE = '.dive-ci';

const CAMEL = new Map<string, DiveRaw>(DIVE_RULES.map((r) => [r.raw.toLowerCase(), r.raw]));
const KEBAB = new Map<string, DiveRaw>(DIVE_RULES.map((r) => [r.kebab, r.raw]));

/**
 * The rule a `.dive-ci` key names, or undefined (dive ignores other keys): a camelCase key in any case
 * (viper), or a kebab key exactly as dive 0.13 spells it. `nested`: true for a key under `rules:` (only
 * the camelCase keys), false for one at the top level (only the kebab keys), undefined for either.
 * Nothing else: `lowest_efficiency`, `LOWEST-EFFICIENCY-THRESHOLD` or `lowest-efficiency` are no key of
 * any dive.
 */
export function diveKey(key: string, nested?: boolean): DiveRaw | undefined {
  const camel = nested === false ? undefined : CAMEL.get(key.toLowerCase());
  const kebab = nested === true ? undefined : KEBAB.get(key);
  return camel ?? kebab;
}

/** dive's isRuleDisabled: empty, "disabled", "off" or "false", any case, spaces trimmed. */
export function isDiveDisabled(v: unknown): boolean {
  if (v === null || v === undefined || v === false) return true;
  const s = String(v).trim().toLowerCase();
  return s === '' || s === 'disabled' || s === 'off' || s === 'false';
}

/** Go's special values (strconv's special()): [+-]inf, [+-]infinity and nan, any case; no sign on nan. */
const GO_SPECIAL = /^(?:([+-]?)(inf|infinity)|(nan))$/i;
const GO_DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
/** A hexadecimal float: 0x mantissa, then a p exponent, which Go requires; '_' only between digits or after the prefix. */
const GO_HEX = /^([+-]?)0[xX]((?:_?[0-9a-fA-F])*)(?:\.((?:[0-9a-fA-F](?:_?[0-9a-fA-F])*)?))?[pP]([+-]?\d(?:_?\d)*)$/;

/**
 * Go's strconv.ParseFloat(s, 64), which dive runs on the value as it is (untrimmed): decimal and
 * hexadecimal floats (a hex mantissa needs a p exponent; underscores only with the 0x prefix), "inf",
 * "infinity" and "nan" in any case (NaN is accepted: dive's range check lets it through); a value
 * out of float64's range (1e400) is an error (ErrRange). Undefined where Go returns an error.
 */
export function goParseFloat(s: string): number | undefined {
  const sp = GO_SPECIAL.exec(s);
  if (sp) return sp[3] ? Number.NaN : sp[1] === '-' ? -Infinity : Infinity;
  let v: number;
  if (GO_DECIMAL.test(s)) v = Number(s);
  else {
    const h = GO_HEX.exec(s);
    if (!h || (!h[2] && !h[3])) return undefined;
    const int = h[2]!.replace(/_/g, '');
    const frac = (h[3] ?? '').replace(/_/g, '');
    const digits = int + frac;
    v = (digits ? Number.parseInt(digits, 16) : 0) * 2 ** (Number(h[4]!.replace(/_/g, '')) - 4 * frac.length);
    if (h[1] === '-') v = -v;
  }
  return Number.isFinite(v) ? v : undefined;
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
 * truncated to an integer, refused from 2^64 up ("too large"). "20MB" = 20,000,000, "20 MiB" =
 * 20,971,520, "1k" = 1000; "1e3" and "0x10" are refused (e3 and x10 are no unit). Undefined when dive
 * would refuse it.
 */
export function humanizeParseBytes(s: string): number | undefined {
  const m = /^[0-9.,]*/.exec(s)![0];
  const f = goParseFloat(m.replace(/,/g, ''));
  const mult = HUMANIZE[s.slice(m.length).trim().toLowerCase()];
  if (f === undefined || mult === undefined) return undefined;
  const n = f * mult;
  return n >= 2 ** 64 ? undefined : Math.floor(n);
}
