/**
 * The small metadata files whose bodies the walker keeps (everything else is skipped by seeking or
 * draining): Python RECORD/installed-files.txt, dpkg status and file lists (also distroless
 * status.d), conda-meta, the apk database, os-release. The walk keeps them (the capture predicate
 * the pipeline gives it); attribution reads them.
 */
import { EGG_INSTALLED_FILES, PIP_RECORD } from './python.js';
import { isKeyCandidate } from './sensitive.js';

const MAX_METADATA_FILE = 32 * 1024 * 1024;

export function wantsBody(path: string, size: number): boolean {
  if (size > MAX_METADATA_FILE) return false;
  if (isKeyCandidate(path, size)) return true; // only tested for a private-key header, never kept in reports
  const c = path.charCodeAt(path.length - 1);
  // Cheap pre-filter on the last character: D (RECORD), t (.txt, .list), n (.json), s (status, md5sums), d (installed), e (os-release), f (.conf), y (.py)
  if (c !== 68 && c !== 116 && c !== 110 && c !== 115 && c !== 100 && c !== 101 && c !== 102 && c !== 121) return false;
  if (c === 121) return size <= 64 * 1024 && (path.endsWith('/torch/version.py') || path.endsWith('/tensorflow/python/platform/build_info.py'));
  if (c === 102) return path === 'etc/ld.so.conf' || (path.startsWith('etc/ld.so.conf.d/') && path.endsWith('.conf'));
  if (path.endsWith(PIP_RECORD)) return true;
  if (path.endsWith(EGG_INSTALLED_FILES)) return true;
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
