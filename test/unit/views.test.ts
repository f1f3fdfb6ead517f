/**
 * The three documents (analysis, comparison, cold start) in all three syntaxes, pinned from one
 * fixture each (docs/architecture.md "Views"). Each output is parsed back into the same outline
 * (title, headings, paragraphs, list items, tables with their head and rows, cell text unescaped),
 * and every outline must equal one expected outline written out here from the fixture's numbers:
 * a section, column or row missing from one format, or a value wrong in one, fails.
 */
import { describe, expect, it } from 'vitest';
import type { Analysis, ColdStart, Comparison, Finding } from '../../src/report/types.js';
import { renderAnalysisMarkdown, renderAnalysisTable } from '../../src/render/analyze.js';
import { renderColdStartMarkdown, renderColdStartTable } from '../../src/render/coldstart.js';
import { renderComparisonMarkdown, renderComparisonTable } from '../../src/render/compare.js';
import { renderAnalysisHtml, renderColdStartHtml, renderComparisonHtml } from '../../src/render/html.js';
import { makeAnalysis } from '../helpers/analysis.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

type Item = { title: string } | { h: string } | { p: string } | { li: string } | { table: { head: string[]; rows: string[][] } };

// ---- parsers: one per syntax, each back to the outline ----

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
const decode = (s: string): string => s.replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e]!);

/** Markdown inline text back to the plain value: tags dropped (<code>, <span>), escapes and entities undone. */
const mdPlain = (s: string): string => decode(s.replace(/<\/?(code|span)>/g, '').replace(/\\(.)/g, '$1'));

function parseMarkdown(md: string): Item[] {
  const out: Item[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (!l) continue;
    if (l.startsWith('### ')) out.push({ h: mdPlain(l.slice(4)) });
    else if (l.startsWith('## ')) out.push({ title: mdPlain(l.slice(3)) });
    else if (l.startsWith('- ')) out.push({ li: mdPlain(l.slice(2)) });
    else if (l.startsWith('| ')) {
      const rows: string[][] = [];
      for (; lines[i]?.startsWith('| '); i++) rows.push(lines[i]!.replace(/^\| | \|$/g, '').split(/ (?<!\\)\| /).map((c) => c.trim().split('<br>').map(mdPlain).join('\n')));
      i--;
      out.push({ table: { head: rows[0]!, rows: rows.slice(2) } });
    } else if (/^_.*_$/.test(l)) out.push({ p: mdPlain(l.slice(1, -1)) });
    else out.push({ p: mdPlain(l) });
  }
  return out;
}

/** HTML inline text back to the plain value: list items one a line, other tags dropped, entities undone. */
const htmlPlain = (s: string): string => decode(s.replace(/<\/li><li>/g, '\n').replace(/<[^>]*>/g, ''));

function parseHtml(html: string): Item[] {
  const body = html.slice(html.indexOf('<body>'));
  const out: Item[] = [];
  const re = /<h1>(.*?)<\/h1>|<h2>(.*?)<\/h2>|<p class="sub">(.*?)<\/p>|<ul>(.*?)<\/ul>|<div class="cards">((?:<div class="card">.*?<\/div>)*)<\/div>|<table>(.*?)<\/table>/gs;
  for (const m of body.matchAll(re)) {
    if (m[1] !== undefined) out.push({ title: htmlPlain(m[1]) });
    else if (m[2] !== undefined) out.push({ h: htmlPlain(m[2]) });
    else if (m[3] !== undefined) out.push({ p: htmlPlain(m[3]) });
    else if (m[4] !== undefined) for (const li of m[4].matchAll(/<li>(.*?)<\/li>/g)) out.push({ li: htmlPlain(li[1]!) });
    else if (m[5] !== undefined) {
      const cards = [...m[5].matchAll(/<div class="card">(.*?)<b>(.*?)<\/b><\/div>/g)];
      out.push({ table: { head: cards.map((c) => htmlPlain(c[1]!)), rows: [cards.map((c) => htmlPlain(c[2]!))] } });
    } else {
      // the kinds table's bar column is decoration: HTML only
      const t = m[6]!.includes('barcell') ? m[6]!.replace(/<th><\/th>(?=<\/tr>)/, '').replace(/<td class="barcell">.*?<\/td>/g, '') : m[6]!;
      const cells = (row: string): string[] => [...row.matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/g)].map((c) => htmlPlain(c[1]!));
      const trs = [...t.matchAll(/<tr>(.*?)<\/tr>/g)].map((r) => cells(r[1]!));
      out.push({ table: { head: trs[0]!, rows: trs.slice(1) } });
    }
  }
  return out;
}

/** A terminal cell's lines back to its value: list items ("- x") one a line, wrapped lines joined. */
function textCell(lines: string[]): string {
  const parts: string[] = [];
  for (const l of lines.map((x) => x.trim()).filter(Boolean)) {
    if (l.startsWith('- ') || !parts.length) parts.push(l);
    else parts[parts.length - 1] += ` ${l}`;
  }
  return parts.map((p) => p.replace(/^- /, '')).join('\n');
}

function parseText(txt: string): Item[] {
  const lines = txt.replace(/\n$/, '').split('\n');
  const out: Item[] = [{ title: lines[0]! }];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (!l) continue;
    if (l.startsWith('┌')) {
      const rows: string[][][] = [];
      for (i++; !lines[i]!.startsWith('└'); i++) {
        if (lines[i]!.startsWith('├')) continue;
        const cells = lines[i]!.split('│').slice(1, -1);
        // a line whose first cell is empty continues the row above (a wrapped or multi-line cell)
        if (cells[0]!.trim() === '' && rows.length > 1) cells.forEach((c, k) => rows[rows.length - 1]![k]!.push(c));
        else rows.push(cells.map((c) => [c]));
      }
      const all = rows.map((r) => r.map(textCell));
      out.push({ table: { head: all[0]!, rows: all.slice(1) } });
    } else if (lines[i - 1] === '') out.push({ h: l });
    else if (l.startsWith('  ')) out.push({ li: l.slice(2) });
    else if (/^\(.*\)$/.test(l)) out.push({ p: l.slice(1, -1) });
    else out.push({ p: l });
  }
  return out;
}

/** The same outline from every syntax. */
function expectAll(formats: { text: string; markdown: string; html: string }, expected: Item[]): void {
  expect(parseText(formats.text), 'terminal').toEqual(expected);
  expect(parseMarkdown(formats.markdown), 'markdown').toEqual(expected);
  expect(parseHtml(formats.html), 'html').toEqual(expected);
}

// ---- the analysis ----

/** 1..16 KiB as the tables write them (three significant digits). */
const kib = (n: number): string => (n >= 10 ? `${n}.0 KiB` : `${n}.00 KiB`);

function fixtureAnalysis(): Analysis {
  const owners = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`pip:p${String(i + 1).padStart(2, '0')}`, (16 - i) * KiB]));
  const a = makeAnalysis({
    reference: 'registry.example/app:1', imageBytes: 12 * MiB, compressedBytes: 5 * MiB, wasteBytes: 3 * MiB, efficiency: 0.75,
    kinds: { python: 6 * MiB, app: 2 * MiB }, owners,
    steps: [['RUN pip install -r requirements.txt', 9 * MiB], ['COPY . /app', 3 * MiB]],
  });
  a.kinds.find((k) => k.kind === 'docs')!.files = 2; // no bytes, but files: listed
  a.owners[0]!.version = '1.0';
  a.owners[0]!.kinds = { python: 3 * KiB, app: 5 * KiB, docs: KiB, toolchain: 2 * KiB };
  a.layers[0]!.topKinds = [{ kind: 'python', bytes: 9 * MiB }];
  a.layers[0]!.topOwners = [{ owner: 'pip:p01', bytes: 16 * KiB }];
  Object.assign(a.layers[1]!, { compressedBytes: MiB, wasteBytes: 3 * MiB });
  a.evidence.pullModel = { networkBytesPerSec: 100e6, unpackBytesPerSec: 150e6, compressionRatio: 0.5, ratioSource: 'image' };
  a.evidence.cuda = {
    runtimes: [{ version: '12.1', path: 'usr/lib/libcudart.so.12', owner: 'pip:nvidia-cuda-runtime-cu12' }],
    frameworks: [{ name: 'torch', version: '2.3.0', cuda: '12.1', source: 'usr/lib/torch/version.py' }],
    fatbins: [],
    targetArch: null,
  };
  a.waste.topPaths = Array.from({ length: 17 }, (_, i) => ({ path: `w/p${i + 1}`, bytes: (17 - i) * KiB, addedInLayer: 0, hiddenInLayer: 1, how: i % 2 ? 'overwritten' : 'deleted' }));
  a.warnings = ['first warning', 'second warning'];
  const findings: Finding[] = [
    {
      id: 'layer-waste', severity: 'low', title: 'Deleted bytes still ship', savingBytes: 3 * MiB, savingSeconds: 0.1, fix: 'Delete in the same RUN.',
      evidence: { items: Array.from({ length: 6 }, (_, i) => ({ path: `a/w${i + 1}`, bytes: (i + 1) * KiB, layer: 0, deletedIn: 1 })), layers: [0] },
    },
    {
      id: 'toolchain-in-image', severity: 'medium', title: 'Compilers ship', savingBytes: 2 * MiB, savingSeconds: 12.4, fix: 'Multi-stage build.',
      evidence: { paths: ['/usr/bin/gcc (from a saved report)'], packages: ['apt:gcc-12', 'apt:make'] },
    },
    { id: 'runs-as-root', severity: 'medium', title: 'Runs as root', savingBytes: null, savingSeconds: null, fix: 'USER app.', evidence: { detail: 'Config.User is empty' } },
    {
      id: 'shared-libraries-off-path', severity: 'low', title: 'Libraries off the path', savingBytes: null, savingSeconds: null, fix: 'Set LD_LIBRARY_PATH.',
      evidence: { items: [{ path: 'x/e.so', needed: 'libh.so.3', owner: 'pip:pkg', foundAt: 'opt/h/libh.so.3' }] },
    },
  ];
  a.findings = findings;
  return a;
}

function expectedAnalysis(): Item[] {
  return [
    { title: 'imgscope: registry.example/app:1' },
    { p: 'linux/amd64, 2 layers, 1 files; tags: registry.example/app:1; sizes in binary units (1 KiB = 1024 B); apparent bytes, like du -sb.' },
    { table: { head: ['Image size', 'Compressed (pull)', 'Final (visible)', 'Waste (reclaimable)', 'Efficiency (dive)'], rows: [['12.0 MiB', '5.00 MiB', '8.00 MiB', '3.00 MiB', '75.0%']] } },
    { h: 'What it is (kinds, final filesystem)' },
    { table: { head: ['Kind', 'Size', '% of final', 'Files'], rows: [['python', '6.00 MiB', '75.0%', '1'], ['docs', '0 B', '0.0%', '2'], ['app', '2.00 MiB', '25.0%', '1']] } },
    { h: 'Who installed it (top 15 owners)' },
    {
      table: {
        head: ['Owner', 'Version', 'Size', 'Files', 'Kinds'],
        rows: Array.from({ length: 15 }, (_, i) => [`pip:p${String(i + 1).padStart(2, '0')}`, i ? '' : '1.0', kib(16 - i), '1', i ? '' : 'app 5.00 KiB, python 3.00 KiB, toolchain 2.00 KiB']),
      },
    },
    { h: 'Layers' },
    {
      table: {
        head: ['#', 'Step', 'Size', 'Compressed', 'Visible', 'Waste', 'Mostly'],
        rows: [['1', 'RUN pip install -r requirements.txt', '9.00 MiB', 'n/a', '9.00 MiB', '0 B', 'python, pip:p01'], ['2', 'COPY . /app', '3.00 MiB', '1.00 MiB', '3.00 MiB', '3.00 MiB', '']],
      },
    },
    { h: 'Findings (ranked by what each fix saves)' },
    {
      table: {
        head: ['Severity', 'Finding', 'Saves', 'Evidence', 'Fix'],
        rows: [
          ['low', 'layer-waste: Deleted bytes still ship', '3.00 MiB, ~0.1 s/pull', [1, 2, 3, 4, 5].map((n) => `/a/w${n} (${kib(n)}, added in layer 1, deleted in layer 2)`).join('\n'), 'Delete in the same RUN.'],
          ['medium', 'toolchain-in-image: Compilers ship', '2.00 MiB, ~12 s/pull', '/usr/bin/gcc (from a saved report)\napt:gcc-12\napt:make', 'Multi-stage build.'],
          ['medium', 'runs-as-root: Runs as root', '', 'Config.User is empty', 'USER app.'],
          ['low', 'shared-libraries-off-path: Libraries off the path', '', 'libh.so.3 ← /x/e.so (pip:pkg); present at /opt/h/libh.so.3', 'Set LD_LIBRARY_PATH.'],
        ],
      },
    },
    { p: "s/pull: estimated seconds off every pull at 100 MB/s network and 150 MB/s unpacking, 50% compressed ratio (the image's); --bandwidth and --unpack-rate change them." },
    { h: 'CUDA and native libraries' },
    { li: 'CUDA runtime: 12.1 (pip:nvidia-cuda-runtime-cu12)' },
    { li: 'torch 2.3.0: built for CUDA 12.1 (usr/lib/torch/version.py)' },
    { h: 'Largest hidden (wasted) paths' },
    {
      table: {
        head: ['Path', 'Size', 'Added in', 'Hidden in', 'How'],
        rows: Array.from({ length: 15 }, (_, i) => [`/w/p${i + 1}`, kib(17 - i), 'layer 1', 'layer 2', i % 2 ? 'overwritten' : 'deleted']),
      },
    },
    { h: 'Warnings' },
    { li: 'first warning' },
    { li: 'second warning' },
  ];
}

// ---- the comparison ----

const row = (o: Partial<Comparison['rows'][number]>): Comparison['rows'][number] => ({
  name: '', reference: '', imageBytes: 0, compressedBytes: null, finalBytes: 0, wasteBytes: 0, pullMs: null, downloadedBytes: null, presentBytes: null,
  startToReadyMs: null, coldStartMs: null, warmStartMs: null, workingSetBytes: null, workingSetShare: null,
  vsBaseline: { imageBytes: 0, imageRatio: 1, coldStartMs: 0, warmStartMs: 0 }, ...o,
});

const fixtureComparison: Comparison = {
  schemaVersion: 1, kind: 'comparison', tool: { name: 'imgscope', version: '0.0.0' }, generatedAt: '2026-01-01T00:00:00.000Z', baseline: 0,
  rows: [
    row({ name: 'naive', reference: 'app:naive', imageBytes: GiB, compressedBytes: 400 * MiB, finalBytes: 900 * MiB, pullMs: 40_000, downloadedBytes: 400 * MiB, presentBytes: 0, startToReadyMs: 1000, coldStartMs: 41_000, warmStartMs: 900 }),
    row({
      name: 'slim', reference: 'app:slim', imageBytes: 512 * MiB, compressedBytes: 200 * MiB, finalBytes: 450 * MiB, pullMs: 9000, downloadedBytes: 150 * MiB, presentBytes: 50 * MiB,
      startToReadyMs: 800, coldStartMs: 9800, warmStartMs: 700, workingSetBytes: 100 * MiB, workingSetShare: 0.25,
      vsBaseline: { imageBytes: -512 * MiB, imageRatio: 0.5, coldStartMs: -31_200, warmStartMs: -200 },
    }),
  ],
  kinds: [
    { kind: 'python', bytes: [100 * MiB, 100 * MiB], delta: [0, 0] },
    { kind: 'toolchain', bytes: [500 * MiB, 0], delta: [0, -500 * MiB] },
    { kind: 'app', bytes: [0, MiB], delta: [0, MiB] },
    { kind: 'other', bytes: [0, 0], delta: [0, 0] },
  ],
  diffs: [
    {
      name: 'slim',
      growers: [{ owner: 'pip:numpy', baseline: 10 * MiB, bytes: 12 * MiB, delta: 2 * MiB }],
      shrinkers: [{ owner: 'unowned', baseline: 300 * MiB, bytes: 100 * MiB, delta: -200 * MiB }],
      onlyHere: [{ owner: 'pip:fastapi', bytes: MiB }],
      onlyInBaseline: [{ owner: 'apt:gcc-12', bytes: 500 * MiB }],
      stepsOnlyHere: [{ step: 'COPY --from=builder /install /usr/local', bytes: 5 * MiB }],
      stepsOnlyInBaseline: [{ step: 'RUN apt-get install -y build-essential', bytes: 600 * MiB }],
    },
  ],
  findings: [
    { id: 'toolchain-in-image', severity: 'medium', title: 'Compilers ship', images: [{ severity: 'medium', savingBytes: 500 * MiB, savingSeconds: 5.6 }, null] },
    { id: 'runs-as-root', severity: 'medium', title: 'Runs as root', images: [{ severity: 'medium', savingBytes: null, savingSeconds: null }, { severity: 'medium', savingBytes: null, savingSeconds: null }] },
  ],
};

const COMPARISON_NOTE = [
  'sizes in binary units (1 KiB = 1024 B); apparent bytes, like du -sb; times are medians over the measured runs.',
  "Image size: the layers' uncompressed bytes. Compressed: what a pull transfers. Final: bytes visible in the container.",
  'Pull: pull request → last layer unpacked, on a daemon the image was removed from (coldstart --cold); "partly warm" when the daemon kept layers that other images share (each coldstart report lists them).',
  'Start → ready: container create request → first passing readiness probe, right after that pull.',
  'Cold start: pull + start → ready, what a node that never saw the image pays.',
  'Warm start: create → ready with the image already present.',
  "Read at start: bytes of the image's files the container opened before ready (coldstart --trace-files), and their share of the final size.",
  'n/a: not measured.',
].join(' ');

const expectedComparison: Item[] = [
  { title: 'imgscope comparison' },
  { p: COMPARISON_NOTE },
  {
    table: {
      head: ['Approach', 'Image size', 'Compressed', 'Final', 'Pull', 'Start → ready', 'Cold start', 'Warm start', 'Read at start', 'vs baseline'],
      rows: [
        ['naive', '1.00 GiB', '400 MiB', '900 MiB', '40.0 s', '1000 ms', '41.0 s', '900 ms', 'n/a', 'baseline'],
        ['slim', '512 MiB', '200 MiB', '450 MiB', '9000 ms (partly warm: 50.0 MiB of 200 MiB already there)', '800 ms', '9800 ms', '700 ms', '100 MiB (25.0%)', '−50.0% size, −31.2 s cold start'],
      ],
    },
  },
  { h: 'By kind' },
  { table: { head: ['Kind', 'naive', 'slim'], rows: [['python', '100 MiB', '100 MiB (±0 B)'], ['toolchain', '500 MiB', '0 B (−500 MiB)'], ['app', '0 B', '1.00 MiB (+1.00 MiB)']] } },
  { h: 'Findings' },
  { p: '✗ = present (with what fixing it saves), · = absent.' },
  { table: { head: ['Finding', 'naive', 'slim'], rows: [['toolchain-in-image (medium)', '✗ 500 MiB, ~5.6 s/pull', '·'], ['runs-as-root (medium)', '✗', '✗']] } },
  { h: 'slim vs naive' },
  {
    table: {
      head: ['Owner', 'Baseline', 'Here', 'Δ'],
      rows: [['pip:numpy', '10.0 MiB', '12.0 MiB', '+2.00 MiB'], ['unowned', '300 MiB', '100 MiB', '−200 MiB'], ['pip:fastapi (only here)', '', '1.00 MiB', '+1.00 MiB'], ['apt:gcc-12 (only in baseline)', '500 MiB', '', '−500 MiB']],
    },
  },
  { table: { head: ['', 'Dockerfile step', 'Size'], rows: [['only here', 'COPY --from=builder /install /usr/local', '5.00 MiB'], ['only in baseline', 'RUN apt-get install -y build-essential', '600 MiB']] } },
];

// ---- the cold start (warm, traced, with imports) ----

const st = (median: number, p90: number, min: number, max: number) => ({ median, p90, min, max, n: 3 });
const run = { create: 10, start: 20, ready: 70, startToReady: 100, total: 1000 };

const fixtureColdStart: ColdStart = {
  reference: 'app:1', imageId: `sha256:${'1'.repeat(64)}`, readiness: { kind: 'http', url: 'http://127.0.0.1:8000/', note: 'GET until 200' }, gpus: null, warmupRuns: 1,
  runs: [run, run, run],
  phases: { create: st(10, 12, 9, 13), start: st(20, 25, 18, 30), ready: st(70, 90, 60, 95), startToReady: st(100, 127, 87, 138), total: st(1000, 1300, 900, 1400) },
  cold: null,
  pulls: null,
  imports: { totalMs: 40, packages: [{ package: 'numpy', selfMs: 30, share: 0.75, modules: 12 }, { package: 'json', selfMs: 10, share: 0.25, modules: 3 }] },
  workingSet: {
    files: 2, bytes: 3 * MiB, finalBytes: 12 * MiB, imageBytes: 12 * MiB, share: 0.25, unverifiedOpens: 0,
    byLayer: [{ layer: 0, files: 2, bytes: 3 * MiB }],
    byKind: [{ kind: 'python', files: 2, bytes: 3 * MiB }],
    byOwner: [{ owner: 'pip:numpy', files: 1, bytes: 2 * MiB }, { owner: 'unowned', files: 1, bytes: MiB }],
    largest: [{ path: 'usr/lib/np.so', bytes: 2 * MiB, layer: 0, owner: 'pip:numpy', kind: 'python' }, { path: 'app/main.py', bytes: MiB, layer: 0, owner: 'unowned', kind: 'python' }],
    opened: [],
  },
  notes: ['--trace-files needs root'],
};

const expectedColdStart: Item[] = [
  { title: 'imgscope coldstart: app:1' },
  { p: '3 measured run(s) after 1 warm-up; warm: the image already on the daemon; readiness: http (GET until 200)' },
  {
    table: {
      head: ['Phase (ms)', 'median', 'p90', 'min', 'max'],
      rows: [
        ['create (request → create event)', '10.0', '12.0', '9.0', '13.0'],
        ['start (create → start event)', '20.0', '25.0', '18.0', '30.0'],
        ['ready (start → first passing probe)', '70.0', '90.0', '60.0', '95.0'],
        ['start → ready (create request → ready)', '100', '127', '87.0', '138'],
        ['warm start (start → ready)', '1000', '1300', '900', '1400'],
      ],
    },
  },
  { h: 'Working set: files opened before ready' },
  { p: "Opened 2 file(s), 3.00 MiB of the image's 12.0 MiB final size (25.0%): whole-file sizes of what the container's processes opened from create to ready, each file once." },
  { table: { head: ['Layer', 'Files', 'Bytes'], rows: [['1', '2', '3.00 MiB']] } },
  { table: { head: ['Kind', 'Files', 'Bytes'], rows: [['python', '2', '3.00 MiB']] } },
  { table: { head: ['Owner', 'Files', 'Bytes'], rows: [['pip:numpy', '1', '2.00 MiB'], ['unowned', '1', '1.00 MiB']] } },
  { table: { head: ['Largest files opened', 'Bytes', 'Layer', 'Owner', 'Kind'], rows: [['/usr/lib/np.so', '2.00 MiB', '1', 'pip:numpy', 'python'], ['/app/main.py', '1.00 MiB', '1', 'unowned', 'python']] } },
  { h: 'Python imports: 40.0 ms in all (one extra run with PYTHONPROFILEIMPORTTIME)' },
  { p: 'Per top-level package: the summed self time of its modules, wherever they were imported from, and its share of the total.' },
  { table: { head: ['Package', 'self ms', 'share', 'modules'], rows: [['numpy', '30.0', '75.0%', '12'], ['json', '10.0', '25.0%', '3']] } },
  { h: 'Notes' },
  { p: '--trace-files needs root' },
  { p: 'sizes in binary units (1 KiB = 1024 B); apparent bytes, like du -sb' },
];

describe('views: each document the same in the terminal, Markdown and HTML', () => {
  it('the analysis', () => {
    const a = fixtureAnalysis();
    expectAll({ text: renderAnalysisTable(a), markdown: renderAnalysisMarkdown(a), html: renderAnalysisHtml([a]) }, expectedAnalysis());
  });

  it('the analysis with --top 3: the owners and the hidden paths both cut at 3', () => {
    const a = fixtureAnalysis();
    const exp = expectedAnalysis().map((it): Item => {
      if ('h' in it && it.h.startsWith('Who installed it')) return { h: 'Who installed it (top 3 owners)' };
      if ('table' in it && (it.table.head[0] === 'Owner' || it.table.head[0] === 'Path')) return { table: { ...it.table, rows: it.table.rows.slice(0, 3) } };
      return it;
    });
    expectAll({ text: renderAnalysisTable(a, 3), markdown: renderAnalysisMarkdown(a, 3), html: renderAnalysisHtml([a], 3) }, exp);
  });

  it('the comparison', () => {
    const c = fixtureComparison;
    expectAll({ text: renderComparisonTable(c), markdown: renderComparisonMarkdown(c), html: renderComparisonHtml(c) }, expectedComparison);
  });

  it('the cold start', () => {
    const c = fixtureColdStart;
    expectAll({ text: renderColdStartTable(c), markdown: renderColdStartMarkdown(c), html: renderColdStartHtml([c]) }, expectedColdStart);
  });

  it('sets names, paths and steps in monospace in Markdown and HTML, and styles severities and presence in HTML', () => {
    const a = fixtureAnalysis();
    const md = renderAnalysisMarkdown(a);
    const html = renderAnalysisHtml([a]);
    for (const v of ['registry.example/app:1', 'pip:p01', 'RUN pip install -r requirements.txt', '/w/p1', 'layer-waste', '/a/w1', 'libh.so.3', '/opt/h/libh.so.3', 'apt:gcc-12']) {
      expect(md).toContain(`<code>${v}</code>`);
      expect(html).toContain(`<code>${v}</code>`);
    }
    expect(html).toContain('<td><span class="sev low">low</span></td>');
    expect(html).toContain('<div class="card">Image size<b>12.0 MiB</b></div>');
    // the kinds' bars: python is the longest, app a third of it
    expect(html).toContain('<td class="barcell"><div class="bar" style="width:100.0%"></div></td>');
    expect(html).toContain('<td class="barcell"><div class="bar" style="width:33.3%"></div></td>');
    const cmp = renderComparisonHtml(fixtureComparison);
    expect(cmp).toContain('<td class="c"><span class="absent">·</span></td>');
    expect(cmp).toContain('<td class="c"><span class="present">✗</span></td>');
    expect(renderComparisonMarkdown(fixtureComparison)).toContain('| <code>COPY --from=builder /install /usr/local</code> |');
  });

  it('keeps the terminal narrow: a deep path or a digest in a wrapped column is cut, after its slashes first', () => {
    const a = fixtureAnalysis();
    const deep = `${'deep/'.repeat(24)}model.bin`; // 129 characters, no space
    const digest = `sha256:${'ab'.repeat(32)}`; // 71 characters, no slash
    a.findings = [{ id: 'baked-model-weights', severity: 'medium', title: 'Weights', savingBytes: MiB, savingSeconds: 0, fix: 'Mount them.', evidence: { items: [{ path: deep, bytes: MiB, layer: 0 }], detail: digest } }];
    const text = renderAnalysisTable(a);
    const table = text.slice(text.indexOf('Findings'));
    const rows = table.split('\n').filter((l) => l.startsWith('│'));
    const evidence = rows.slice(1).map((l) => l.split('│')[4]!.trim()).join('');
    // the cell's lines, joined, give the path and the digest back whole
    expect(evidence.replace(/\s+|^-/g, '')).toContain(`/${deep}`);
    expect(evidence).toContain(digest.slice(0, 44));
    // and the wrapped column (44 wide) holds no line longer than that
    expect(Math.max(...rows.slice(1).map((l) => l.split('│')[4]!.trim().length))).toBeLessThanOrEqual(44);
    expect(Math.max(...rows.map((l) => [...l].length))).toBeLessThan(200);
  });
});
