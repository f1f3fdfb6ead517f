/**
 * The shape of the source tree (docs/architecture.md "Pipeline"): a one-way pipeline whose stages
 * import only from themselves and from earlier stages, no import cycle, and no function longer than
 * 80 lines outside the walkers' hot loops. Parsed with the TypeScript compiler, so `import type`
 * counts as an import too: a stage that names a later stage's type depends on it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SRC = path.join(ROOT, 'src');

/**
 * The stages, in pipeline order. A source file belongs to the first entry whose pattern matches its
 * path under src/. Files of one stage may import each other; a file may import any earlier stage.
 */
export const STAGES: Array<{ stage: string; files: RegExp }> = [
  { stage: 'base: errors, utilities, the report contract, shared rules', files: /^(errors\.ts|util\/|report\/|catalog\/|pull-model\.ts)/ },
  { stage: 'inspect: byte probes of single files (ELF, fatbin)', files: /^inspect\// },
  { stage: 'walk: layer tars to entries', files: /^walk\// },
  { stage: 'load: transports, the layer loop, the layer cache', files: /^image\// },
  { stage: 'merge: the stacked filesystem', files: /^fs\// },
  { stage: 'attribute: owners, kinds, libraries, CUDA', files: /^attribute\// },
  { stage: 'analysis: totals, layers, history', files: /^analysis\.ts$/ },
  { stage: 'findings: rules over an analysis', files: /^findings\// },
  { stage: 'dockerfile: Dockerfile lines for history steps, layers and findings', files: /^dockerfile\// },
  { stage: 'visual: the treemap data of an analysed filesystem', files: /^visual\// },
  { stage: 'pipeline: load to findings in one call', files: /^pipeline\.ts$/ },
  { stage: 'coldstart: run the image and time it', files: /^coldstart\// },
  { stage: 'compare, budgets, saved reports', files: /^((compare|gates|reports)\.ts|ci\/dive\.ts)$/ },
  { stage: 'views: documents and their syntaxes', files: /^render\// },
  { stage: 'commands: the CLI', files: /^(cli\.ts|commands\/)/ },
  { stage: 'action: the GitHub Action script', files: /^ci\/action\.ts$/ },
  { stage: 'bench', files: /^bench\// },
];

/** Functions allowed over 80 lines, and why (the walkers' hot loops, where a call per entry costs). */
const LONG_ALLOWED = new Map<string, string>([]);
const MAX_LINES = 80;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const rel = (f: string): string => path.relative(SRC, f).split(path.sep).join('/');
const stageOf = (r: string): number => STAGES.findIndex((s) => s.files.test(r));

function parse(f: string): ts.SourceFile {
  return ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true);
}

/** Relative imports and re-exports of a file, as paths under src/ (`.js` specifiers name `.ts` files). */
function importsOf(f: string): string[] {
  const out: string[] = [];
  for (const s of parse(f).statements) {
    const spec = (ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) && s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier) ? s.moduleSpecifier.text : undefined;
    if (!spec?.startsWith('.')) continue;
    out.push(rel(path.resolve(path.dirname(f), spec.replace(/\.js$/, '.ts'))));
  }
  return out;
}

const files = sources(SRC);
const graph = new Map(files.map((f) => [rel(f), importsOf(f)]));

describe('the house: one-way pipeline, short functions', () => {
  it('every source file belongs to a stage', () => {
    expect([...graph.keys()].filter((r) => stageOf(r) < 0)).toEqual([]);
  });

  it('no module imports from a later stage', () => {
    const bad: string[] = [];
    for (const [from, tos] of graph) {
      for (const to of tos) if (stageOf(to) > stageOf(from)) bad.push(`${from} (${STAGES[stageOf(from)]?.stage}) imports ${to} (${STAGES[stageOf(to)]?.stage})`);
    }
    expect(bad).toEqual([]);
  });

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (n: string): void => {
      state.set(n, 'open');
      stack.push(n);
      for (const m of graph.get(n) ?? []) {
        if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m].join(' -> '));
        else if (!state.has(m)) visit(m);
      }
      stack.pop();
      state.set(n, 'done');
    };
    for (const n of graph.keys()) if (!state.has(n)) visit(n);
    expect(cycles).toEqual([]);
  });

  it(`no function is longer than ${MAX_LINES} lines, but the walkers' hot loops`, () => {
    const long: string[] = [];
    for (const f of files) {
      const sf = parse(f);
      const visit = (n: ts.Node): void => {
        if (ts.isFunctionLike(n) && 'body' in n && n.body) {
          const a = sf.getLineAndCharacterOfPosition(n.getStart()).line;
          const b = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
          const name = n.name?.getText(sf) ?? (ts.isVariableDeclaration(n.parent) ? n.parent.name.getText(sf) : '<anonymous>');
          const id = `${rel(f)} ${name}`;
          if (b - a + 1 > MAX_LINES && !LONG_ALLOWED.has(id)) long.push(`${id} (${b - a + 1} lines)`);
        }
        ts.forEachChild(n, visit);
      };
      visit(sf);
    }
    expect(long).toEqual([]);
  });
});
