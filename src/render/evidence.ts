/**
 * A finding's evidence as lines of a view: the rules hand over data (EvidenceItem in the report contract, schema/report.schema.json),
 * and this is the one place that words it, for all three syntaxes.
 */
import type { DockerfileLocation, EvidenceItem, Finding } from '../report/types.js';
import { formatBytes } from '../util/format.js';
import type { Inline, Span } from './view.js';

/** How many paths and how many packages a finding shows (the JSON report has them all). */
export const EVIDENCE_SHOWN = 5;

/** "(version, owner, size, added in layer 4, overwritten in layer 5, …)": the item's facts in one order. */
function facts(i: EvidenceItem): string[] {
  const hidden = i.deletedIn ?? i.overwrittenIn;
  const out: string[] = [];
  if (i.version !== undefined) out.push(i.version);
  if (i.owner !== undefined) out.push(i.owner);
  if (i.bytes !== undefined) out.push(formatBytes(i.bytes));
  if (i.layer !== undefined) out.push(hidden === undefined ? `layer ${i.layer + 1}` : `added in layer ${i.layer + 1}`);
  if (hidden !== undefined) out.push(`${i.deletedIn !== undefined ? 'deleted' : 'overwritten'} in layer ${hidden + 1}`);
  if (i.visible !== undefined) out.push(i.visible ? 'in the final filesystem' : 'deleted later but still in that layer');
  if (i.privateKey) out.push('contains a private key');
  return out;
}

/** One item: "libx.so.1 ← /path (owner); present at /elsewhere", "/path (owner): sm_80 sm_90, PTX sm_90". */
export function evidenceLine(i: EvidenceItem): Span[] {
  const out: Span[] = [];
  if (i.needed !== undefined) out.push({ code: i.needed }, ' ← ');
  out.push({ code: `/${i.path}` });
  const f = facts(i);
  if (f.length) out.push(` (${f.join(', ')})`);
  if (i.sass !== undefined) out.push(`: ${i.sass.join(' ') || 'no SASS'}${i.ptx?.length ? `, PTX ${i.ptx.join(' ')}` : ''}`);
  if (i.foundAt !== undefined) out.push('; present at ', { code: `/${i.foundAt}` });
  return out;
}

/** The lines a finding's evidence shows: its first paths, its first packages, its detail. */
export function evidenceLines(f: Finding, n = EVIDENCE_SHOWN): Inline[] {
  const e = f.evidence;
  return [
    ...(e.items ?? []).slice(0, n).map(evidenceLine),
    ...(e.paths ?? []).slice(0, n), // a saved report's display strings (FindingEvidence.paths)
    ...(e.packages ?? []).slice(0, n).map((p): Span[] => [{ code: p }]),
    ...(e.detail ? [e.detail] : []),
  ];
}

/** `Dockerfile:12` (or `Dockerfile:12-14` for an instruction over several lines), as the user named the file. */
export function locationText(l: DockerfileLocation): string {
  return `${l.file}:${l.line}${l.endLine > l.line ? `-${l.endLine}` : ''}`;
}

/** The finding's title cell: its id, its title and, with --dockerfile, the line it is about. */
export function findingCell(f: Finding): Span[] {
  return [{ code: f.id }, `: ${f.title}`, ...(f.location ? [' at ', { code: locationText(f.location) }] : [])];
}
