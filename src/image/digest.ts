import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { inputError } from '../errors.js';

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

export function sha256(data: Uint8Array | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

function algOf(digest: string): string {
  const alg = digest.split(':')[0];
  if (alg !== 'sha256' && alg !== 'sha512') throw inputError(`unsupported digest algorithm in ${digest}`);
  return alg;
}

/** Verifies raw bytes against a descriptor digest (and size when given). */
export function verifyBytes(what: string, data: Uint8Array, digest: string, size?: number): void {
  if (!isDigest(digest)) throw inputError(`${what}: invalid digest '${digest}'`);
  if (size !== undefined && size !== data.length) {
    throw inputError(`${what}: size mismatch: descriptor says ${size} bytes, blob has ${data.length}`);
  }
  const alg = algOf(digest);
  const got = `${alg}:` + createHash(alg).update(data).digest('hex');
  if (got !== digest) throw inputError(`${what}: digest mismatch: expected ${digest}, got ${got}`);
}

/** Hashes what flows through it with SHA-256; `digest` is set when the stream ends. */
export class Hasher extends Transform {
  private readonly hash = createHash('sha256');
  digest: string | undefined;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    cb(null, chunk);
  }
  override _flush(cb: (err?: Error | null) => void): void {
    this.digest = `sha256:${this.hash.digest('hex')}`;
    cb();
  }
}

/** Hashes what flows through it; `check()` compares with the expected digest at the end. */
export class DigestVerifier extends Transform {
  private readonly hash;
  bytes = 0;
  constructor(
    private readonly what: string,
    private readonly digest: string,
    private readonly size?: number,
  ) {
    super();
    this.hash = createHash(algOf(digest));
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  override _flush(cb: (err?: Error | null) => void): void {
    if (this.size !== undefined && this.bytes !== this.size) {
      cb(inputError(`${this.what}: size mismatch: descriptor says ${this.size} bytes, blob has ${this.bytes}`));
      return;
    }
    const got = `${this.digest.split(':')[0]}:` + this.hash.digest('hex');
    if (got !== this.digest) cb(inputError(`${this.what}: digest mismatch: expected ${this.digest}, got ${got}`));
    else cb();
  }
}
