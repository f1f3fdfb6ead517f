/**
 * CUDA fatbinary scanner (docs/formats.md "CUDA fatbinaries"). Reads container and entry *headers* only — no payload is
 * kept or decompressed — and sums the bytes per GPU architecture, SASS (cubin) and PTX apart.
 *
 * The scanner is a state machine fed with file bytes in ascending order. It ignores bytes before the
 * offset it wants next (`next`), so a positional reader can skip payloads (read a small window at
 * `next`, feed it, repeat) while a streaming reader simply feeds every chunk of the file.
 *
 * Container: u32 magic 0xBA55ED50, u16 version 1, u16 header size 16, u64 size of the entries.
 * Entry: u16 kind (1 PTX, 2 ELF), u16 version, u32 header size, u64 padded payload size,
 *        u32 payload size @16, u32 sm arch @28, u64 flags @40, u64 uncompressed size @56.
 */

export const FATBIN_MAGIC = 0xba55ed50;
const MAGIC_LE = Buffer.from([0x50, 0xed, 0x55, 0xba]);
const CONTAINER_HEADER = 16;
const ENTRY_HEADER_MIN = 64;
const MAX_ENTRY_HEADER = 4096;
/** Containers remembered one by one while streaming (libcublasLt.so.13 has 2,775); memory stays bounded. */
export const MAX_RECORDS = 200_000;

export interface FatbinSummary {
  containers: number;
  entries: number;
  /** Bytes (entry header + padded payload) of cubin entries per `sm_XX`. */
  sass: Record<string, number>;
  /** Bytes of PTX entries per `compute_XX` target (written `sm_XX` like cuobjdump's `arch`). */
  ptx: Record<string, number>;
  /** Entries of other kinds. */
  otherBytes: number;
  /** Containers whose entries ran past their declared size or the file (skipped). */
  malformed: number;
}

export function emptyFatbin(): FatbinSummary {
  return { containers: 0, entries: 0, sass: {}, ptx: {}, otherBytes: 0, malformed: 0 };
}

type State = 'scan' | 'container' | 'entry';

export interface ContainerRecord {
  start: number;
  end: number;
  entries: Array<{ kind: number; arch: number; bytes: number }>;
}

function addContainer(s: FatbinSummary, entries: ContainerRecord['entries']): void {
  s.containers++;
  for (const e of entries) {
    s.entries++;
    const key = `sm_${e.arch}`;
    if (e.kind === 2 || e.kind === 0x10) s.sass[key] = (s.sass[key] ?? 0) + e.bytes;
    else if (e.kind === 1) s.ptx[key] = (s.ptx[key] ?? 0) + e.bytes;
    else s.otherBytes += e.bytes;
  }
}

/** Sums the recorded containers that lie inside [lo, hi). */
export function summarizeRecords(records: ContainerRecord[], lo: number, hi: number, malformed = 0): FatbinSummary {
  const s = emptyFatbin();
  s.malformed = malformed;
  for (const r of records) if (r.start >= lo && r.end <= hi) addContainer(s, r.entries);
  return s;
}

export class FatbinScanner {
  readonly summary = emptyFatbin();
  /** The absolute offset of the next byte the scanner needs; earlier bytes are ignored. */
  next: number;
  private state: State = 'scan';
  /** Bytes of a header being assembled across chunks. */
  private hdr = Buffer.alloc(MAX_ENTRY_HEADER);
  private hdrLen = 0;
  private hdrWant = CONTAINER_HEADER;
  private hdrAt = 0;
  private containerStart = 0;
  private containerEnd = 0;
  /** Entry sums of the container in progress (committed when it ends cleanly). */
  private pending: Array<{ kind: number; arch: number; bytes: number }> = [];

  /** Every committed container with its entries, when constructed with `record` (streaming mode). */
  readonly records: ContainerRecord[] = [];

  /** Whether `records` holds every container found (false past MAX_RECORDS). */
  get recordsComplete(): boolean {
    return this.records.length === this.summary.containers;
  }

  /**
   * `start`/`end`: the file range to look in (the `.nv_fatbin` section when known, else the whole
   * file). With `record`, containers are also kept one by one, so that a streaming reader, which learns
   * where `.nv_fatbin` is only from the section headers at the end of the file, can keep just those.
   */
  constructor(start: number, private readonly end: number, private readonly record = false) {
    this.next = start;
  }

  get done(): boolean {
    return this.next >= this.end;
  }

  /** Feeds file bytes [offset, offset + chunk.length). */
  push(chunk: Buffer, offset: number): void {
    let off = offset;
    let buf = chunk;
    while (!this.done) {
      if (this.next > off + buf.length) return; // still skipping
      if (this.next > off) {
        buf = buf.subarray(this.next - off);
        off = this.next;
      } else if (this.next < off) {
        // A gap the reader did not give us: restart the scan where the data is.
        this.abandon(off);
        continue;
      }
      if (buf.length === 0) return;
      if (this.state === 'scan') {
        const limit = Math.min(buf.length, this.end - off);
        let at = this.carryMatch(buf, off);
        if (at < 0) {
          const i = buf.subarray(0, limit).indexOf(MAGIC_LE);
          if (i < 0) {
            // keep up to 3 trailing bytes that may start a magic split across chunks
            this.keepTail(buf.subarray(0, limit), off);
            this.next = off + limit;
            return;
          }
          at = off + i;
        }
        this.containerStart = at;
        this.beginHeader('container', at, CONTAINER_HEADER);
        continue;
      }
      // assembling a header at hdrAt
      const take = Math.min(this.hdrWant - this.hdrLen, buf.length);
      buf.copy(this.hdr, this.hdrLen, 0, take);
      this.hdrLen += take;
      this.next = off + take;
      buf = buf.subarray(take);
      off += take;
      if (this.hdrLen < this.hdrWant) return;
      if (this.state === 'container') this.onContainerHeader();
      else this.onEntryHeader();
    }
  }

  private tail: Buffer = Buffer.alloc(0);
  private tailAt = 0;

  /** Keeps the last 3 bytes seen (across chunks of any size) for a magic split over chunk boundaries. */
  private keepTail(b: Buffer, at: number): void {
    const joined = this.tail.length && this.tailAt + this.tail.length === at ? Buffer.concat([this.tail, b]) : b;
    const start = at + b.length - joined.length;
    const keep = Math.min(3, joined.length);
    this.tail = Buffer.from(joined.subarray(joined.length - keep));
    this.tailAt = start + joined.length - keep;
  }

  /** A magic split across the previous chunk's tail and this chunk's head. */
  private carryMatch(buf: Buffer, off: number): number {
    if (this.tail.length === 0 || this.tailAt + this.tail.length !== off) return -1;
    const joined = Buffer.concat([this.tail, buf.subarray(0, 3)]);
    const i = joined.indexOf(MAGIC_LE);
    return i >= 0 && i < joined.length - 3 && this.tailAt + i < off ? this.tailAt + i : -1;
  }

  private beginHeader(state: State, at: number, want: number): void {
    this.state = state;
    this.hdrAt = at;
    this.hdrLen = 0;
    this.hdrWant = want;
    if (at < this.next) {
      // the header started in the carried tail: copy those bytes first
      const n = this.next - at;
      this.tail.copy(this.hdr, 0, this.tail.length - n);
      this.hdrLen = n;
    }
    this.tail = Buffer.alloc(0);
    this.next = at + this.hdrLen;
  }

  private onContainerHeader(): void {
    const h = this.hdr;
    const version = h.readUInt16LE(4);
    const hsize = h.readUInt16LE(6);
    const size = Number(h.readBigUInt64LE(8));
    if (h.readUInt32LE(0) !== FATBIN_MAGIC || version !== 1 || hsize !== CONTAINER_HEADER || size <= 0 || this.containerStart + CONTAINER_HEADER + size > this.end) {
      this.rescan(this.containerStart + 1);
      return;
    }
    this.containerEnd = this.containerStart + CONTAINER_HEADER + size;
    this.pending = [];
    this.beginHeader('entry', this.containerStart + CONTAINER_HEADER, ENTRY_HEADER_MIN);
  }

  private onEntryHeader(): void {
    const h = this.hdr;
    const kind = h.readUInt16LE(0);
    const hsize = h.readUInt32LE(4);
    // Longer headers (80/112 bytes for SM100+) keep the fields we read in their first 64 bytes; the rest
    // is skipped with the payload.
    const padded = Number(h.readBigUInt64LE(8));
    const arch = h.readUInt32LE(28);
    const entryEnd = this.hdrAt + hsize + padded;
    const plausible = hsize >= ENTRY_HEADER_MIN && hsize <= MAX_ENTRY_HEADER && hsize % 8 === 0 && entryEnd <= this.containerEnd && arch < 10000;
    if (!plausible) {
      if (this.pending.length === 0) {
        this.rescan(this.containerStart + 1); // not a container after all
      } else {
        this.summary.malformed++;
        this.pending = [];
        this.rescan(this.containerEnd);
      }
      return;
    }
    this.pending.push({ kind, arch, bytes: hsize + padded });
    if (entryEnd >= this.containerEnd) {
      this.commit();
      this.rescan(this.containerEnd);
    } else {
      this.beginHeader('entry', entryEnd, ENTRY_HEADER_MIN);
    }
  }

  private commit(): void {
    addContainer(this.summary, this.pending);
    if (this.record && this.records.length < MAX_RECORDS) this.records.push({ start: this.containerStart, end: this.containerEnd, entries: this.pending });
    this.pending = [];
  }

  private rescan(at: number): void {
    this.state = 'scan';
    this.tail = Buffer.alloc(0);
    this.next = at;
  }

  private abandon(at: number): void {
    if (this.state !== 'scan' && this.pending.length) this.summary.malformed++;
    this.pending = [];
    this.rescan(at);
  }
}

/** The size of the window a positional reader should read at `next` (headers are small). */
export const FATBIN_WINDOW = 4096;

/** Bytes per architecture over all entries (SASS and PTX together). */
export function archBytes(s: FatbinSummary): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.sass)) out[k] = (out[k] ?? 0) + v;
  for (const [k, v] of Object.entries(s.ptx)) out[k] = (out[k] ?? 0) + v;
  return out;
}
