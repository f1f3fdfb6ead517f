/**
 * The layer cache's fingerprint (image/layer-cache.ts walkFingerprint) hashes the modules found from
 * the import graph, not a list of names: what shapes a walk is in it, what only reads a walk is not.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { walkFingerprint, walkModules } from '../../src/image/layer-cache.js';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const modules = walkModules(SRC, '.ts').map((f) => path.relative(SRC, f).split(path.sep).join('/'));

describe('walk fingerprint', () => {
  it('covers the walkers, the probes, the capture predicate and what they import', () => {
    for (const m of ['walk/stream-walker.ts', 'walk/seek-walker.ts', 'walk/tar-header.ts', 'inspect/probe.ts', 'inspect/elf.ts', 'inspect/fatbin.ts', 'catalog/metadata.ts', 'catalog/sensitive.ts', 'catalog/python.ts', 'catalog/cuda.ts', 'image/layer-reader.ts', 'image/archive.ts', 'image/compression.ts', 'image/zstd.ts', 'util/paths.ts']) {
      expect(modules).toContain(m);
    }
  });

  it('leaves out the stages that only read a walk', () => {
    expect(modules.filter((m) => /^(fs|attribute|findings|render|coldstart|bench)\/|^(analysis|pipeline|cli|compare|gates|reports)\.ts$/.test(m))).toEqual([]);
  });

  it('is a hash of them', () => {
    expect(walkFingerprint()).toMatch(/^[0-9a-f]{32}$/);
  });

  it('is the same set of modules in src/ (under the tests) as in the build users run (dist/)', () => {
    const DIST = fileURLToPath(new URL('../../dist', import.meta.url));
    if (!existsSync(path.join(DIST, 'image/layer-cache.js'))) return; // npm test builds first; a bare vitest run may not have dist/
    const built = walkModules(DIST, '.js').map((f) => path.relative(DIST, f).split(path.sep).join('/').replace(/\.js$/, '.ts'));
    expect(built).toEqual(modules);
  });
});
