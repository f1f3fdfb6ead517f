import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** `docs/x.md "A" and "B"`, `README.md "C"`: a markdown file, then one or more quoted section names. */
const CITE = /((?:docs\/)?[A-Za-z0-9_-]+\.md)((?:\s*(?:"[^"]+"|and|,))+)/g;

describe('the repository explains itself', () => {
  it('every section a source comment cites exists as a heading of that document', () => {
    const cites: Array<{ where: string; doc: string; section: string }> = [];
    for (const f of sources(path.join(ROOT, 'src'))) {
      readFileSync(f, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          for (const m of line.matchAll(CITE)) {
            for (const q of m[2]!.matchAll(/"([^"]+)"/g)) cites.push({ where: `${path.relative(ROOT, f)}:${i + 1}`, doc: m[1]!, section: q[1]! });
          }
        });
    }
    expect(cites.length).toBeGreaterThan(20);
    const missing = cites.filter((c) => {
      let text: string;
      try {
        text = readFileSync(path.join(ROOT, c.doc), 'utf8');
      } catch {
        return true;
      }
      return !text.split('\n').some((l) => /^#{1,4} /.test(l) && l.replace(/^#+ /, '').trim() === c.section);
    });
    expect(missing).toEqual([]);
  });

  it("the README's layout names every directory and top-level module of src/", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const layout = readme.slice(readme.indexOf('## Layout'));
    const entries = readdirSync(path.join(ROOT, 'src')).map((n) => (statSync(path.join(ROOT, 'src', n)).isDirectory() ? `src/${n}/` : n));
    expect(entries.length).toBeGreaterThan(15);
    expect(entries.filter((e) => !layout.includes(e))).toEqual([]);
  });

  it('every src/ path the README and docs/ name exists', () => {
    const docs = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).map((n) => `docs/${n}`)];
    const named = docs.flatMap((d) => [...readFileSync(path.join(ROOT, d), 'utf8').matchAll(/\bsrc\/[\w/.-]+\.ts\b/g)].map((m) => ({ doc: d, file: m[0] })));
    expect(named.length).toBeGreaterThan(30);
    expect(named.filter((n) => !existsSync(path.join(ROOT, n.file)))).toEqual([]);
  });
});
