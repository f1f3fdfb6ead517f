/** A throwaway local registry (Debian's docker-registry) on 127.0.0.1 for pull tests. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';

export interface LocalRegistry {
  host: string;
  stop(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function startRegistry(): Promise<LocalRegistry> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'imgscope-registry-'));
  const port = await freePort();
  const cfg = path.join(dir, 'config.yml');
  writeFileSync(
    cfg,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const proc: ResultPromise = execa('docker-registry', ['serve', cfg], { reject: false, stdio: 'ignore' });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://${host}/v2/`);
      if (r.status === 200) break;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host,
    async stop() {
      proc.kill('SIGTERM');
      await proc;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
