import { existsSync, statSync } from 'node:fs';
import { inputError } from '../errors.js';
import { describeStat } from '../util/files.js';

/** A reference resolved to one transport (a row of transports.ts) and what it names there. */
export interface ImageTarget {
  /** The reference as the user wrote it. */
  reference: string;
  /** The transport's name (transports.ts), as the report carries it. */
  transport: string;
  /** A path (archive, layout) or a name (the daemon's, a registry's), the tag taken off. */
  location: string;
  tag?: string;
}

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

/** Parses `PATH[:TAG]` for `transport`, whose PATH must be an existing directory or regular file. */
export function pathTarget(transport: string, kind: 'dir' | 'file'): (rest: string, ref: string) => ImageTarget {
  return (rest, ref) => {
    if (!rest) throw inputError(`${ref}: missing path`);
    const pt = splitPathTag(rest);
    if (!existsSync(pt.path)) throw inputError(`${ref}: ${pt.path} does not exist`);
    const st = statSync(pt.path);
    if (kind === 'dir' ? !st.isDirectory() : !st.isFile()) {
      throw inputError(`${ref}: ${pt.path} is ${describeStat(st)}, not ${kind === 'dir' ? 'an OCI layout directory' : 'a regular file'}`);
    }
    return { reference: ref, transport, location: pt.path, ...(pt.tag !== undefined ? { tag: pt.tag } : {}) };
  };
}

/** Parses `NAME` for `transport` (the daemon's or a registry's name, checked by whoever serves it). */
export function nameTarget(transport: string): (rest: string, ref: string) => ImageTarget {
  return (rest, ref) => {
    if (!rest) throw inputError(`${ref}: missing image name`);
    return { reference: ref, transport, location: rest };
  };
}

/**
 * A bare reference that is a path: an existing directory is an OCI layout, an existing file a tar
 * (a docker save, which also reads an OCI archive). Undefined when it does not look like a path.
 */
export function barePath(ref: string): ImageTarget | undefined {
  if (existsSync(ref)) {
    const st = statSync(ref);
    if (st.isDirectory()) return { reference: ref, transport: 'oci', location: ref };
    if (!st.isFile()) throw inputError(`${ref}: is ${describeStat(st)}, not an image archive or layout`);
    return { reference: ref, transport: 'docker-archive', location: ref };
  }
  if (/^[./~]/.test(ref) || ref.endsWith('.tar')) throw inputError(`${ref}: no such file or directory`);
  return undefined;
}
