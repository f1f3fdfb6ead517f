import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FixtureImage, tmpDir, writeDockerArchiveLegacy, writeOciDir } from '../helpers/images.js';
import { analyzeChecked } from '../helpers/report.js';
import { file, whiteout } from '../helpers/tar.js';

// Issue 12, point 16: directory depth is the attacker's to choose; nothing may recurse over it.
const DEPTH = 5000;
const deep = Array.from({ length: DEPTH }, () => 'd').join('/'); // d/d/…/d, 10 kB of path

function image(compression: 'none' | 'gzip'): FixtureImage {
  return {
    layers: [
      {
        compression,
        entries: [file(`${deep}/leaf.bin`, 700), file(`${deep}/lib/python3.11/site-packages/m.py`, 30), file(`x/${deep}/other.bin`, 300), file('keep.bin', 11)],
      },
      // a later layer deletes one deep tree: its bytes become waste, walked without recursion too
      { compression, entries: [whiteout('x')] },
    ],
  };
}

describe('directories nested thousands deep', () => {
  it(`${DEPTH} levels: the same answer from the seeking walker and the streaming one, no stack overflow`, async () => {
    const dir = tmpDir();
    const tarFile = path.join(dir, 'deep.tar');
    await writeDockerArchiveLegacy(tarFile, image('none'));
    const layoutDir = path.join(dir, 'deep-oci');
    await writeOciDir(layoutDir, [{ img: image('gzip') }]);
    for (const ref of [`docker-archive:${tarFile}`, `oci:${layoutDir}`]) {
      const a = await analyzeChecked(ref);
      // by construction: 700 + 30 + 11 visible, 300 hidden by the whiteout
      expect(a.totals.finalBytes, ref).toBe(741);
      expect(a.totals.wasteBytes, ref).toBe(300);
      expect(a.layers.map((l) => [l.visibleBytes, l.wasteBytes]), ref).toEqual([[741, 300], [0, 0]]);
    }
  });
});
