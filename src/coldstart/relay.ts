/**
 * A rate-limited TCP relay on 127.0.0.1 in front of a plain-HTTP registry (docs/coldstart.md "A given
 * link speed"): the daemon pulls through it, so a pull shows what it costs at that speed, measured,
 * not modelled. All connections share one link: bytes from the registry leave the relay no faster
 * than the rate, in arrival order, whatever the number of parallel layer downloads. Requests towards
 * the registry pass unthrottled (they are small). The daemon trusts 127.0.0.0/8 as an insecure
 * registry, so it speaks plain HTTP to the relay.
 */
import net from 'node:net';
import { onCleanup } from '../util/cleanup.js';

export interface Relay {
  /** host:port of the relay (127.0.0.1:N). */
  address: string;
  /** Bytes sent from the registry to the daemon through the relay so far (bodies and headers). */
  bytesDown(): number;
  close(): Promise<void>;
}

/**
 * One shared link of `bytesPerSec`: a chunk may leave once the link has finished sending every
 * earlier chunk, and takes length/rate to send. `now` is injectable for tests.
 */
export class Link {
  private freeAt = 0;
  constructor(
    readonly bytesPerSec: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Milliseconds to wait before `bytes` more have crossed the link. */
  reserve(bytes: number): number {
    const t = this.now();
    const start = Math.max(t, this.freeAt);
    this.freeAt = start + (bytes / this.bytesPerSec) * 1000;
    return this.freeAt - t;
  }
}

export async function startRelay(upstream: { host: string; port: number }, bytesPerSec: number): Promise<Relay> {
  const link = new Link(bytesPerSec);
  const sockets = new Set<net.Socket>();
  let down = 0;
  const server = net.createServer((client) => {
    const up = net.connect(upstream.port, upstream.host);
    sockets.add(client);
    sockets.add(up);
    const end = (): void => {
      client.destroy();
      up.destroy();
      sockets.delete(client);
      sockets.delete(up);
    };
    client.on('error', end);
    up.on('error', end);
    client.on('close', end);
    up.on('close', () => {
      // let throttled chunks still in flight reach the client before closing it
      pending.then(() => client.end(), () => client.end());
    });
    client.pipe(up);
    let pending: Promise<void> = Promise.resolve();
    up.on('data', (chunk: Buffer) => {
      const wait = link.reserve(chunk.length);
      up.pause();
      pending = new Promise<void>((resolve) => {
        setTimeout(() => {
          if (client.destroyed) return resolve();
          down += chunk.length;
          const ok = client.write(chunk);
          const go = (): void => {
            up.resume();
            resolve();
          };
          if (ok) go();
          else client.once('drain', go);
        }, Math.max(0, wait));
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    unregister();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const unregister = onCleanup(close);
  return { address: `127.0.0.1:${port}`, bytesDown: () => down, close };
}
