import Table from 'cli-table3';
import type { ColdStart } from '../coldstart/engine.js';

const PHASES = ['pull', 'create', 'start', 'ready', 'total'] as const;
const fmt = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

function table(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [], compact: true }, colAligns: ['left', ...head.slice(1).map(() => 'right' as const)] });
}

export function renderColdStartTable(c: ColdStart, top = 15): string {
  const out: string[] = [];
  out.push(`${c.reference} — ${c.runs.length} runs after ${c.warmupRuns} warm-up; readiness: ${c.readiness.kind} (${c.readiness.note})`);
  if (c.gpus) out.push(`GPU request: ${JSON.stringify(c.gpus)}`);
  const t = table(['Phase (ms)', 'median', 'p90', 'min', 'max']);
  for (const p of PHASES) {
    const s = c.phases[p];
    if (s) t.push([p, fmt(s.median), fmt(s.p90), fmt(s.min), fmt(s.max)]);
  }
  out.push(t.toString());
  if (c.imports) {
    out.push(`Python imports (one extra run with PYTHONPROFILEIMPORTTIME): ${fmt(c.imports.totalMs)} ms in all`);
    const i = table(['Package', 'self ms', 'import ms', 'modules']);
    for (const r of c.imports.packages.slice(0, top)) i.push([r.package, fmt(r.selfMs), r.cumulativeMs ? fmt(r.cumulativeMs) : '', String(r.modules)]);
    out.push(i.toString());
  }
  return out.join('\n') + '\n';
}

export function renderColdStartMarkdown(c: ColdStart, top = 15): string {
  const out: string[] = [];
  out.push(`## imgscope coldstart: \`${c.reference}\``, '');
  out.push(`${c.runs.length} runs after ${c.warmupRuns} warm-up; readiness: ${c.readiness.kind} (${c.readiness.note}).`, '');
  out.push('| Phase (ms) | median | p90 | min | max |', '| :--- | ---: | ---: | ---: | ---: |');
  for (const p of PHASES) {
    const s = c.phases[p];
    if (s) out.push(`| ${p} | ${fmt(s.median)} | ${fmt(s.p90)} | ${fmt(s.min)} | ${fmt(s.max)} |`);
  }
  if (c.imports) {
    out.push('', `### Python imports (${fmt(c.imports.totalMs)} ms in all)`, '', '| Package | self ms | import ms | modules |', '| :--- | ---: | ---: | ---: |');
    for (const r of c.imports.packages.slice(0, top)) out.push(`| ${r.package} | ${fmt(r.selfMs)} | ${r.cumulativeMs ? fmt(r.cumulativeMs) : ''} | ${r.modules} |`);
  }
  return out.join('\n') + '\n';
}
