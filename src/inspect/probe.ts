/**
 * Partial reads of file bodies while walking a layer: the ELF dynamic section of Python packages'
 * shared objects, and the fatbin headers of large CUDA libraries. Decided from path and size alone.
 *
 * - Seekable layer: a few positional reads per file (ELF header, program headers, dynamic section,
 *   the strings it names; section headers and fatbin headers in 4 KiB windows). Bodies are never read.
 * - Streamed layer: the bytes pass by anyway (they are being decompressed); the ELF probe keeps at most
 *   the first ELF_PREFIX bytes plus the dynamic segment, the fatbin scanner keeps nothing but counters.
 */
import { CUDA_SHARED } from '../catalog/cuda.js';
import { SITE_PACKAGES } from '../catalog/python.js';
import { elfRangesFromPrefix, findSection, parseElfDynamic, parseElfHeader, type ElfResult, type RangeReader } from './elf.js';
import { FATBIN_WINDOW, FatbinScanner, type FatbinSummary, summarizeRecords } from './fatbin.js';

export interface ProbeSpec {
  elf: boolean;
  fatbin: boolean;
}

export interface ProbeResult {
  /** Dynamic dependencies ('ok'), or why they could not be read. Absent when the file is not ELF. */
  elf?: ElfResult & { status: 'ok' | 'unreadable' };
  fatbin?: FatbinSummary;
}

/** Bytes of a streamed ELF file kept from its start (its headers, .dynsym and .dynstr live there). */
export const ELF_PREFIX = 32 * 1024 * 1024;
const SHSTRTAB_WINDOW = 256 * 1024;
const MIN_FATBIN_CUDA_LIB = 1024 * 1024;
const MIN_FATBIN_PY_EXT = 8 * 1024 * 1024;
const SO = /\.so(\.\d+)*$/;

/** Which probes a file gets, from its path (root-relative) and size. */
export function wantsProbe(path: string, size: number): ProbeSpec | undefined {
  if (size < 64 || !path.includes('.so', path.lastIndexOf('/'))) return undefined;
  const slash = path.lastIndexOf('/');
  const name = path.slice(slash + 1);
  if (!name.includes('.so') || !SO.test(name)) return undefined;
  const inPy = SITE_PACKAGES.test(path);
  const fatbin = (size >= MIN_FATBIN_CUDA_LIB && CUDA_SHARED.test(name)) || (inPy && size >= MIN_FATBIN_PY_EXT);
  if (!inPy && !fatbin) return undefined;
  return { elf: inPy, fatbin };
}

function finishElf(r: ElfResult): ProbeResult['elf'] {
  return r.status === 'not-elf' ? undefined : r;
}

/** Runs the probes on a file read positionally through `pread(offset, length)` (file-relative). */
export function probeSeekable(spec: ProbeSpec, size: number, pread: (offset: number, length: number) => Buffer): ProbeResult {
  const out: ProbeResult = {};
  const read: RangeReader = (o, n) => (o < 0 || n < 0 || o + n > size ? undefined : pread(o, n));
  const head = read(0, Math.min(64, size));
  if (!head || head.length < 4 || head.readUInt32BE(0) !== 0x7f454c46) return out;
  // Cache the first 4 KiB: ELF header and program headers sit there in practice.
  const first = read(0, Math.min(4096, size))!;
  const cached: RangeReader = (o, n) => (o + n <= first.length ? first.subarray(o, o + n) : read(o, n));
  if (spec.elf) {
    const e = finishElf(parseElfDynamic(cached, size));
    if (e) out.elf = e;
  }
  if (spec.fatbin) {
    const sec = findSection(cached, size, '.nv_fatbin');
    if (sec && sec.size > 0) {
      const s = new FatbinScanner(sec.offset, sec.offset + sec.size);
      while (!s.done) {
        const at = s.next;
        const n = Math.min(FATBIN_WINDOW, sec.offset + sec.size - at);
        const b = read(at, n);
        if (!b) break;
        s.push(b, at);
        if (s.next === at) break; // no progress: malformed
      }
      out.fatbin = s.summary;
    }
  }
  return out;
}

/** Runs the probes on a file whose bytes arrive in order (`push`), then `finish()`. */
export class StreamProbe {
  /** Bytes kept, in file order: the prefix, then slices of the wanted ranges beyond it. Never joined whole. */
  private readonly kept: Array<{ at: number; buf: Buffer }> = [];
  private prefixLen = 0;
  private pos = 0;
  private ranges: Array<[number, number]> | undefined;
  private readonly scanner: FatbinScanner | undefined;
  private isElf: boolean | undefined;
  /** Bytes kept from the start: ELF_PREFIX for the ELF probe; the headers only for the fatbin probe. */
  private readonly prefixCap: number;

  constructor(private readonly spec: ProbeSpec, private readonly size: number) {
    this.prefixCap = spec.elf ? ELF_PREFIX : 4096;
    this.scanner = spec.fatbin ? new FatbinScanner(0, size, true) : undefined;
  }

  push(chunk: Buffer): void {
    const at = this.pos;
    this.pos += chunk.length;
    if (this.isElf === false) return;
    const cap = this.prefixCap;
    if (this.prefixLen < cap) {
      const part = chunk.subarray(0, cap - this.prefixLen);
      this.kept.push({ at, buf: Buffer.from(part) });
      this.prefixLen += part.length;
      if (this.isElf === undefined && this.prefixLen >= 4) {
        this.isElf = this.read(0, 4)!.readUInt32BE(0) === 0x7f454c46;
        if (!this.isElf) {
          this.kept.length = 0;
          return;
        }
      }
    }
    // The headers that say what else to keep sit in the first KiBs (program headers) and the ELF header.
    if (!this.ranges && this.prefixLen >= Math.min(this.size, cap, 64 * 1024)) this.ranges = this.wantedRanges();
    // Keep the slices of this chunk that fall in a wanted range beyond the prefix.
    for (const [o, n] of this.ranges ?? []) {
      const lo = Math.max(o, at, cap);
      const hi = Math.min(o + n, at + chunk.length);
      if (hi > lo) this.kept.push({ at: lo, buf: Buffer.from(chunk.subarray(lo - at, hi - at)) });
    }
    this.scanner?.push(chunk, at);
  }

  /**
   * Byte ranges to keep beyond the prefix: the dynamic and interpreter segments (ELF probe), and the
   * section header table with the 256 KiB before it, where .shstrtab sits (fatbin probe: only containers
   * inside .nv_fatbin count, as for cuobjdump; other data can hold fatbin-like bytes).
   */
  private wantedRanges(): Array<[number, number]> {
    const head = this.read(0, Math.min(this.prefixLen, 64 * 1024)) ?? Buffer.alloc(0);
    const out: Array<[number, number]> = [];
    if (this.spec.elf) out.push(...(elfRangesFromPrefix(head) ?? []));
    if (this.spec.fatbin) {
      const h = parseElfHeader(head.subarray(0, 64));
      if (h && h.shoff > 0 && h.shnum > 0) {
        const lo = Math.max(0, h.shoff - SHSTRTAB_WINDOW);
        out.push([lo, h.shoff + h.shnum * h.shentsize - lo]);
      }
    }
    return out;
  }

  /** File bytes [o, o+n) from the kept slices (a view when one slice holds them), or undefined. */
  private read(o: number, n: number): Buffer | undefined {
    if (o < 0 || n < 0 || o + n > this.size) return undefined;
    const parts = this.kept.filter((k) => k.at + k.buf.length > o && k.at < o + n);
    if (!parts.length) return undefined;
    if (parts.length === 1) {
      const p = parts[0]!;
      return p.at <= o && p.at + p.buf.length >= o + n ? p.buf.subarray(o - p.at, o - p.at + n) : undefined;
    }
    parts.sort((a, b) => a.at - b.at);
    const out = Buffer.alloc(n);
    let filled = o;
    for (const p of parts) {
      if (p.at > filled) return undefined; // a gap
      const from = filled - p.at;
      const take = Math.min(p.buf.length - from, o + n - filled);
      if (take <= 0) continue;
      p.buf.copy(out, filled - o, from, from + take);
      filled += take;
      if (filled >= o + n) return out;
    }
    return filled >= o + n ? out : undefined;
  }

  private keptReader(): RangeReader {
    return (o, n) => this.read(o, n);
  }

  /** Whether the section header table is among the kept bytes. */
  private sectionHeadersRead(): boolean {
    const h = parseElfHeader(this.read(0, Math.min(64, this.size)));
    return !!h && h.shnum > 0 && this.read(h.shoff, h.shnum * h.shentsize) !== undefined;
  }

  finish(): ProbeResult {
    const out: ProbeResult = {};
    if (!this.isElf) return out;
    if (this.spec.elf) {
      const e = finishElf(parseElfDynamic(this.keptReader(), this.size));
      if (e) out.elf = e;
    }
    if (this.scanner) {
      const sec = findSection(this.keptReader(), this.size, '.nv_fatbin');
      if (sec && !this.scanner.recordsComplete) {
        out.fatbin = this.scanner.summary; // too many containers to keep apart: every one found counts
      } else if (sec) {
        if (sec.size > 0) out.fatbin = summarizeRecords(this.scanner.records, sec.offset, sec.offset + sec.size, this.scanner.summary.malformed);
      } else if (!this.sectionHeadersRead()) {
        out.fatbin = this.scanner.summary; // section headers unreadable: every container found
      }
      // else: no .nv_fatbin section, so no device code (as for cuobjdump and the positional reader)
    }
    this.kept.length = 0;
    return out;
  }
}
