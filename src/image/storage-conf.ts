/**
 * Where containers/storage (Podman, Buildah, CRI-O) keeps images (docs/formats.md "Containers
 * storage"): the `[storage]` table of storage.conf, found as containers/storage finds it, and the
 * `[driver@graphroot+runroot:options]` store part of a `containers-storage:` reference (skopeo's
 * syntax). Only the keys imgscope needs are read from the TOML file, by a reader of just the forms
 * those keys take (basic and literal strings); a value of another type is refused, naming the key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { envError, inputError } from '../errors.js';
import type { ImageTarget } from './reference.js';

/** The store a reference reads: its driver (when known), its root, and where that was decided. */
export interface StorageLocation {
  driver?: string;
  graphroot: string;
  /** The storage.conf that gave it, or the reference, or 'default'. */
  from: string;
}

/** A `containers-storage:` reference split into its store part and its image part. */
export interface StorageRef {
  driver?: string;
  graphroot?: string;
  image: string;
}

/** The keys of `[storage]` imgscope reads. */
const KEYS = new Set(['driver', 'graphroot', 'runroot', 'rootless_storage_path']);

const ESCAPES: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', '\\': '\\' };

/** A TOML basic ("…", with escapes) or literal ('…') string at the start of `s`, and what follows it; undefined for any other value. */
function tomlString(s: string): { value: string; rest: string } | undefined {
  if (s.startsWith("'") && !s.startsWith("'''")) {
    const end = s.indexOf("'", 1);
    return end < 0 ? undefined : { value: s.slice(1, end), rest: s.slice(end + 1) };
  }
  if (!s.startsWith('"') || s.startsWith('"""')) return undefined;
  let out = '';
  for (let i = 1; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') return { value: out, rest: s.slice(i + 1) };
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = s[++i] ?? '';
    if (ESCAPES[e] !== undefined) out += ESCAPES[e];
    else if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      const hex = s.slice(i + 1, i + 1 + n);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) return undefined;
      out += String.fromCodePoint(Number.parseInt(hex, 16));
      i += n;
    } else return undefined;
  }
  return undefined;
}

/** A table header line (`[name]`, `[[name]]`), its name unquoted; undefined for any other line. */
function tableHeader(line: string): string | undefined {
  const m = /^\[\[?\s*([^\]]*?)\s*\]\]?\s*(#.*)?$/.exec(line);
  return m ? m[1]!.replace(/\s*\.\s*/g, '.').replace(/"/g, '') : undefined;
}

/**
 * The string keys of the `[storage]` table that imgscope reads. Every other table and key is
 * skipped, a multi-line array included; a key imgscope reads whose value is not a one-line string
 * is an error naming the file, line and key.
 */
export function storageTable(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  let table = '';
  let depth = 0; // open brackets of a multi-line array being skipped
  text.split(/\r?\n/).forEach((raw, n) => {
    const line = raw.trim();
    if (depth > 0) {
      depth += (line.match(/\[/g) ?? []).length - (line.match(/\]/g) ?? []).length;
      return;
    }
    if (!line || line.startsWith('#')) return;
    const header = tableHeader(line);
    if (header !== undefined) {
      table = header;
      return;
    }
    const m = /^("?)([A-Za-z0-9_.-]+)\1\s*=\s*(.*)$/.exec(line);
    if (!m) return;
    const [, , key, value] = m as unknown as [string, string, string, string];
    if (value.startsWith('[')) depth = Math.max(0, (value.match(/\[/g) ?? []).length - (value.match(/\]/g) ?? []).length);
    if (table !== 'storage' || !KEYS.has(key)) return;
    const s = tomlString(value);
    if (!s || !/^\s*(#.*)?$/.test(s.rest)) throw inputError(`${file}:${n + 1}: [storage] ${key} is not a one-line TOML string`);
    out[key] = s.value;
  });
  return out;
}

const rootless = (): boolean => (process.getuid?.() ?? 0) !== 0;

/** The storage.conf containers/storage reads, as it picks it: $CONTAINERS_STORAGE_CONF, the user's (rootless), /etc, /usr/share. */
export function storageConfFile(): string | undefined {
  const env = process.env.CONTAINERS_STORAGE_CONF;
  if (env) {
    if (!existsSync(env)) throw envError(`CONTAINERS_STORAGE_CONF=${env}: no such file`);
    return env;
  }
  const candidates = ['/etc/containers/storage.conf', '/usr/share/containers/storage.conf'];
  if (rootless()) candidates.unshift(join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'containers', 'storage.conf'));
  return candidates.find((f) => existsSync(f));
}

/** `$HOME`, `$UID` and `$USER` in a rootless_storage_path, as containers/storage expands them. */
function expandRootless(p: string): string {
  const vars: Record<string, string> = { HOME: homedir(), UID: String(process.getuid?.() ?? 0), USER: process.env.USER ?? '' };
  return p.replace(/\$\{?(HOME|UID|USER)\}?/g, (_, v: string) => vars[v]!);
}

/**
 * The store to read when a reference names none: storage.conf's graphroot (root) or
 * rootless_storage_path (rootless, from a system file), else the default root; the driver from
 * $STORAGE_DRIVER or storage.conf.
 */
export function defaultStorage(): StorageLocation {
  const file = storageConfFile();
  let t: Record<string, string> = {};
  if (file) {
    try {
      t = storageTable(readFileSync(file, 'utf8'), file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code) throw envError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code})`, err);
      throw err;
    }
  }
  const userFile = rootless() && file !== undefined && !file.startsWith('/etc/') && !file.startsWith('/usr/share/');
  let graphroot = rootless() && !userFile ? (t.rootless_storage_path ? expandRootless(t.rootless_storage_path) : undefined) : t.graphroot;
  graphroot ||= rootless() ? join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'containers', 'storage') : '/var/lib/containers/storage';
  const driver = process.env.STORAGE_DRIVER || t.driver || undefined;
  return { graphroot, from: file ?? 'default', ...(driver ? { driver } : {}) };
}

/**
 * Splits `[driver@graphroot+runroot:options]IMAGE` the way skopeo does: the driver before `@`, the
 * options after `:`, the run root after `+`, the graph root (an absolute path) left. The run root
 * (locks, mounts) and the options (mount options) do not change what is read and are not used.
 */
export function parseStorageRef(rest: string, ref: string): StorageRef {
  if (!rest.startsWith('[')) return { image: rest };
  const close = rest.indexOf(']');
  if (close < 0) throw inputError(`${ref}: the store part has no closing ']'`);
  let spec = rest.slice(1, close);
  const image = rest.slice(close + 1);
  let driver: string | undefined;
  const at = spec.indexOf('@');
  if (at >= 0) {
    driver = spec.slice(0, at);
    spec = spec.slice(at + 1);
  }
  const colon = spec.indexOf(':');
  if (colon >= 0) spec = spec.slice(0, colon);
  const plus = spec.indexOf('+');
  if (plus >= 0) spec = spec.slice(0, plus);
  if (!isAbsolute(spec)) throw inputError(`${ref}: the store's graph root '${spec}' is not an absolute path`);
  if (!image) throw inputError(`${ref}: missing image name`);
  return { graphroot: spec, image, ...(driver ? { driver } : {}) };
}

/** The transports table's parse of `containers-storage:` (transports.ts): the store part checked now, the image looked up when opened. */
export function storageTarget(rest: string, ref: string): ImageTarget {
  const r = parseStorageRef(rest, ref);
  if (!r.image) throw inputError(`${ref}: missing image name`);
  return { reference: ref, transport: 'containers-storage', location: rest };
}
