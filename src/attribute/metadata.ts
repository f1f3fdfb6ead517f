/**
 * The small metadata files whose bodies the walker keeps (everything else is skipped by seeking or
 * draining): Python RECORD/installed-files.txt, dpkg status and file lists (also distroless
 * status.d), conda-meta, the apk database, os-release.
 */
import { isKeyCandidate } from '../findings/sensitive.js';

export const MAX_METADATA_FILE = 32 * 1024 * 1024;

export function wantsBody(path: string, size: number): boolean {
  if (size > MAX_METADATA_FILE) return false;
  if (isKeyCandidate(path, size)) return true; // only tested for a private-key header, never kept in reports
  const c = path.charCodeAt(path.length - 1);
  // Cheap pre-filter on the last character: D (RECORD), t (.txt, .list), n (.json), s (status, md5sums), d (installed), e (os-release)
  if (c !== 68 && c !== 116 && c !== 110 && c !== 115 && c !== 100 && c !== 101) return false;
  if (path.endsWith('.dist-info/RECORD')) return true;
  if (path.endsWith('.egg-info/installed-files.txt')) return true;
  if (path.startsWith('var/lib/dpkg/')) {
    if (path === 'var/lib/dpkg/status') return true;
    if (path.startsWith('var/lib/dpkg/status.d/')) return true;
    if (path.startsWith('var/lib/dpkg/info/') && path.endsWith('.list')) return true;
    return false;
  }
  if (path.endsWith('.json') && (path.startsWith('conda-meta/') || path.includes('/conda-meta/'))) return true;
  if (path === 'lib/apk/db/installed') return true;
  if (path === 'etc/os-release' || path === 'usr/lib/os-release') return true;
  return false;
}
