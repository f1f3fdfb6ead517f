import type { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { zstdDecompressor } from './zstd.js';

export type Compression = 'none' | 'gzip' | 'zstd';

/**
 * Sniffs the compression from magic bytes (docs/formats.md "Compression": never trust the media type alone):
 * gzip 1f 8b, zstd 28 b5 2f fd, otherwise a plain tar (ustar at 257, or an old v7 header).
 */
export function sniffCompression(head: Uint8Array): Compression | 'unknown' {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  if (head.length >= 263 && Buffer.from(head.subarray(257, 262)).toString('latin1') === 'ustar') return 'none';
  if (head.length === 0) return 'none';
  if (head.length >= 512 && looksLikeTarHeader(head)) return 'none';
  if (head.length >= 512 && head.subarray(0, 512).every((b) => b === 0)) return 'none';
  return 'unknown';
}

function looksLikeTarHeader(h: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  const field = Buffer.from(h.subarray(148, 156)).toString('latin1').replace(/[\0 ]/g, '');
  return /^[0-7]+$/.test(field) && parseInt(field, 8) === sum;
}

/** What the media type claims (for reporting and for a mismatch warning). */
export function compressionFromMediaType(mt: string | undefined): Compression | undefined {
  if (!mt) return undefined;
  if (/zstd$/.test(mt)) return 'zstd';
  if (/gzip$/.test(mt)) return 'gzip';
  if (/tar$/.test(mt)) return 'none';
  return undefined;
}

/** A decoder stream for `c` (zstd: see zstd.ts for why it is not a plain fzstd transform). */
export function decompressor(c: Compression): Duplex | undefined {
  if (c === 'gzip') return zlib.createGunzip({ chunkSize: 256 * 1024 });
  if (c === 'zstd') return zstdDecompressor();
  return undefined;
}
