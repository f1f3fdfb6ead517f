import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { renderAnalysisMarkdown, renderAnalysisTable } from '../../src/render/analyze.js';
import { formatBytes, shortenStep } from '../../src/util/format.js';
import { type FixtureImage, tmpDir, writeDockerArchiveLegacy, writeOciDir } from '../helpers/images.js';
import { analyzeChecked, checkReport } from '../helpers/report.js';
import { file, whiteout } from '../helpers/tar.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

const img: FixtureImage = {
  config: { WorkingDir: '/app', User: 'app' },
  emptySteps: [
    { before: 1, createdBy: '/bin/sh -c #(nop)  ENV PIP_NO_CACHE_DIR=1' },
    { before: 2, createdBy: 'WORKDIR /app' },
  ],
  layers: [
    { entries: [file('usr/lib/libbig.so.1', 3 * 1024 * 1024), file('etc/cfg', 10)], createdBy: '/bin/sh -c #(nop) ADD file:abc in / ' },
    { entries: [file('root/.cache/pip/wheel.whl', 2 * 1024 * 1024), file('opt/m/model.onnx', 5 * 1024 * 1024)], createdBy: '|1 BASE=x /bin/sh -c pip install -r requirements.txt | tee log' },
    { entries: [whiteout('root/.cache'), file('app/main.py', 1000)], createdBy: 'COPY . /app # buildkit' },
  ],
};

describe('history, rendering and the CLI report', () => {
  it('maps history to layers, skipping empty-layer steps', async () => {
    const d = path.join(tmpDir(), 'hist');
    await writeOciDir(d, [{ img }]);
    const a = await analyzeChecked(`oci:${d}`);
    expect(a.history.map((h) => [h.emptyLayer, h.layer])).toEqual([[false, 0], [true, null], [false, 1], [true, null], [false, 2]]);
    expect(a.layers.map((l) => l.createdBy)).toEqual([
      '/bin/sh -c #(nop) ADD file:abc in / ',
      '|1 BASE=x /bin/sh -c pip install -r requirements.txt | tee log',
      'COPY . /app # buildkit',
    ]);
    expect(a.layers[1]).toMatchObject({ bytes: 7 * 1024 * 1024, visibleBytes: 5 * 1024 * 1024, wasteBytes: 2 * 1024 * 1024, whiteouts: 0 });
    expect(a.layers[2]!.whiteouts).toBe(1);
    expect(a.image).toMatchObject({ user: 'app', workingDir: '/app' });
  });

  it('falls back to positional mapping when history and layers disagree, with a warning', async () => {
    const p = path.join(tmpDir(), 'mismatch.tar');
    const bad: FixtureImage = { ...img, emptySteps: [] };
    await writeDockerArchiveLegacy(p, bad);
    // rewrite the config so that one layer step is marked empty
    const a = await analyzeChecked(p);
    expect(a.warnings).toEqual([]);
    const cfgHistory = [{ created_by: 'one' }, { created_by: 'two', empty_layer: true }, { created_by: 'three' }];
    const { loadImage } = await import('../../src/image/load.js');
    const { analyze } = await import('../../src/pipeline.js');
    const loaded = await loadImage(p);
    loaded.config.history = cfgHistory;
    const b = checkReport(analyze(loaded));
    expect(b.warnings[0]).toMatch(/history has 2 layer steps for 3 layers; steps are mapped by position/);
    expect(b.layers.map((l) => l.createdBy)).toEqual(['one', 'three', '']);
  });

  it('renders the terminal table and Markdown from the numbers in the report', async () => {
    const d = path.join(tmpDir(), 'render');
    await writeOciDir(d, [{ img }]);
    const a = await analyzeChecked(`oci:${d}`);
    const t = renderAnalysisTable(a);
    // final: 3 MiB + 10 B + 5 MiB + 1000 B; image: that + the 2 MiB pip cache whited out later
    expect(formatBytes(a.totals.finalBytes)).toBe('8.00 MiB');
    expect(t).toContain('8.00 MiB');
    expect(formatBytes(a.totals.imageBytes)).toBe('10.0 MiB');
    expect(t).toContain('10.0 MiB');
    expect(t).toMatch(/model-weights\s+│\s+5\.00 MiB/);
    expect(t).toMatch(/pip install -r requirements\.txt/);
    const md = renderAnalysisMarkdown(a);
    const rows = md.split('\n').filter((l) => l.startsWith('| '));
    const kindRows = rows.filter((r) => /^\| (model-weights|caches|app|other) \|/.test(r)).map((r) => r.split(' | ').map((c) => c.replace(/^\| | \|$/g, '')));
    expect(kindRows).toContainEqual(['model-weights', '5.00 MiB', expect.stringMatching(/%$/), '1']);
    expect(kindRows).toContainEqual(['app', '1000 B', expect.stringMatching(/%$/), '1']);
    // the layer step is shortened (build-arg prefix dropped), and a pipe in it cannot break the table
    expect(md).toContain('<code>RUN pip install -r requirements.txt \\| tee log</code>');
    const layerRow = rows.find((r) => r.includes('pip install'))!;
    expect(layerRow.split(/(?<!\\)\|/).length - 2).toBe(7);
  });

  it('shortens Dockerfile steps sensibly', () => {
    expect(shortenStep('/bin/sh -c #(nop)  CMD ["python3"]')).toBe('CMD ["python3"]');
    expect(shortenStep('/bin/sh -c apt-get update &&     apt-get install -y x')).toBe('RUN apt-get update && apt-get install -y x');
    expect(shortenStep('RUN /bin/sh -c pip install x # buildkit')).toBe('RUN /bin/sh -c pip install x');
    expect(shortenStep('x'.repeat(100), 20)).toHaveLength(20);
  });

  it('emits one JSON report per reference as an array, valid against the schema', async () => {
    const d = tmpDir();
    await writeOciDir(path.join(d, 'a'), [{ img }]);
    await writeOciDir(path.join(d, 'b'), [{ img: { layers: [{ entries: [file('x', 5)] }] } }]);
    const r = await execa('node', [CLI, 'analyze', `oci:${d}/a`, `oci:${d}/b`, '--format', 'json']);
    const parsed = JSON.parse(r.stdout) as unknown[];
    expect(parsed).toHaveLength(2);
    checkReport(parsed);
    expect((parsed[1] as { totals: { finalBytes: number } }).totals.finalBytes).toBe(5);
  });

  it('verifies uncompressed layer digests only with --verify', async () => {
    const d = path.join(tmpDir(), 'verify');
    const built = await writeOciDir(d, [{ img: { layers: [{ entries: [file('x', 5000)] }] } }]);
    // flip one body byte: headers still parse, so only a full read notices
    const blob = path.join(d, 'blobs/sha256', built[0]!.layers[0]!.digest.slice(7));
    const b = readFileSync(blob);
    b[600] = b[600]! ^ 1;
    writeFileSync(blob, b);
    const plain = await execa('node', [CLI, 'analyze', `oci:${d}`, '-f', 'json'], { reject: false });
    expect(plain.exitCode).toBe(0);
    const verified = await execa('node', [CLI, 'analyze', `oci:${d}`, '--verify'], { reject: false });
    expect(verified.exitCode).toBe(2);
    expect(verified.stderr.trim()).toMatch(/layer 1 \(sha256:[0-9a-f]{64}\): blob: digest mismatch: expected sha256:/);
  });
});
