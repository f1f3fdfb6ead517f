/**
 * ELF dynamic-section reader (docs/formats.md "ELF"): DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH, found through
 * the program headers (section headers may be stripped), with DT_STRTAB's virtual address mapped to a
 * file offset through PT_LOAD. Section lookup by name (for `.nv_fatbin`) uses the section headers.
 *
 * Everything reads through a `RangeReader`, so the same code serves positional reads on a seekable layer
 * (a handful of small preads per file) and the bounded byte ranges kept while streaming a layer.
 */

/** Returns file bytes [offset, offset+length) of the ELF file, or undefined when they are not available. */
export type RangeReader = (offset: number, length: number) => Buffer | undefined;

export interface ElfDynamic {
  bits: 32 | 64;
  /** e_machine (62 = x86-64, 183 = aarch64). */
  machine: number;
  /** e_type: 2 executable, 3 shared object / PIE. */
  type: number;
  interpreter?: string;
  soname?: string;
  needed: string[];
  /** DT_RPATH entries (only used by the loader when there is no DT_RUNPATH). */
  rpath: string[];
  runpath: string[];
}

export type ElfResult =
  | { status: 'ok'; elf: ElfDynamic }
  /** Not an ELF file (no magic) — nothing to say. */
  | { status: 'not-elf' }
  /** An ELF file whose dynamic data could not be read (malformed, or outside what a stream kept). */
  | { status: 'unreadable'; reason: string };

export const ELF_MAGIC = 0x7f454c46; // "\x7fELF" big-endian

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
/** Largest dynamic string table read in one piece; bigger tables are read string by string. */
const WHOLE_STRTAB = 256 * 1024;
const MAX_STRING = 4096;
/** Most bytes of a dynamic segment read: real ones hold a few hundred entries (DT_NULL ends them). */
export const MAX_DYNAMIC = 1024 * 1024;

export interface ElfHeader {
  bits: 32 | 64;
  le: boolean;
  type: number;
  machine: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

interface Reader {
  u16(b: Buffer, o: number): number;
  u32(b: Buffer, o: number): number;
  /** Address-sized field (u32 on ELF32, u64 on ELF64) as a JS number. */
  addr(b: Buffer, o: number): number;
  /** Signed address-sized field (d_tag). */
  saddr(b: Buffer, o: number): number;
}

function readerFor(bits: 32 | 64, le: boolean): Reader {
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  if (bits === 32) return { u16, u32, addr: u32, saddr: (b, o) => (le ? b.readInt32LE(o) : b.readInt32BE(o)) };
  return {
    u16,
    u32,
    addr: (b, o) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)),
    saddr: (b, o) => Number(le ? b.readBigInt64LE(o) : b.readBigInt64BE(o)),
  };
}

/** Parses the ELF file header from its first 64 bytes; undefined when the bytes are not ELF. */
export function parseElfHeader(b: Buffer | undefined): ElfHeader | undefined {
  if (!b || b.length < 52 || b.readUInt32BE(0) !== ELF_MAGIC) return undefined;
  const cls = b[4];
  const data = b[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) return undefined;
  const bits = cls === 1 ? 32 : 64;
  if (bits === 64 && b.length < 64) return undefined;
  const le = data === 1;
  const r = readerFor(bits, le);
  if (bits === 64) {
    return {
      bits, le, type: r.u16(b, 16), machine: r.u16(b, 18),
      phoff: r.addr(b, 32), shoff: r.addr(b, 40),
      phentsize: r.u16(b, 54), phnum: r.u16(b, 56), shentsize: r.u16(b, 58), shnum: r.u16(b, 60), shstrndx: r.u16(b, 62),
    };
  }
  return {
    bits, le, type: r.u16(b, 16), machine: r.u16(b, 18),
    phoff: r.u32(b, 28), shoff: r.u32(b, 32),
    phentsize: r.u16(b, 42), phnum: r.u16(b, 44), shentsize: r.u16(b, 46), shnum: r.u16(b, 48), shstrndx: r.u16(b, 50),
  };
}

interface Phdr {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

function parsePhdrs(h: ElfHeader, b: Buffer): Phdr[] {
  const r = readerFor(h.bits, h.le);
  const out: Phdr[] = [];
  for (let i = 0; i < h.phnum; i++) {
    const o = i * h.phentsize;
    if (h.bits === 64) out.push({ type: r.u32(b, o), offset: r.addr(b, o + 8), vaddr: r.addr(b, o + 16), filesz: r.addr(b, o + 32) });
    else out.push({ type: r.u32(b, o), offset: r.u32(b, o + 4), vaddr: r.u32(b, o + 8), filesz: r.u32(b, o + 16) });
  }
  return out;
}

/** The file ranges a streaming reader must keep to answer `parseElfDynamic` (beyond a prefix). */
export function elfRangesFromPrefix(prefix: Buffer): Array<[number, number]> | undefined {
  const h = parseElfHeader(prefix.subarray(0, 64));
  if (!h) return undefined;
  const phEnd = h.phoff + h.phnum * h.phentsize;
  if (phEnd > prefix.length || h.phentsize < (h.bits === 64 ? 56 : 32)) return undefined;
  return parsePhdrs(h, prefix.subarray(h.phoff, phEnd))
    .filter((p) => p.type === PT_DYNAMIC || p.type === PT_INTERP)
    .map((p) => [p.offset, Math.min(p.filesz, p.type === PT_DYNAMIC ? MAX_DYNAMIC : MAX_STRING)] as [number, number]);
}

function cString(b: Buffer, at: number): string | undefined {
  if (at < 0 || at >= b.length) return undefined;
  const end = b.indexOf(0, at);
  if (end < 0) return undefined;
  return b.toString('utf8', at, end);
}

/** Reads the dynamic dependencies of an ELF file of `size` bytes. */
export function parseElfDynamic(read: RangeReader, size: number): ElfResult {
  const head = read(0, Math.min(64, size));
  const h = parseElfHeader(head);
  if (!h) {
    return head && head.length >= 4 && head.readUInt32BE(0) === ELF_MAGIC ? { status: 'unreadable', reason: 'bad ELF identification' } : { status: 'not-elf' };
  }
  if (h.phnum === 0) return { status: 'ok', elf: { bits: h.bits, machine: h.machine, type: h.type, needed: [], rpath: [], runpath: [] } };
  if (h.phentsize < (h.bits === 64 ? 56 : 32) || h.phoff + h.phnum * h.phentsize > size) return { status: 'unreadable', reason: 'program headers out of bounds' };
  const phb = read(h.phoff, h.phnum * h.phentsize);
  if (!phb) return { status: 'unreadable', reason: 'program headers not available' };
  const phdrs = parsePhdrs(h, phb);
  const elf: ElfDynamic = { bits: h.bits, machine: h.machine, type: h.type, needed: [], rpath: [], runpath: [] };
  const interp = phdrs.find((p) => p.type === PT_INTERP);
  if (interp && interp.filesz > 0 && interp.filesz <= MAX_STRING && interp.offset + interp.filesz <= size) {
    const ib = read(interp.offset, interp.filesz);
    const s = ib ? cString(ib, 0) ?? ib.toString('utf8') : undefined;
    if (s) elf.interpreter = s;
  }
  const dyn = phdrs.find((p) => p.type === PT_DYNAMIC);
  if (!dyn) return { status: 'ok', elf }; // statically linked
  if (dyn.offset + dyn.filesz > size) return { status: 'unreadable', reason: 'dynamic section out of bounds' };
  const db = read(dyn.offset, Math.min(dyn.filesz, MAX_DYNAMIC));
  if (!db) return { status: 'unreadable', reason: 'dynamic section not available' };
  const r = readerFor(h.bits, h.le);
  const ent = h.bits === 64 ? 16 : 8;
  const half = ent / 2;
  const tags: Array<[number, number]> = [];
  let strtab = -1;
  let strsz = -1;
  for (let o = 0; o + ent <= db.length; o += ent) {
    const tag = r.saddr(db, o);
    const val = r.addr(db, o + half);
    if (tag === DT_NULL) break;
    if (tag === DT_STRTAB) strtab = val;
    else if (tag === DT_STRSZ) strsz = val;
    else if (tag === DT_NEEDED || tag === DT_SONAME || tag === DT_RPATH || tag === DT_RUNPATH) tags.push([tag, val]);
  }
  if (tags.length === 0) return { status: 'ok', elf };
  if (strtab < 0) return { status: 'unreadable', reason: 'no DT_STRTAB' };
  // DT_STRTAB is a virtual address: map it through the PT_LOAD segment that contains it.
  const load = phdrs.find((p) => p.type === PT_LOAD && strtab >= p.vaddr && strtab < p.vaddr + p.filesz);
  if (!load) return { status: 'unreadable', reason: 'DT_STRTAB outside every PT_LOAD segment' };
  const strOff = load.offset + (strtab - load.vaddr);
  const strLimit = Math.min(size, strsz > 0 ? strOff + strsz : load.offset + load.filesz);
  let whole: Buffer | undefined;
  if (strLimit - strOff <= WHOLE_STRTAB) whole = read(strOff, strLimit - strOff);
  const str = (idx: number): string | undefined => {
    if (whole) return cString(whole, idx);
    const at = strOff + idx;
    if (at >= strLimit) return undefined;
    const b = read(at, Math.min(MAX_STRING, strLimit - at));
    return b ? cString(b, 0) : undefined;
  };
  for (const [tag, val] of tags) {
    const s = str(val);
    if (s === undefined) return { status: 'unreadable', reason: 'dynamic string table not available' };
    if (tag === DT_NEEDED) elf.needed.push(s);
    else if (tag === DT_SONAME) elf.soname = s;
    else if (tag === DT_RPATH) elf.rpath.push(...s.split(':').filter(Boolean));
    else elf.runpath.push(...s.split(':').filter(Boolean));
  }
  return { status: 'ok', elf };
}

/** Finds a section by name through the section headers: its file offset and size, or undefined. */
export function findSection(read: RangeReader, size: number, name: string): { offset: number; size: number } | undefined {
  const h = parseElfHeader(read(0, Math.min(64, size)));
  if (!h || h.shoff === 0 || h.shnum === 0 || h.shstrndx >= h.shnum) return undefined;
  if (h.shentsize < (h.bits === 64 ? 64 : 40) || h.shoff + h.shnum * h.shentsize > size) return undefined;
  const sb = read(h.shoff, h.shnum * h.shentsize);
  if (!sb) return undefined;
  const r = readerFor(h.bits, h.le);
  const sec = (i: number) => {
    const o = i * h.shentsize;
    return h.bits === 64
      ? { name: r.u32(sb, o), type: r.u32(sb, o + 4), offset: r.addr(sb, o + 24), size: r.addr(sb, o + 32) }
      : { name: r.u32(sb, o), type: r.u32(sb, o + 4), offset: r.u32(sb, o + 16), size: r.u32(sb, o + 20) };
  };
  const strs = sec(h.shstrndx);
  if (strs.offset + strs.size > size || strs.size > 16 * 1024 * 1024) return undefined;
  const names = read(strs.offset, strs.size);
  if (!names) return undefined;
  for (let i = 0; i < h.shnum; i++) {
    const s = sec(i);
    if (cString(names, s.name) !== name) continue;
    if (s.type === 8 /* SHT_NOBITS */ || s.offset + s.size > size) return undefined;
    return { offset: s.offset, size: s.size };
  }
  return undefined;
}
