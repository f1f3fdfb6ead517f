import { describe, expect, it } from 'vitest';
import { qualifiedName } from '../../src/coldstart/cold.js';
import { engineKind, firstPassEnd, podmanPullEvents, podmanPullsPlainHttp, rfc3339Ns, rlimitRefusal } from '../../src/coldstart/podman.js';
import { pullBreakdown } from '../../src/coldstart/pull.js';
import type { PullEvent } from '../../src/image/daemon.js';

describe('coldstart on Podman: the pure parts', () => {
  it('tells Podman from Docker by the /version components', () => {
    // trimmed from Podman 4.3.1's and Docker 20.10's `GET /version`
    const podman = { Version: '4.3.1', Components: [{ Name: 'Podman Engine', Version: '4.3.1', Details: { APIVersion: '4.3.1' } }, { Name: 'Conmon', Version: 'conmon version 2.1.6' }] };
    expect(engineKind(podman)).toEqual({ podman: true, label: 'Podman Engine 4.3.1', apiVersion: '4.3.1' });
    const docker = { Version: '20.10.24', Components: [{ Name: 'Engine', Version: '20.10.24' }, { Name: 'containerd', Version: '1.6.20' }] };
    expect(engineKind(docker)).toEqual({ podman: false, label: 'Docker Engine 20.10.24' });
    expect(engineKind({})).toEqual({ podman: false, label: 'Docker Engine unknown' });
  });

  it('reads Podman\'s pull stream: Pulling fs layer starts a download, the config is no layer, no extract step', () => {
    const layer0 = `sha256:2f9c761c73f5${'a'.repeat(52)}`;
    const layer1 = `sha256:83363d24a738${'b'.repeat(52)}`;
    const config = `sha256:3d1819dd3158${'c'.repeat(52)}`;
    const ms = (n: number): bigint => BigInt(n) * 1_000_000n;
    // as Podman 4.3.1 sent it for an image whose base layer it held (times: arrival, ms)
    const events: PullEvent[] = [
      { t: ms(5), status: 'Already exists', progressDetail: {}, id: '2f9c761c73f5' },
      { t: ms(30), status: 'Pulling fs layer', progressDetail: {}, id: '83363d24a738' },
      { t: ms(168), status: 'Download complete', progressDetail: {}, id: '83363d24a738' },
      { t: ms(180), status: 'Pulling fs layer', progressDetail: {}, id: '3d1819dd3158' },
      { t: ms(186), status: 'Download complete', progressDetail: {}, id: '3d1819dd3158' },
      { t: ms(235), status: 'Download complete', progressDetail: {}, id: '3d1819dd3158' },
    ];
    const manifest = [
      { digest: layer0, size: 49_884_164 },
      { digest: layer1, size: 8_002_674 },
    ];
    const p = pullBreakdown('r/x:1', 0n, ms(240), podmanPullEvents(events, config), manifest);
    expect(p.layers.map((l) => [l.digest, l.status, l.downloadStartMs, l.downloadEndMs, l.extractStartMs])).toEqual([
      [layer0, 'present', null, null, null],
      [layer1, 'downloaded', 30, 168, null],
    ]);
    expect(p.downloadMs).toBe(138);
    expect(p.extractMs).toBe(0);
    // no byte counts in Podman's stream: the manifest's size, flagged as estimated
    expect(p.downloadedBytes).toBe(8_002_674);
    expect(p.estimatedLayers).toBe(1);
    expect(p.presentBytes).toBe(49_884_164);
    expect(p.totalMs).toBe(240);
  });

  it('takes the end of the first passing check after the last failing one from the health log', () => {
    expect(rfc3339Ns('2026-11-27T03:02:07.497301798Z')).toBe(BigInt(Date.parse('2026-11-27T03:02:07Z')) * 1_000_000n + 497_301_798n);
    expect(rfc3339Ns('2026-11-27T03:02:07.5+01:00')).toBe(BigInt(Date.parse('2026-11-27T02:02:07Z')) * 1_000_000n + 500_000_000n);
    expect(rfc3339Ns('2026-11-27T03:02:07Z')).toBe(BigInt(Date.parse('2026-11-27T03:02:07Z')) * 1_000_000n);
    expect(rfc3339Ns('yesterday')).toBeUndefined();
    const log = [
      { Start: '2026-11-27T03:02:07.209567361Z', End: '2026-11-27T03:02:07.291712827Z', ExitCode: 0 },
      { Start: '2026-11-27T03:02:07.310000000Z', End: '2026-11-27T03:02:07.390000000Z', ExitCode: 1 },
      { Start: '2026-11-27T03:02:07.408658099Z', End: '2026-11-27T03:02:07.497301798Z', ExitCode: 0 },
      { Start: '2026-11-27T03:02:07.610121315Z', End: '2026-11-27T03:02:07.697690493Z', ExitCode: 0 },
    ];
    expect(firstPassEnd(log)).toBe(rfc3339Ns('2026-11-27T03:02:07.497301798Z'));
    expect(firstPassEnd([{ End: '2026-11-27T03:02:07.1Z', ExitCode: 1 }])).toBeUndefined();
    expect(firstPassEnd(null)).toBeUndefined();
  });

  it('knows which plain-HTTP registries Podman will pull (GET /info RegistryConfig)', () => {
    const info = { RegistryConfig: { IndexConfigs: { '127.0.0.1:5077': { Name: '127.0.0.1:5077', Secure: false }, 'quay.io': { Secure: true } } } };
    expect(podmanPullsPlainHttp(info, '127.0.0.1:5077')).toBe(true);
    expect(podmanPullsPlainHttp(info, 'localhost:5077')).toBe(false);
    expect(podmanPullsPlainHttp(info, 'quay.io')).toBe(false);
    expect(podmanPullsPlainHttp({}, '127.0.0.1:5077')).toBe(false);
  });

  it('explains runc\'s rlimit refusal in one line, names Podman\'s fully', () => {
    const msg = 'runc: runc create failed: unable to start container process: error during container init: error setting rlimits for ready process: error setting rlimit type 7: operation not permitted: OCI permission denied';
    const why = rlimitRefusal(msg)!;
    expect(why).toMatch(/^Podman gives rootful containers a nofile limit above the podman service's own hard limit/);
    expect(why).toMatch(/default_ulimits = \["nofile=N:N"\] in containers.conf/);
    expect(why).not.toContain('\n');
    expect(rlimitRefusal(msg.replace('type 7', 'type 6'))).toMatch(/a nproc limit/);
    expect(rlimitRefusal('no such image')).toBeUndefined();
    expect(qualifiedName('ubuntu')).toBe('docker.io/library/ubuntu:latest');
    expect(qualifiedName('127.0.0.1:5000/a/b:1')).toBe('127.0.0.1:5000/a/b:1');
  });
});
