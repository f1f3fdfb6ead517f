import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { archSupport, cudaFromLocalVersion, cudartVersionFromName, minimumDriver, parseArch, tfCudaFromBuildInfo, torchCudaFromVersionPy } from '../../src/attribute/cuda.js';
import { MAX_DYNAMIC, parseElfDynamic } from '../../src/inspect/elf.js';
import { FatbinScanner } from '../../src/inspect/fatbin.js';
import { ELF_PREFIX, probeSeekable, type ProbeSpec, StreamProbe, wantsProbe } from '../../src/inspect/probe.js';
import { buildElf, type FatbinEntrySpec, fatbinBytes } from '../helpers/elf.js';

const seek = (b: Buffer, spec: ProbeSpec = { elf: true, fatbin: true }) => probeSeekable(spec, b.length, (o, n) => b.subarray(o, o + n));
const stream = (b: Buffer, chunk: number, spec: ProbeSpec = { elf: true, fatbin: true }) => {
  const p = new StreamProbe(spec, b.length);
  for (let o = 0; o < b.length; o += chunk) p.push(b.subarray(o, Math.min(b.length, o + chunk)));
  return p.finish();
};

describe('ELF dynamic section', () => {
  const spec = { needed: ['libc.so.6', 'libtorch_cpu.so', 'libcudnn.so.8'], soname: 'libx.so.1', runpath: '$ORIGIN/../lib:/opt/x', interp: '/lib64/ld-linux-x86-64.so.2' };
  for (const [name, extra] of [['64-bit LE', {}], ['32-bit LE', { bits: 32 as const, machine: 3 }], ['64-bit BE', { bigEndian: true, machine: 22 }]] as const) {
    it(`reads DT_NEEDED, DT_SONAME, DT_RUNPATH and PT_INTERP (${name}), positional and streamed alike`, () => {
      const b = buildElf({ ...spec, ...extra });
      const r = parseElfDynamic((o, n) => (o + n <= b.length ? b.subarray(o, o + n) : undefined), b.length);
      expect(r).toEqual({
        status: 'ok',
        elf: { bits: 'bits' in extra ? 32 : 64, machine: 'machine' in extra ? extra.machine : 62, type: 3, interpreter: spec.interp, soname: 'libx.so.1', needed: spec.needed, rpath: [], runpath: ['$ORIGIN/../lib', '/opt/x'] },
      });
      expect(seek(b).elf).toEqual(r);
      for (const c of [1, 7, 512, 65536]) expect(stream(b, c).elf).toEqual(r);
    });
  }

  it('keeps DT_RPATH apart from DT_RUNPATH', () => {
    const b = buildElf({ needed: ['liba.so'], rpath: '/opt/a:/opt/b' });
    expect(seek(b).elf).toMatchObject({ status: 'ok', elf: { rpath: ['/opt/a', '/opt/b'], runpath: [] } });
  });

  it('says nothing for a file that is not ELF, and "unreadable" for a damaged one', () => {
    expect(seek(Buffer.from('#!/bin/sh\necho hi\n'.repeat(10)))).toEqual({});
    const b = buildElf({ needed: ['liba.so'] });
    const cut = b.subarray(0, 100); // program headers cut short
    expect(seek(cut).elf).toMatchObject({ status: 'unreadable' });
    const bad = Buffer.from(b);
    bad.writeBigUInt64LE(BigInt(b.length * 4), 32); // e_phoff beyond the file
    expect(seek(bad).elf).toEqual({ status: 'unreadable', reason: 'program headers out of bounds' });
  });

  it('a hostile dynamic segment size is not read in full (at most 1 MiB; DT_NULL ends the entries)', () => {
    const b0 = buildElf({ needed: ['liba.so.1'] });
    const b = Buffer.concat([b0, Buffer.alloc(3 * 1024 * 1024)]);
    const dynPh = 64 + 2 * 56; // third program header: PT_DYNAMIC
    expect(b.readUInt32LE(dynPh)).toBe(2);
    const dynOff = Number(b.readBigUInt64LE(dynPh + 8));
    b.writeBigUInt64LE(BigInt(b.length - dynOff), dynPh + 32); // claims everything to the end of the file
    let largest = 0;
    const r = probeSeekable({ elf: true, fatbin: false }, b.length, (o, n) => {
      largest = Math.max(largest, n);
      return b.subarray(o, o + n);
    });
    expect(r.elf).toMatchObject({ status: 'ok', elf: { needed: ['liba.so.1'] } });
    expect(largest).toBeLessThanOrEqual(MAX_DYNAMIC);
    expect(stream(b, 65536, { elf: true, fatbin: false }).elf).toEqual(r.elf);
  });

  it('a streamed file keeps the dynamic segment beyond its prefix; a string table beyond the prefix is reported, not guessed', () => {
    const far = buildElf({ needed: ['libfar.so.2'], gap: ELF_PREFIX + 4096 });
    expect(seek(far).elf).toMatchObject({ status: 'ok', elf: { needed: ['libfar.so.2'] } });
    expect(stream(far, 65536).elf).toEqual(seek(far).elf);
    const strFar = buildElf({ needed: ['libfar.so.2'], strtabAt: ELF_PREFIX + 4096 });
    expect(seek(strFar).elf).toMatchObject({ status: 'ok', elf: { needed: ['libfar.so.2'] } });
    expect(stream(strFar, 65536, { elf: true, fatbin: false }).elf).toEqual({ status: 'unreadable', reason: 'dynamic string table not available' });
  });

  // Independent check against binutils on the machine's own libraries (`.ci/run` installs binutils).
  const libdir = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu'].find((d) => existsSync(d));
  it.runIf(!!libdir)('agrees with `readelf -d` on 100 of this machine\'s shared libraries', () => {
    const libs = readdirSync(libdir!).filter((f) => /\.so(\.\d+)*$/.test(f) && statSync(`${libdir}/${f}`).isFile()).slice(0, 100);
    expect(libs.length).toBeGreaterThan(20);
    for (const f of libs) {
      const p = `${libdir}/${f}`;
      const fd = openSync(p, 'r');
      const size = fstatSync(fd).size;
      const r = probeSeekable({ elf: true, fatbin: false }, size, (o, n) => {
        const b = Buffer.alloc(n);
        readSync(fd, b, 0, n, o);
        return b;
      });
      closeSync(fd);
      const out = execFileSync('readelf', ['-dW', p], { encoding: 'utf8' });
      const needed = [...out.matchAll(/\(NEEDED\)\s+Shared library: \[(.*)\]/g)].map((m) => m[1]);
      const soname = /\(SONAME\)\s+Library soname: \[(.*)\]/.exec(out)?.[1];
      const runpath = /\(RUNPATH\)\s+Library runpath: \[(.*)\]/.exec(out)?.[1];
      expect(r.elf, p).toMatchObject({ status: 'ok' });
      const e = r.elf!.status === 'ok' ? r.elf!.elf : undefined;
      expect(e?.needed, p).toEqual(needed);
      expect(e?.soname, p).toBe(soname);
      expect(e?.runpath.join(':') || undefined, p).toBe(runpath);
    }
  });
});

describe('fatbin headers', () => {
  const containers: FatbinEntrySpec[][] = [
    [{ kind: 2, arch: 80, payload: 1000 }, { kind: 2, arch: 90, payload: 3000 }, { kind: 1, arch: 90, payload: 501 }],
    [{ kind: 2, arch: 80, payload: 24 }, { kind: 2, arch: 100, payload: 40, headerSize: 80 }],
  ];
  // bytes per entry = header + payload padded to 8
  const expected = {
    containers: 2,
    entries: 5,
    sass: { sm_80: 64 + 1000 + 64 + 24, sm_90: 64 + 3000, sm_100: 80 + 40 },
    ptx: { sm_90: 64 + 504 },
    otherBytes: 0,
    malformed: 0,
  };

  it('sums SASS and PTX bytes per architecture from the .nv_fatbin section only (decoys elsewhere ignored)', () => {
    const b = buildElf({ needed: ['libcudart.so.12'], fatbin: containers, decoyFatbin: [[{ kind: 2, arch: 52, payload: 4096 }]] });
    expect(seek(b).fatbin).toEqual(expected);
  });

  it('streams to the same figures whatever the chunk size (magic and headers split across chunks)', () => {
    const b = buildElf({ fatbin: containers, decoyFatbin: [[{ kind: 2, arch: 52, payload: 4096 }]] });
    for (const c of [1, 3, 5, 16, 63, 64, 4096]) expect(stream(b, c).fatbin, `chunk ${c}`).toEqual(expected);
  });

  it('without section headers a stream counts every container it finds; a positional read finds none', () => {
    const b = buildElf({ fatbin: containers, noSections: true });
    expect(stream(b, 4096).fatbin).toEqual(expected);
    expect(seek(b).fatbin).toBeUndefined();
  });

  it('skips a container whose entries run past its declared size, and fatbin-like noise', () => {
    const s = new FatbinScanner(0, 1 << 20);
    const noise = Buffer.concat([Buffer.from([0x50, 0xed, 0x55, 0xba, 9, 9]), Buffer.alloc(10)]); // magic, wrong version
    const overrun = fatbinBytes([[{ kind: 2, arch: 61, payload: 100 }]]);
    overrun.writeBigUInt64LE(64n, 8); // declares 64 bytes of entries, holds 168
    const good = fatbinBytes([[{ kind: 2, arch: 75, payload: 8 }]]);
    s.push(Buffer.concat([noise, overrun, good]), 0);
    expect(s.summary).toEqual({ containers: 1, entries: 1, sass: { sm_75: 72 }, ptx: {}, otherBytes: 0, malformed: 0 });
  });
});

describe('probe selection', () => {
  it('probes shared objects of Python packages (ELF) and large CUDA libraries (fatbin), nothing else', () => {
    expect(wantsProbe('usr/local/lib/python3.11/site-packages/torch/_C.cpython-311-x86_64-linux-gnu.so', 10_000)).toEqual({ elf: true, fatbin: false });
    expect(wantsProbe('usr/local/lib/python3.11/site-packages/torch/lib/libtorch_cuda.so', 900_000_000)).toEqual({ elf: true, fatbin: true });
    expect(wantsProbe('usr/lib/x86_64-linux-gnu/libcublasLt.so.11.11.3.6', 500_000_000)).toEqual({ elf: false, fatbin: true });
    expect(wantsProbe('usr/lib/x86_64-linux-gnu/libcublasLt.so.11.11.3.6', 4096)).toBeUndefined();
    expect(wantsProbe('usr/lib/x86_64-linux-gnu/libssl.so.3', 5_000_000)).toBeUndefined();
    expect(wantsProbe('usr/local/lib/python3.11/site-packages/numpy/core/_multiarray.py', 5000)).toBeUndefined();
  });
});

describe('CUDA facts', () => {
  it('reads versions from file names, local versions, torch and tensorflow build files', () => {
    expect(cudartVersionFromName('libcudart.so.11.8.89')).toBe('11.8');
    expect(cudartVersionFromName('libcudart.so.11.0')).toBe('11');
    expect(cudartVersionFromName('libcudart.so.12')).toBe('12');
    expect(cudartVersionFromName('libcudart-9335f6a2.so.12')).toBe('12');
    expect(cudartVersionFromName('libcudart_static.a')).toBeUndefined();
    expect(cudaFromLocalVersion('2.3.0+cu121')).toBe('12.1');
    expect(cudaFromLocalVersion('2.0.1+cu118')).toBe('11.8');
    expect(cudaFromLocalVersion('1.13.1+cu92')).toBe('9.2');
    expect(cudaFromLocalVersion('2.3.0+cpu')).toBeUndefined();
    expect(torchCudaFromVersionPy("__version__ = '2.3.0+cu121'\ndebug = False\ncuda: Optional[str] = '12.1'\nhip = None\n")).toBe('12.1');
    expect(torchCudaFromVersionPy("cuda = None\n")).toBeNull();
    expect(torchCudaFromVersionPy("git_version = 'x'\n")).toBeUndefined();
    expect(tfCudaFromBuildInfo("build_info = {'cuda_version': '12.3', 'cudnn_version': '8', 'is_cuda_build': True}")).toBe('12.3');
    expect(tfCudaFromBuildInfo("build_info = {'is_cuda_build': False}")).toBeNull();
  });

  it('knows the minimum driver per CUDA version', () => {
    expect(minimumDriver('12.1')).toEqual({ minorCompat: '525.60.13', toolkit: '530.30.02' });
    expect(minimumDriver('11.8')).toEqual({ minorCompat: '450.80.02', toolkit: '520.61.05' });
    expect(minimumDriver('12')).toEqual({ minorCompat: '525.60.13', toolkit: null });
  });

  it('decides SASS / PTX JIT / nothing for a target architecture', () => {
    const f = { sass: { sm_80: 1, sm_90: 1 }, ptx: { sm_90: 1 } };
    expect(parseArch('sm_89')).toBe(89);
    expect(parseArch('8.6')).toBe(86);
    expect(parseArch('sm_90a')).toBe(90);
    expect(parseArch('volta')).toBeUndefined();
    expect(archSupport(f, 86)).toBe('sass'); // sm_80 SASS runs on 8.6
    expect(archSupport(f, 90)).toBe('sass');
    expect(archSupport(f, 75)).toBe('none'); // sm_80 SASS does not run on 7.5; PTX 9.0 is too new
    expect(archSupport(f, 100)).toBe('ptx'); // a new major: only the PTX can be JIT-compiled
  });
});
