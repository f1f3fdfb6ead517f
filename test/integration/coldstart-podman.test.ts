/**
 * `coldstart` against Podman's Docker-compatible API (docs/coldstart.md "Podman"): DOCKER_HOST at a
 * `podman system service` socket this file starts and stops. Expected values come from podman
 * commands and the registry, never from imgscope.
 */
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColdStart } from '../../src/report/types.js';
import { BASE_IMAGE, dockerAvailable, ensureBase, requireDocker } from '../helpers/docker.js';
import { podman, podmanAvailable, podmanBase, podmanBuild, type PodmanService, startPodmanService } from '../helpers/podman.js';
import { freePort, type LocalRegistry, startRegistry } from '../helpers/registry.js';
import { checkColdStartReport } from '../helpers/report.js';
import { expectCtrlCCleansUp } from '../helpers/cli.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const available = (await podmanAvailable()) && (await dockerAvailable());
if (requireDocker && !available) throw new Error('IMGSCOPE_REQUIRE_DOCKER=1 but podman (or the Docker daemon it loads the base image from) is missing');

const READY = 'localhost/imgscope-test/podman-ready:1';
const NEVER = 'localhost/imgscope-test/podman-never-ready:1';
const OCI = 'localhost/imgscope-test/podman-oci:1';

/** A tiny HTTP server in the base image's perl: it prints a line when it listens, answers 200 to anything. */
const SERVER = `use IO::Socket::INET; $| = 1;
my $s = IO::Socket::INET->new(LocalPort => 8000, Listen => 16, ReuseAddr => 1) or die "listen: $!";
print "ready-to-serve on 8000\\n";
while (my $c = $s->accept) { while (my $l = <$c>) { last if $l =~ /^\\r?\\n$/ } print $c "HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok"; close $c }
`;


describe.skipIf(!available)('coldstart against Podman (podman system service)', () => {
  let svc: PodmanService | undefined;
  let reg: LocalRegistry | undefined;
  const env = (): Record<string, string> => ({ DOCKER_HOST: svc!.dockerHost });
  const cli = (args: string[]) => execa('node', [CLI, 'coldstart', ...args], { reject: false, env: env() });
  const coldstart = async (args: string[]): Promise<ColdStart> => {
    const r = await cli(['--quiet', '-f', 'json', ...args]);
    if (r.exitCode !== 0) throw new Error(`coldstart ${args.join(' ')} exited ${r.exitCode}: ${r.stderr}`);
    return checkColdStartReport(JSON.parse(r.stdout));
  };
  const leftovers = async (): Promise<string> => (await podman('ps', '-a', '--filter', 'label=imgscope', '--format', '{{.ID}} {{.Labels}}')).trim();
  let podmanVersion = '';

  beforeAll(async () => {
    reg = await startRegistry();
    svc = await startPodmanService({ insecure: [reg.host] });
    podmanVersion = /(\d+\.\d+\.\d+)/.exec(await podman('--version'))![1]!;
    await ensureBase();
    const base = await podmanBase(BASE_IMAGE);
    await podmanBuild(
      READY,
      `FROM ${base}\nCOPY server.pl /app/server.pl\nHEALTHCHECK --interval=30s CMD test -f /tmp/ready\nCMD ["sh", "-c", "sleep 0.3; touch /tmp/ready; exec perl /app/server.pl"]\n`,
      { 'server.pl': SERVER },
    );
    await podmanBuild(NEVER, `FROM ${base}\nHEALTHCHECK --interval=1s CMD false\nCMD ["sh", "-c", "echo booting \${GREETING:-nobody}; echo still-not-ready-$((6*7)); exec sleep 600"]\n`);
    await podmanBuild(OCI, `FROM ${base}\nHEALTHCHECK CMD true\nCMD ["sleep", "600"]\n`, {}, 'oci');
  });

  afterAll(async () => {
    await svc?.stop();
    await reg?.stop();
  });

  it('times create, start and ready by the HEALTHCHECK, over the runs asked for, and says the engine is Podman', async () => {
    const c = await coldstart([READY, '--runs', '3', '--warmup', '1', '--no-imports']);
    expect(c.runs).toHaveLength(3);
    expect(c.warmupRuns).toBe(1);
    expect(c.readiness.kind).toBe('healthcheck');
    expect(c.readiness).toMatchObject({ test: ['CMD-SHELL', 'test -f /tmp/ready'] });
    for (const r of c.runs) {
      // phases in order: each one's end after its start (create event, start event, the passing check)
      expect(r.create).toBeGreaterThan(0);
      expect(r.start).toBeGreaterThan(0);
      expect(r.ready).toBeGreaterThan(0);
      // the check passes only once the container has slept 0.3 s and touched its file
      expect(r.startToReady).toBeGreaterThan(300);
      expect(r.total).toBeCloseTo(r.create + r.start + r.ready, 6);
      expect(r.pull).toBeUndefined();
    }
    for (const s of Object.values(c.phases)) {
      expect(s.min).toBeLessThanOrEqual(s.median);
      expect(s.median).toBeLessThanOrEqual(s.max);
    }
    const id = (await podman('image', 'inspect', '--format', '{{.Id}}', READY)).trim();
    expect(c.imageId).toBe(`sha256:${id}`);
    expect((c.notes ?? []).some((n) => n.includes(`Podman Engine ${podmanVersion}`) && n.includes(svc!.dockerHost))).toBe(true);
    expect(await leftovers()).toBe('');
  });

  it('--http and --log probes work on Podman too', async () => {
    const port = await freePort();
    const byHttp = await coldstart([READY, '--runs', '1', '--warmup', '0', '--no-imports', '--http', `http://127.0.0.1:${port}/`, '-p', `${port}:8000`]);
    expect(byHttp.readiness.kind).toBe('http');
    expect(byHttp.runs[0]!.startToReady).toBeGreaterThan(300);
    const byLog = await coldstart([READY, '--runs', '1', '--warmup', '0', '--no-imports', '--log', 'ready-to-serve']);
    expect(byLog.readiness.kind).toBe('log');
    expect(byLog.runs[0]!.startToReady).toBeGreaterThan(300);
    expect(await leftovers()).toBe('');
  });

  it('an OCI-format image has no HEALTHCHECK: the message says podman build needs --format docker', async () => {
    // podman itself says the OCI image carries none
    expect((await podman('image', 'inspect', '--format', '{{.ManifestType}}', OCI)).trim()).toMatch(/oci/);
    const r = await cli([OCI, '--runs', '1', '--warmup', '0']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/the image has no HEALTHCHECK \(it is an OCI-format image: .*--format docker\); give a readiness probe/);
    expect(await leftovers()).toBe('');
  });

  it('a container that never becomes healthy fails at the timeout with its logs, and leaves nothing behind', async () => {
    const r = await cli([NEVER, '--timeout', '3', '--runs', '1', '--warmup', '0', '--env', 'GREETING=from-env']);
    expect(r.exitCode).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^imgscope: localhost\/imgscope-test\/podman-never-ready:1: run 1: the container was not ready after 3 s \(healthcheck\); last log lines: booting from-env \| still-not-ready-42$/);
    expect(await leftovers()).toBe('');
  });

  it('Ctrl-C mid-run removes the container', async () => {
    await expectCtrlCCleansUp(NEVER, leftovers, env());
  });

  it('--gpus all: Podman would ignore the request, so imgscope refuses in one line before creating anything', async () => {
    const r = await cli([READY, '--gpus', 'all', '--runs', '1', '--warmup', '0']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/--gpus all: Podman's Docker-compatible API ignores GPU requests/);
    expect(await leftovers()).toBe('');
  });

  describe('--cold from a loopback registry', () => {
    let remote = '';
    let id = '';
    beforeAll(async () => {
      remote = `${reg!.host}/imgscope-test/podman-cold:1`;
      await podman('push', '-q', '--tls-verify=false', '--format', 'v2s2', READY, remote);
      await podman('tag', READY, remote);
      id = (await podman('image', 'inspect', '--format', '{{.Id}}', READY)).trim();
    });
    afterAll(async () => {
      await execa('podman', ['untag', id, remote], { reject: false });
    });

    it('removes the image, pulls it, restores its names; the base layer stays as shared', async () => {
      const tagsBefore = JSON.parse(await podman('image', 'inspect', '--format', '{{json .RepoTags}}', id)) as string[];
      const c = await coldstart([remote, '--cold', '--runs', '1', '--warmup', '0', '--no-imports']);
      const r = c.runs[0]!;
      expect(r.pull).toBeGreaterThan(0);
      expect(r.total).toBeCloseTo(r.pull! + r.create + r.start + r.ready, 6);
      expect((c.notes ?? []).some((n) => /no extract step/.test(n))).toBe(true);
      // the same image is back under the same names
      expect((await podman('image', 'inspect', '--format', '{{.Id}}', remote)).trim()).toBe(id);
      const tagsAfter = JSON.parse(await podman('image', 'inspect', '--format', '{{json .RepoTags}}', id)) as string[];
      expect([...tagsAfter].sort()).toEqual([...tagsBefore].sort());
      expect(c.cold!.notRestored).toEqual([]);
      // Podman's RepoDigests are derived from its names, not references of their own: only the tags are removed
      expect([...c.cold!.removedReferences].sort()).toEqual([...tagsBefore].sort());
      // the registry's own word on the layers
      const res = await fetch(`http://${reg!.host}/v2/imgscope-test/podman-cold/manifests/1`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
      const manifest = (await res.json()) as { config: { digest: string }; layers: Array<{ digest: string; size: number }> };
      expect(manifest.config.digest).toBe(`sha256:${id}`);
      const p = c.pulls![0]!;
      expect(p.layers.map((l) => [l.digest, l.compressedBytes])).toEqual(manifest.layers.map((l) => [l.digest, l.size]));
      // the base layer is held by the base image; the app layer is downloaded (Podman gives no byte counts: manifest sizes)
      expect(c.cold!.sharedLayers.map((s) => s.index)).toEqual([0]);
      expect(p.layers.map((l) => l.status)).toEqual(['present', 'downloaded']);
      expect(p.downloadedBytes).toBe(manifest.layers[1]!.size);
      expect(p.estimatedLayers).toBe(1);
      expect(p.extractMs).toBe(0);
      expect(p.layers[1]!.downloadEndMs!).toBeGreaterThan(p.layers[1]!.downloadStartMs!);
      expect(await leftovers()).toBe('');
    });

    it('a plain-HTTP registry that registries.conf does not mark insecure is refused before anything is removed', async () => {
      const other = remote.replace(/^127\.0\.0\.1:/, 'localhost:');
      await podman('tag', id, other);
      try {
        const r = await cli([other, '--cold', '--runs', '1', '--warmup', '0', '--no-imports']);
        expect(r.exitCode).toBe(3);
        expect(r.stderr).toMatch(/--cold: localhost:\d+ speaks plain HTTP, and Podman pulls it only when registries.conf marks it insecure.*nothing was removed/);
        expect((await podman('image', 'inspect', '--format', '{{.Id}}', other)).trim()).toBe(id);
      } finally {
        await execa('podman', ['untag', id, other], { reject: false });
      }
    });
  });
});
