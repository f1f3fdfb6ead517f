import { describe, expect, it } from 'vitest';
import { demuxLogs, parsePublish } from '../../src/coldstart/engine.js';
import { parseGpus } from '../../src/coldstart/gpus.js';
import { parseImportTimes } from '../../src/coldstart/imports.js';
import { summarize } from '../../src/coldstart/stats.js';

describe('coldstart building blocks', () => {
  it('builds HostConfig.DeviceRequests exactly as the docker CLI does', () => {
    // The JSON the docker CLI sends for each flag (docker/cli opts/gpus.go, Go's encoding of DeviceRequest).
    const json = (v: string): string => JSON.stringify(parseGpus(v));
    expect(json('all')).toBe('{"Driver":"","Count":-1,"DeviceIDs":null,"Capabilities":[["gpu"]],"Options":{}}');
    expect(json('2')).toBe('{"Driver":"","Count":2,"DeviceIDs":null,"Capabilities":[["gpu"]],"Options":{}}');
    expect(json('"device=0,2"')).toBe('{"Driver":"","Count":0,"DeviceIDs":["0","2"],"Capabilities":[["gpu"]],"Options":{}}');
    expect(json('device=GPU-3a23c669')).toBe('{"Driver":"","Count":0,"DeviceIDs":["GPU-3a23c669"],"Capabilities":[["gpu"]],"Options":{}}');
    expect(json('driver=nvidia,"capabilities=compute,utility"')).toBe('{"Driver":"nvidia","Count":1,"DeviceIDs":null,"Capabilities":[["compute","utility","gpu"]],"Options":{}}');
    expect(json('count=all,driver=nvidia')).toBe('{"Driver":"nvidia","Count":-1,"DeviceIDs":null,"Capabilities":[["gpu"]],"Options":{}}');
    expect(() => parseGpus('count=1,count=2')).toThrow(/gpu request key 'count' can be specified only once/);
    expect(() => parseGpus('many')).toThrow(/invalid count \(many\)/);
    expect(() => parseGpus('colour=red')).toThrow(/unexpected key 'colour'/);
  });

  it('summarizes phases: median, nearest-rank p90, min, max', () => {
    expect(summarize([5, 1, 3])).toEqual({ median: 3, p90: 5, min: 1, max: 5, n: 3 });
    expect(summarize([4, 1, 3, 2])).toEqual({ median: 2.5, p90: 4, min: 1, max: 4, n: 4 });
    const ten = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    expect(summarize(ten).p90).toBe(90);
    expect(summarize([...ten, 110]).p90).toBe(100);
  });

  it('sums Python import times per top-level package', () => {
    const text = [
      'import time: self [us] | cumulative | imported package',
      'import time:       120 |        120 |   _io',
      'import time:      2000 |       2000 |     numpy._core',
      'import time:       500 |       3000 |   numpy',
      'import time:      1500 |       1500 |       sklearn.utils.fixes',
      'import time:      4000 |       5500 |     sklearn.utils',
      'import time:      1000 |       6500 |   sklearn',
      'Uvicorn running on http://0.0.0.0:8000',
    ].join('\n');
    const p = parseImportTimes(text)!;
    expect(p.totalMs).toBeCloseTo(9.12, 10);
    // self times summed per top-level package; shares of the 9.12 ms total
    expect(p.packages.map((r) => [r.package, r.selfMs, r.modules])).toEqual([
      ['sklearn', 6.5, 3],
      ['numpy', 2.5, 2],
      ['_io', 0.12, 1],
    ]);
    [6.5 / 9.12, 2.5 / 9.12, 0.12 / 9.12].forEach((v, i) => expect(p.packages[i]!.share).toBeCloseTo(v, 12));
    expect(p.packages.reduce((s, r) => s + r.share!, 0)).toBeCloseTo(1, 12);
    expect(parseImportTimes('no profile here')).toBeNull();
  });

  it('publishes ports on loopback unless an address is given', () => {
    expect(parsePublish(['8080:8000', '0.0.0.0:9000:9000/udp'])).toEqual({
      exposed: { '8000/tcp': {}, '9000/udp': {} },
      bindings: { '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }], '9000/udp': [{ HostIp: '0.0.0.0', HostPort: '9000' }] },
    });
    expect(() => parsePublish(['8000'])).toThrow(/-p '8000': expected/);
  });

  it('splits a multiplexed log stream', () => {
    const frame = (kind: number, s: string): Buffer => {
      const body = Buffer.from(s);
      const h = Buffer.alloc(8);
      h[0] = kind;
      h.writeUInt32BE(body.length, 4);
      return Buffer.concat([h, body]);
    };
    expect(demuxLogs(Buffer.concat([frame(1, 'out1\n'), frame(2, 'err1\n'), frame(1, 'out2\n')]))).toEqual({ stdout: 'out1\nout2\n', stderr: 'err1\n' });
  });
});
