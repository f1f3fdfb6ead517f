import { existsSync, statSync } from 'node:fs';
import { inputError } from '../errors.js';
import { describeStat } from '../util/files.js';

export type ParsedReference =
  | { transport: 'docker-archive'; path: string; tag?: string }
  | { transport: 'oci'; path: string; tag?: string }
  | { transport: 'oci-archive'; path: string; tag?: string }
  | { transport: 'docker-daemon'; name: string }
  | { transport: 'docker'; name: string };

/** `PATH[:TAG]` where PATH itself may contain ':' — the longest existing prefix wins. */
function splitPathTag(rest: string): { path: string; tag?: string } {
  if (existsSync(rest)) return { path: rest };
  let i = rest.indexOf(':');
  while (i >= 0) {
    const p = rest.slice(0, i);
    if (existsSync(p)) return { path: p, tag: rest.slice(i + 1) || undefined } as { path: string; tag?: string };
    i = rest.indexOf(':', i + 1);
  }
  return { path: rest };
}

/**
 * Reference syntax follows skopeo's transports (docs/architecture.md "References"): `docker-archive:PATH[:TAG]`,
 * `oci:DIR[:TAG]`, `oci-archive:PATH[:TAG]`, `docker-daemon:NAME[:TAG]`, `docker://NAME`.
 * A bare existing path is sniffed (directory = OCI layout, file = tar); a bare name means the daemon.
 */
export function parseReference(ref: string): ParsedReference {
  if (!ref) throw inputError('empty image reference');
  const m = /^(docker-archive|oci-archive|oci|docker-daemon):(.*)$/.exec(ref);
  if (m) {
    const [, transport, rest] = m as unknown as [string, string, string];
    if (!rest) throw inputError(`${ref}: missing ${transport === 'docker-daemon' ? 'image name' : 'path'}`);
    if (transport === 'docker-daemon') return { transport, name: rest };
    const pt = splitPathTag(rest);
    if (!existsSync(pt.path)) throw inputError(`${ref}: ${pt.path} does not exist`);
    const st = statSync(pt.path);
    if (transport === 'oci' ? !st.isDirectory() : !st.isFile()) {
      throw inputError(`${ref}: ${pt.path} is ${describeStat(st)}, not ${transport === 'oci' ? 'an OCI layout directory' : 'a regular file'}`);
    }
    return { transport: transport as 'docker-archive' | 'oci' | 'oci-archive', ...pt };
  }
  if (ref.startsWith('docker://')) {
    const name = ref.slice('docker://'.length);
    if (!name) throw inputError(`${ref}: missing image name`);
    return { transport: 'docker', name };
  }
  if (existsSync(ref)) {
    const st = statSync(ref);
    if (st.isDirectory()) return { transport: 'oci', path: ref };
    if (!st.isFile()) throw inputError(`${ref}: is ${describeStat(st)}, not an image archive or layout`);
    return { transport: 'docker-archive', path: ref };
  }
  if (/^[./~]/.test(ref) || ref.endsWith('.tar')) throw inputError(`${ref}: no such file or directory`);
  return { transport: 'docker-daemon', name: ref };
}
