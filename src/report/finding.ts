/** A finding of the report (report/analysis.ts `Analysis.findings`); findings/rules.ts computes them. */
export type Severity = 'high' | 'medium' | 'low' | 'info';

/** A finding: plain data produced by a pure rule over the Analysis. */
export interface Finding {
  /** Stable id, usable with --fail-on. */
  id: string;
  severity: Severity;
  title: string;
  /** Estimated bytes the fix saves (null when the gain is time or safety, not bytes). */
  savingBytes: number | null;
  /**
   * Estimated seconds the saving takes off every pull of the image on a node that does not have it
   * (compressed share over the network + unpacking; see Evidence.pullModel). Null without a byte saving.
   */
  savingSeconds?: number | null;
  evidence: { paths?: string[]; layers?: number[]; packages?: string[]; detail?: string };
  /** The fix, as one line or a Dockerfile snippet. */
  fix: string;
}
