/**
 * `containers-storage:` on a real Podman store (issue 14's acceptance): an image Podman built from the
 * imported base (whiteouts, an opaque directory, a hardlink, a long name, a dpkg removal) read from
 * the store gives the report `podman save` gives, field by field but the source fields; an image
 * stored from gzip blobs gives the report its OCI layout gives, with the compressed sizes
 * layers.json records (read here with node, not through imgscope). Skipped without Podman (as root,
 * overlay driver) unless IMGSCOPE_REQUIRE_DOCKER=1. The built image keeps a tag computed from its
 * inputs and is reused while they do not change; older tags and every other image it made are removed.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeReference } from '../../src/pipeline.js';
import type { Analysis } from '../../src/report/types.js';
import { BASE_IMAGE, dockerAvailable, ensureBase, requireDocker, ROOT } from '../helpers/docker.js';
import { tmpDir, writeOciDir } from '../helpers/images.js';
import { checkReport } from '../helpers/report.js';
import { dir, filler, opaque, packTar, text, whiteout } from '../helpers/tar.js';

const REPO = 'localhost/imgscope-cs-test';
const podmanInfo = await execa('podman', ['info', '--format', '{{.Store.GraphDriverName}} {{.Store.GraphRoot}}'], { reject: false }).catch(() => undefined);
const podman = podmanInfo?.exitCode === 0 && (await dockerAvailable());
if (requireDocker && !podman) throw new Error('IMGSCOPE_REQUIRE_DOCKER=1 but `podman info` or `docker info` fails (scripts/setup-docker.sh installs podman)');
const [driver, graphroot] = podman ? podmanInfo!.stdout.trim().split(' ') : [];
// Read as root, on the overlay driver (what the CI's podman uses); a rootless store is the user's own.
const readable = driver === 'overlay' && process.getuid?.() === 0;
if (requireDocker && podman && !readable) throw new Error(`IMGSCOPE_REQUIRE_DOCKER=1 but podman's store is ${driver} (overlay needed) or not root`);

const pod = async (...args: string[]): Promise<string> => (await execa('podman', args)).stdout.trim();
const exists = async (name: string): Promise<boolean> => (await execa('podman', ['image', 'exists', name], { reject: false })).exitCode === 0;
const hash = (...parts: string[]): string => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 12);

/** The whiteouts fixture (test/fixtures/whiteouts), and a layer that removes a package with dpkg. */
const DOCKERFILE = `${readFileSync(path.join(ROOT, 'test/fixtures/whiteouts/Dockerfile'), 'utf8')}RUN dpkg --purge --force-depends debian-archive-keyring\n`;

/** The base in Podman's store under a tag of its image ID, and the fixture built on it under a tag of its inputs (both reused). */
async function ensureImages(): Promise<{ base: string; built: string }> {
  await ensureBase();
  const baseId = (await execa('docker', ['image', 'inspect', '-f', '{{.Id}}', BASE_IMAGE])).stdout.trim().replace(/^sha256:/, '');
  const base = `${REPO}/base:${baseId.slice(0, 12)}`;
  if (!(await exists(base))) await execa('skopeo', ['copy', '-q', `docker-daemon:${BASE_IMAGE}`, `containers-storage:${base}`]);
  const built = `${REPO}/store:${hash(DOCKERFILE, baseId)}`;
  if (!(await exists(built))) {
    const ctx = tmpDir();
    writeFileSync(path.join(ctx, 'Dockerfile'), DOCKERFILE);
    await execa('podman', ['build', '-q', '--pull=never', '--isolation', 'chroot', '--format', 'docker', '--build-arg', `BASE=${base}`, '-t', built, ctx]);
  }
  // Tags of inputs that changed since: removed (their layers with them when nothing else uses them).
  const mine = (await pod('images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=${REPO}/*`)).split('\n').filter(Boolean);
  const stale = mine.filter((n) => n !== base && n !== built && !n.startsWith(`${REPO}/gz:`));
  if (stale.length) await execa('podman', ['rmi', ...stale], { reject: false });
  return { base, built };
}

/** A two-layer image stored from gzip blobs (skopeo from an OCI layout): content no other image has, so its layers are its own. */
async function gzipImage(layout: string, name: string): Promise<void> {
  const layers = [
    await packTar([dir('cs-test'), text('cs-test/id', `imgscope containers-storage ${name}\n`), { path: 'cs-test/blob.bin', content: filler(300_000, 7) }, dir('cs-test/d'), text('cs-test/d/x', 'x')]),
    await packTar([whiteout('cs-test/blob.bin'), opaque('cs-test/d'), text('cs-test/d/y', 'y')]),
  ];
  await writeOciDir(layout, [{ img: { layers: layers.map((raw) => ({ raw, compression: 'gzip' as const })) }, tag: 'x' }]);
  await execa('skopeo', ['copy', '-q', `oci:${layout}:x`, `containers-storage:${name}`]);
}

/**
 * The report without the source fields: when it was made, the reference and transport, and what
 * the other source cannot know (`also`: podman save writes no manifest digest; an OCI layout's tag
 * is not the store's name).
 */
function comparable(a: Analysis, also: Array<keyof Analysis['image']> = []): Analysis {
  const image: Record<string, unknown> = { ...a.image, reference: '', transport: '' };
  for (const k of also) delete image[k];
  return { ...a, generatedAt: '', image: image as unknown as Analysis['image'] };
}

/** Compares two reports field by field, so that a failure names the field. */
function sameReport(got: Analysis, want: Analysis, label: string, also: Array<keyof Analysis['image']> = []): void {
  const g = comparable(got, also);
  const w = comparable(want, also);
  for (const k of Object.keys(w) as Array<keyof Analysis>) expect([label, k, g[k]]).toEqual([label, k, w[k]]);
  expect(Object.keys(g)).toEqual(Object.keys(w));
}

async function read(ref: string): Promise<{ a: Analysis; progress: string[] }> {
  const progress: string[] = [];
  const a = checkReport(await analyzeReference(ref, { onProgress: (m) => progress.push(m) }));
  return { a, progress };
}

describe.skipIf(!podman || !readable)('containers-storage: on a Podman store', () => {
  const gz = `${REPO}/gz:${process.pid}`;
  let built = '';
  let imageId = '';
  let store: Awaited<ReturnType<typeof read>>;
  let saved: Analysis;
  let layout = '';

  beforeAll(async () => {
    ({ built } = await ensureImages());
    imageId = await pod('image', 'inspect', '--format', '{{.Id}}', built);
    store = await read(`containers-storage:${built}`);
    const tar = path.join(tmpDir(), 'saved.tar');
    await execa('podman', ['save', '-q', '--format', 'docker-archive', '-o', tar, built]);
    saved = (await read(`docker-archive:${tar}`)).a;
    layout = path.join(tmpDir(), 'layout');
    await gzipImage(layout, gz);
  });

  afterAll(async () => {
    if (podman && (await exists(gz))) await execa('podman', ['rmi', gz]);
  });

  it('gives the report podman save gives, field by field (source fields aside), reading the store', () => {
    sameReport(store.a, saved, built, ['manifestDigest']);
    expect(store.a.image.manifestDigest).toBe(`sha256:${createHash('sha256').update(readFileSync(path.join(graphroot!, 'overlay-images', imageId, 'manifest'))).digest('hex')}`);
    expect(store.a.image.transport).toBe('containers-storage');
    expect(store.progress.filter((m) => m.includes(`reading the containers storage at ${graphroot}`))).toHaveLength(1);
    // the fixture's hard cases are there: 200 kB deleted in a later layer, an opaque directory, a package gone
    expect(store.a.totals.wasteBytes).toBeGreaterThanOrEqual(200_000);
    expect(store.a.layers.length).toBeGreaterThanOrEqual(5);
    expect(store.a.layers.some((l) => l.whiteouts > 0)).toBe(true);
  });

  it('finds the image by short name, ID and ID prefix as podman does, with the same report', async () => {
    const id = imageId;
    const short = built.replace(/^localhost\//, '');
    for (const ref of [short, id, id.slice(0, 12), `[overlay@${graphroot}]${built}`]) {
      sameReport((await read(`containers-storage:${ref}`)).a, store.a, ref);
    }
  });

  it('reports the compressed sizes layers.json records for layers stored from gzip blobs, and the report of their OCI layout', async () => {
    const { a } = await read(`containers-storage:${gz}`);
    const oci = (await read(`oci:${layout}:x`)).a;
    sameReport(a, oci, gz, ['tags']);
    expect(a.image.tags).toEqual([gz]);
    // layers.json read here: each layer's record by its diff digest
    const records = JSON.parse(readFileSync(path.join(graphroot!, 'overlay-layers', 'layers.json'), 'utf8')) as Array<Record<string, unknown>>;
    const byDiff = new Map(records.map((r) => [r['diff-digest'], r]));
    for (const l of a.layers) {
      const r = byDiff.get(l.diffId)!;
      expect(r.compression).toBe(2);
      expect(l.compression).toBe('gzip');
      expect(l.compressedBytes).toBe(r['compressed-size']);
      expect(l.digest).toBe(r['compressed-diff-digest']);
    }
    // and the blob sizes of the layout it was copied from
    const blob = (d: string): Buffer => readFileSync(path.join(layout, 'blobs/sha256', d.slice(7)));
    const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const manifest = JSON.parse(blob(index.manifests[0]!.digest).toString()) as { layers: Array<{ size: number }> };
    expect(a.layers.map((l) => l.compressedBytes)).toEqual(manifest.layers.map((d) => d.size));
    expect(a.totals.compressedBytes).toBe(a.layers.reduce((s, l) => s + (l.compressedBytes ?? 0), 0));
  });

  it('the CLI reads it with no daemon asked: exit 0, and exit 2 naming the store for an image it does not hold', async () => {
    const cli = path.join(ROOT, 'dist/cli.js');
    const ok = await execa('node', [cli, 'analyze', `containers-storage:${built}`, '-f', 'json'], { env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent.sock' } });
    sameReport(checkReport(JSON.parse(ok.stdout)), store.a, 'cli');
    const no = await execa('node', [cli, 'analyze', `containers-storage:${REPO}/none:0`], { reject: false });
    expect(no.exitCode).toBe(2);
    expect(no.stderr).toMatch(new RegExp(`no image named '${REPO}/none:0' in the store`));
  });
});
