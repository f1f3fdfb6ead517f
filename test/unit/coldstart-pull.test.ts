import { readFileSync } from 'node:fs';
import net from 'node:net';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { chainIds, normalizeName, splitTag } from '../../src/coldstart/cold.js';
import type { ColdStart } from '../../src/report/types.js';
import { type PullEvent, pullBreakdown } from '../../src/coldstart/pull.js';
import { Link, startRelay } from '../../src/coldstart/relay.js';
import { type OpenEvent, parseFatraceLine, workingSet } from '../../src/coldstart/trace.js';
import { coldStartView, renderColdStartMarkdown, renderColdStartTable } from '../../src/render/coldstart.js';
import { renderColdStartHtml } from '../../src/render/html.js';
import { expectSchemaValid } from '../helpers/report.js';

const recorded = (file: string): PullEvent[] =>
  readFileSync(new URL(`../fixtures/pull/${file}`, import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean)
    // one message every millisecond, from 1 ms after the request
    .map((l, i) => ({ ...(JSON.parse(l) as Omit<PullEvent, 't'>), t: BigInt(i + 1) * 1_000_000n }));

// The registry manifest of the recorded pull (test/fixtures/pull/README.md).
const MANIFEST = [
  { digest: 'sha256:2f9c761c73f5d53a14e75611bb007351d12e4c2c52b5247da4e78a20eb84917e', size: 49884164 },
  { digest: 'sha256:478b96a7b2f4664b9b40b114c4b168fbefde093472f33ce8917cebe5bb005fd2', size: 3001168 },
  { digest: 'sha256:5065c8aaaf6735a89d435f70a3c5c7649949291885f65be35cf4cece9a93ff17', size: 200298 },
];

describe('the pull, layer by layer', () => {
  const events = recorded('docker-20.10-partly-warm.jsonl');
  const p = pullBreakdown('127.0.0.1:5099/exp/small:1', 0n, 25_000_000n, events, MANIFEST);

  it('names each layer of the manifest and tells downloaded from already present', () => {
    expect(p.layers.map((l) => [l.index, l.digest, l.status, l.compressedBytes])).toEqual([
      [0, MANIFEST[0]!.digest, 'present', 49884164],
      [1, MANIFEST[1]!.digest, 'downloaded', 3001168],
      [2, MANIFEST[2]!.digest, 'downloaded', 200298],
    ]);
    // the 3 MB layer's last "Downloading" message said 36445 bytes: its size comes from the total
    expect(p.layers.map((l) => l.downloadedBytes)).toEqual([0, 3001168, 200298]);
    expect(p.downloadedBytes).toBe(3001168 + 200298);
    expect(p.presentBytes).toBe(49884164);
    expect(p.estimatedLayers).toBe(0);
    expect(p.digest).toBe('sha256:8af2334dac6e03f492b2a0bc69f87e08c3b2f547944c7b37d1a33d997550bd4f');
  });

  it('times download and extract from the messages\' arrival (message n arrives at n ms)', () => {
    const l1 = p.layers[1]!;
    const l2 = p.layers[2]!;
    // 478b…: first Downloading is message 9, Download complete 11, first Extracting 12, Pull complete 15
    expect([l1.downloadStartMs, l1.downloadEndMs, l1.extractStartMs, l1.extractEndMs]).toEqual([9, 11, 12, 15]);
    // 5065…: Downloading 5, Download complete 8, Extracting 16, Pull complete 19
    expect([l2.downloadStartMs, l2.downloadEndMs, l2.extractStartMs, l2.extractEndMs]).toEqual([5, 8, 16, 19]);
    expect(p.layers[0]!.downloadStartMs).toBeNull();
    expect(p.downloadMs).toBe(11 - 5);
    expect(p.extractMs).toBe(19 - 12);
    expect(p.totalMs).toBe(25);
  });

  it('keeps layers the manifest does not list, and works without a manifest', () => {
    const bare = pullBreakdown('x', 0n, 1n, events, null);
    expect(bare.layers.map((l) => [l.digest, l.status, l.compressedBytes, l.downloadedBytes])).toEqual([
      ['2f9c761c73f5', 'present', null, 0],
      ['478b96a7b2f4', 'downloaded', null, 3001168],
      ['5065c8aaaf67', 'downloaded', null, 200298],
    ]);
    // a layer that finished without ever giving a size is counted at the manifest's, and flagged
    const tiny: PullEvent[] = [
      { t: 1n, status: 'Pulling fs layer', id: 'aaaaaaaaaaaa' },
      { t: 2n, status: 'Download complete', id: 'aaaaaaaaaaaa' },
      { t: 3n, status: 'Pull complete', id: 'aaaaaaaaaaaa' },
    ];
    const t = pullBreakdown('x', 0n, 4n, tiny, [{ digest: `sha256:${'a'.repeat(64)}`, size: 321 }]);
    expect([t.layers[0]!.downloadedBytes, t.downloadedBytes, t.estimatedLayers]).toEqual([null, 321, 1]);
  });
});

describe('cold-pull bookkeeping', () => {
  it('computes chain IDs as the image spec defines them (checked with sha256sum)', async () => {
    const diff = ['sha256:' + 'a'.repeat(64), 'sha256:' + 'b'.repeat(64), 'sha256:' + 'c'.repeat(64)];
    const sum = async (s: string): Promise<string> => 'sha256:' + (await execa('sha256sum', { input: s })).stdout.split(' ')[0];
    const c2 = await sum(`${diff[0]} ${diff[1]}`);
    const c3 = await sum(`${c2} ${diff[2]}`);
    expect(chainIds(diff)).toEqual([diff[0], c2, c3]);
  });

  it('splits tags after the last slash only, and names images as RepoTags does', () => {
    expect(splitTag('127.0.0.1:5000/a/b:v1')).toEqual({ repo: '127.0.0.1:5000/a/b', tag: 'v1' });
    expect(splitTag('127.0.0.1:5000/a/b')).toEqual({ repo: '127.0.0.1:5000/a/b', tag: 'latest' });
    expect(splitTag('a@sha256:00')).toBeUndefined();
    expect(normalizeName('docker.io/library/ubuntu')).toBe('ubuntu:latest');
    expect(normalizeName('localhost:5000/x')).toBe('localhost:5000/x:latest');
    expect(normalizeName('me/app:1')).toBe('me/app:1');
  });
});

describe('the rate-limited relay', () => {
  it('queues chunks on one shared link', () => {
    let now = 0;
    const link = new Link(1000, () => now); // 1000 B/s
    expect(link.reserve(100)).toBe(100); // 100 ms to send
    expect(link.reserve(100)).toBe(200); // behind the first
    now = 1000; // idle since 200 ms
    expect(link.reserve(500)).toBe(500);
  });

  it('carries every byte, no faster than the rate', async () => {
    const payload = Buffer.alloc(600_000, 7);
    const server = net.createServer((s) => s.end(payload));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const rate = 2_000_000; // 2 MB/s: 600 kB take at least 300 ms
    const relay = await startRelay({ host: '127.0.0.1', port }, rate);
    try {
      const [host, rport] = relay.address.split(':');
      const t0 = performance.now();
      const got = await new Promise<Buffer>((resolve, reject) => {
        const parts: Buffer[] = [];
        const c = net.connect(Number(rport), host!);
        c.on('data', (d: Buffer) => parts.push(d));
        c.on('end', () => resolve(Buffer.concat(parts)));
        c.on('error', reject);
      });
      const elapsed = performance.now() - t0;
      expect(got.equals(payload)).toBe(true);
      expect(relay.bytesDown()).toBe(payload.length);
      // a lower bound only (a slow machine may take longer; it can never be faster than the link)
      expect(elapsed).toBeGreaterThanOrEqual((payload.length / rate) * 1000 - 5);
    } finally {
      await relay.close();
      server.close();
    }
  });
});

describe('the startup working set', () => {
  it('reads fatrace -tt lines, commands with spaces and parentheses included', () => {
    expect(parseFatraceLine('1795699418.870737 sh(16316): O   /var/lib/docker/overlay2/x/diff/usr/bin/dash')).toEqual({
      t: 1795699418870737000n,
      comm: 'sh',
      pid: 16316,
      types: 'O',
      file: '/var/lib/docker/overlay2/x/diff/usr/bin/dash',
    });
    expect(parseFatraceLine('1.5 runc:[2:INIT](7): RCO /a b')).toMatchObject({ comm: 'runc:[2:INIT]', pid: 7, types: 'RCO', file: '/a b' });
    expect(parseFatraceLine('garbage')).toBeUndefined();
  });

  it('keeps the container\'s opens inside the window, each file once and each inode\'s bytes once', () => {
    const ev = (t: number, ns: string | null, path: string, layer = 0): OpenEvent => ({ t: BigInt(t), pid: 1, ns, layer, path, hostPath: `/h/${path}` });
    const sizes: Record<string, { bytes: number; inode: string }> = {
      '/h/usr/bin/python3.11': { bytes: 6000, inode: '1:1' },
      '/h/app/model.joblib': { bytes: 300, inode: '1:2' },
      '/h/app/model-link.joblib': { bytes: 300, inode: '1:2' }, // a hardlink of the model
      '/h/usr/share/doc/x': { bytes: 50, inode: '1:3' },
    };
    const attr: Record<string, { owner: string; kind: string }> = { 'usr/bin/python3.11': { owner: 'apt:python3.11-minimal', kind: 'system' }, 'app/model.joblib': { owner: 'unowned', kind: 'model-weights' } };
    const w = workingSet(
      [
        ev(5, 'pid:[1]', 'usr/share/doc/x'), // before the window
        ev(10, 'pid:[1]', 'usr/bin/python3.11'),
        ev(11, 'pid:[1]', 'usr/bin/python3.11'), // again
        ev(12, 'pid:[2]', 'usr/share/doc/x'), // another namespace (the host, another container)
        ev(13, null, 'usr/share/doc/x'), // a process that exited before it could be checked
        ev(14, 'pid:[1]', 'app/model.joblib', 3),
        ev(15, 'pid:[1]', 'app/model-link.joblib', 3),
        ev(16, 'pid:[1]', 'usr'), // a directory: no size
        ev(99, 'pid:[1]', 'usr/share/doc/x'), // after ready
      ],
      { ns: 'pid:[1]', from: 10n, to: 20n },
      (p) => sizes[p],
      (p) => attr[p],
      { finalBytes: 63_000, imageBytes: 70_000 },
    );
    expect([w.files, w.bytes, w.share, w.unverifiedOpens]).toEqual([3, 6300, 0.1, 1]);
    expect(w.byLayer).toEqual([{ layer: 0, files: 1, bytes: 6000 }, { layer: 3, files: 2, bytes: 300 }]);
    expect(w.byKind).toEqual([{ kind: 'system', files: 1, bytes: 6000 }, { kind: 'model-weights', files: 1, bytes: 300 }, { kind: 'other', files: 1, bytes: 0 }]);
    expect(w.largest.map((f) => f.path)).toEqual(['usr/bin/python3.11', 'app/model.joblib', 'app/model-link.joblib']);
    expect(w.opened).toEqual([{ path: 'app/model-link.joblib', bytes: 0, layer: 3 }, { path: 'app/model.joblib', bytes: 300, layer: 3 }, { path: 'usr/bin/python3.11', bytes: 6000, layer: 0 }]);
  });
});

describe('the cold-start document', () => {
  const stats = (v: number) => ({ median: v, p90: v + 1, min: v - 1, max: v + 2, n: 3 });
  const c: ColdStart = {
    reference: '127.0.0.1:5000/app:1',
    imageId: 'sha256:' + '1'.repeat(64),
    readiness: { kind: 'healthcheck', test: ['CMD', 'true'], note: 'probe' },
    gpus: null,
    warmupRuns: 0,
    runs: [{ pull: 900, download: 500, extract: 300, create: 10, start: 20, ready: 70, startToReady: 100, total: 1000 }],
    phases: { pull: stats(900), download: stats(500), extract: stats(300), create: stats(10), start: stats(20), ready: stats(70), startToReady: stats(100), total: stats(1000) },
    cold: { imageIdBefore: 'sha256:' + '1'.repeat(64), removedReferences: ['app:1', 'app:two'], deletedImages: 1, sharedLayers: [{ index: 0, diffId: 'sha256:' + '2'.repeat(64), images: ['base:1', 'other:2', 'x:3'] }], notRestored: [] },
    pulls: [pullBreakdown('127.0.0.1:5000/app:1', 0n, 900_000_000n, recorded('docker-20.10-partly-warm.jsonl'), MANIFEST)],
    imports: { totalMs: 40, packages: [{ package: 'numpy', selfMs: 30, share: 0.75, modules: 12 }, { package: 'json', selfMs: 10, share: 0.25, modules: 3 }] },
    workingSet: null,
    notes: ['--trace-files needs root'],
  };

  it('is schema-valid and shows the same rows in every format', () => {
    expectSchemaValid({ schemaVersion: 1, tool: { name: 'imgscope', version: '0' }, generatedAt: new Date().toISOString(), coldStart: c });
    const v = coldStartView(c);
    const tables = v.blocks.filter((b) => b.kind === 'table');
    const md = renderColdStartMarkdown(c);
    const txt = renderColdStartTable(c);
    const html = renderColdStartHtml([c]);
    for (const t of tables) {
      for (const cells of t.rows) {
        // the cold-start view's tables hold plain text cells only
        expect(cells.every((cell) => typeof cell === 'string')).toBe(true);
        const row = cells as string[];
        expect(md).toContain(`| ${row.join(' | ')} |`);
        for (const cell of row) expect(txt).toContain(cell);
        expect(html).toContain(`<tr>${row.map((cell, i) => `<td${(t.align?.[i] ?? (i ? 'r' : 'l')) === 'r' ? ' class="n"' : ''}>${cell.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</td>`).join('')}</tr>`);
      }
    }
    // the p90 column is the p90, the total row is named for what it measured
    expect(md).toContain('| cold start (pull + start → ready) | 1000 | 1001 | 999 | 1002 |');
    expect(md).toContain('| 1 | 2f9c761c73f5 | 47.6 MiB | — |  |  | already present, shared with base:1, other:2 and 1 more |');
    expect(md).toContain('| 2 | 478b96a7b2f4 | 2.86 MiB | 2.86 MiB | 9.0 → 11.0 | 12.0 → 15.0 | downloaded |');
    expect(md).toContain('| numpy | 30.0 | 75.0% | 12 |');
    expect(md).toContain('--trace-files needs root');
  });
});
