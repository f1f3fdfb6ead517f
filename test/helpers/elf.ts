/**
 * Builds small but well-formed ELF shared objects in code (64- or 32-bit, little or big endian):
 * program headers with two PT_LOAD segments whose virtual addresses differ from their file offsets,
 * PT_DYNAMIC with DT_NEEDED/DT_SONAME/DT_RPATH/DT_RUNPATH, an optional PT_INTERP, and optionally a
 * `.nv_fatbin` section (with section headers and .shstrtab) holding fatbin containers built from a list
 * of entries. `gap` inserts filler between the string table and the dynamic segment (to push it past a
 * streaming reader's prefix); `strtabAt` moves the string table itself far into the file.
 */
export interface FatbinEntrySpec {
  /** 1 = PTX, 2 = ELF (SASS). */
  kind: 1 | 2;
  arch: number;
  payload: number;
  /** Entry header size (64, or 80/112 for SM100+). */
  headerSize?: number;
}

export interface ElfSpec {
  bits?: 32 | 64;
  bigEndian?: boolean;
  machine?: number;
  needed?: string[];
  soname?: string;
  rpath?: string;
  runpath?: string;
  interp?: string;
  /** Fatbin containers, each a list of entries, placed in `.nv_fatbin`. */
  fatbin?: FatbinEntrySpec[][];
  /** Fatbin-looking bytes outside `.nv_fatbin` (in .rodata) that must not count. */
  decoyFatbin?: FatbinEntrySpec[][];
  gap?: number;
  /** Put the dynamic string table at least this far into the file. */
  strtabAt?: number;
  /** Leave out the section headers (stripped). */
  noSections?: boolean;
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

export function fatbinBytes(containers: FatbinEntrySpec[][]): Buffer {
  const parts: Buffer[] = [];
  for (const entries of containers) {
    const body: Buffer[] = [];
    for (const e of entries) {
      const hs = e.headerSize ?? 64;
      const padded = align(e.payload, 8);
      const h = Buffer.alloc(hs);
      h.writeUInt16LE(e.kind, 0);
      h.writeUInt16LE(0x0101, 2);
      h.writeUInt32LE(hs, 4);
      h.writeBigUInt64LE(BigInt(padded), 8);
      h.writeUInt32LE(e.payload, 16);
      h.writeUInt32LE(e.arch, 28);
      body.push(h, Buffer.alloc(padded, 0xab));
    }
    const b = Buffer.concat(body);
    const ch = Buffer.alloc(16);
    ch.writeUInt32LE(0xba55ed50, 0);
    ch.writeUInt16LE(1, 4);
    ch.writeUInt16LE(16, 6);
    ch.writeBigUInt64LE(BigInt(b.length), 8);
    parts.push(ch, b);
  }
  return Buffer.concat(parts);
}

export function buildElf(spec: ElfSpec = {}): Buffer {
  const bits = spec.bits ?? 64;
  const le = !spec.bigEndian;
  const is64 = bits === 64;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const shentsize = is64 ? 64 : 40;
  const dynent = is64 ? 16 : 8;

  // string table
  const strs: string[] = [''];
  const strOff = new Map<string, number>();
  let strLen = 1;
  const addStr = (s: string): number => {
    if (strOff.has(s)) return strOff.get(s)!;
    const o = strLen;
    strs.push(s);
    strOff.set(s, o);
    strLen += Buffer.byteLength(s) + 1;
    return o;
  };
  const dyn: Array<[number, number]> = [];
  for (const n of spec.needed ?? []) dyn.push([1, addStr(n)]);
  if (spec.soname) dyn.push([14, addStr(spec.soname)]);
  if (spec.rpath) dyn.push([15, addStr(spec.rpath)]);
  if (spec.runpath) dyn.push([29, addStr(spec.runpath)]);
  const dynstr = Buffer.concat(strs.map((s) => Buffer.concat([Buffer.from(s), Buffer.alloc(1)])));

  const phnum = 3 + (spec.interp ? 1 : 0);
  const interpOff = ehsize + phnum * phentsize;
  const interp = spec.interp ? Buffer.concat([Buffer.from(spec.interp), Buffer.alloc(1)]) : Buffer.alloc(0);
  const decoy = spec.decoyFatbin ? fatbinBytes(spec.decoyFatbin) : Buffer.alloc(0);
  const decoyOff = align(interpOff + interp.length, 8);
  const fat = spec.fatbin ? fatbinBytes(spec.fatbin) : Buffer.alloc(0);
  const fatOff = align(decoyOff + decoy.length, 8);
  const strtabOff = Math.max(align(fatOff + fat.length, 8), spec.strtabAt ?? 0);
  const load1End = strtabOff + dynstr.length;
  const dynOff = align(load1End + (spec.gap ?? 0), 8);
  const dynSize = (dyn.length + 3) * dynent;
  const shstr = Buffer.from('\0.nv_fatbin\0.shstrtab\0.rodata\0');
  const shstrOff = dynOff + dynSize;
  const withSections = !spec.noSections;
  const shoff = align(shstrOff + shstr.length, 8);
  const shnum = withSections ? 4 : 0;
  const total = withSections ? shoff + shnum * shentsize : shstrOff;

  const b = Buffer.alloc(total);
  const u16 = (v: number, o: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  const u32 = (v: number, o: number) => (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
  const addr = (v: number, o: number) => (is64 ? (le ? b.writeBigUInt64LE(BigInt(v), o) : b.writeBigUInt64BE(BigInt(v), o)) : u32(v, o));

  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = is64 ? 2 : 1;
  b[5] = le ? 1 : 2;
  b[6] = 1;
  u16(3, 16); // ET_DYN
  u16(spec.machine ?? 62, 18);
  u32(1, 20);
  const phoff = ehsize;
  if (is64) {
    addr(phoff, 32);
    addr(withSections ? shoff : 0, 40);
    u16(ehsize, 52);
    u16(phentsize, 54);
    u16(phnum, 56);
    u16(shentsize, 58);
    u16(shnum, 60);
    u16(withSections ? 2 : 0, 62);
  } else {
    u32(phoff, 28);
    u32(withSections ? shoff : 0, 32);
    u16(ehsize, 40);
    u16(phentsize, 42);
    u16(phnum, 44);
    u16(shentsize, 46);
    u16(shnum, 48);
    u16(withSections ? 2 : 0, 50);
  }
  const V1 = 0x10000; // first segment: vaddr = offset + V1
  const V2 = 0x400000; // second segment: vaddr = offset + V2
  const phdr = (i: number, type: number, off: number, vaddr: number, size: number) => {
    const o = phoff + i * phentsize;
    u32(type, o);
    if (is64) {
      addr(off, o + 8);
      addr(vaddr, o + 16);
      addr(vaddr, o + 24);
      addr(size, o + 32);
      addr(size, o + 40);
    } else {
      u32(off, o + 4);
      u32(vaddr, o + 8);
      u32(vaddr, o + 12);
      u32(size, o + 16);
      u32(size, o + 20);
    }
  };
  let pi = 0;
  phdr(pi++, 1, 0, V1, load1End);
  phdr(pi++, 1, dynOff, dynOff + V2, dynSize);
  phdr(pi++, 2, dynOff, dynOff + V2, dynSize);
  if (spec.interp) phdr(pi++, 3, interpOff, interpOff + V1, interp.length);
  interp.copy(b, interpOff);
  decoy.copy(b, decoyOff);
  fat.copy(b, fatOff);
  dynstr.copy(b, strtabOff);
  const dynTags: Array<[number, number]> = [[5, strtabOff + V1], [10, dynstr.length], ...dyn, [0, 0]];
  dynTags.forEach(([tag, val], i) => {
    const o = dynOff + i * dynent;
    if (is64) {
      le ? b.writeBigInt64LE(BigInt(tag), o) : b.writeBigInt64BE(BigInt(tag), o);
      addr(val, o + 8);
    } else {
      u32(tag, o);
      u32(val, o + 4);
    }
  });
  if (withSections) {
    shstr.copy(b, shstrOff);
    const sh = (i: number, name: number, type: number, off: number, size: number) => {
      const o = shoff + i * shentsize;
      u32(name, o);
      u32(type, o + 4);
      if (is64) {
        addr(off, o + 24);
        addr(size, o + 32);
      } else {
        u32(off, o + 16);
        u32(size, o + 20);
      }
    };
    sh(0, 0, 0, 0, 0);
    sh(1, 1, 1, fatOff, fat.length); // .nv_fatbin
    sh(2, 12, 3, shstrOff, shstr.length); // .shstrtab
    sh(3, 22, 1, decoyOff, decoy.length); // .rodata (decoy)
  }
  return b;
}
