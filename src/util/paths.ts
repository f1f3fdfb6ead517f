import { inputError } from '../errors.js';

/**
 * Normalizes a tar entry name to a root-relative path without leading `./` or `/`, without repeated
 * or trailing slashes ("" is the root). `.` components are dropped; `..` is resolved and a name that
 * climbs above the root is rejected, as the Docker daemon does when it applies such a layer.
 */
export function normalizeEntryPath(name: string): string {
  // Fast path: the common case has no ./, //, .. or leading/trailing slash.
  if (
    name.length > 0 &&
    name.charCodeAt(0) !== 47 /* / */ &&
    name.charCodeAt(0) !== 46 /* . */ &&
    name.charCodeAt(name.length - 1) !== 47 &&
    !name.includes('//') &&
    !name.includes('/.')
  ) {
    return name;
  }
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw inputError(`entry '${name}' escapes the image root`);
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join('/');
}

/** Joins a root-relative base dir and a relative path, resolving `.`/`..` (clamped at the root). */
export function joinRel(base: string, rel: string): string {
  if (!rel.startsWith('/') && !rel.startsWith('.') && !rel.includes('/.') && !rel.includes('//') && !rel.endsWith('/') && rel !== '') {
    return base === '' ? rel : `${base}/${rel}`;
  }
  const out = rel.startsWith('/') ? [] : base.split('/').filter((p) => p !== '');
  for (const part of rel.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join('/');
}

export function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

export function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}
