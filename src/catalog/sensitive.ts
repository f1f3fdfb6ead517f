/**
 * Files that should never ship in an image, found in ANY layer (a file deleted later is still in the
 * earlier layer's tar, extractable by anyone who can pull). Content is never kept or printed: a key
 * file's body is only tested for a PEM private-key header.
 *
 * Shared by the walk (which key files' bodies to keep, catalog/metadata.ts) and the merge (which
 * files to record, fs/filesystem.ts); the findings only read the records.
 */
import type { SensitiveCategory } from '../report/types.js';

const SECRET_NAMES = new Set(['.env', '.netrc', '.npmrc', '.pypirc', '.git-credentials', '.htpasswd', 'credentials', 'application_default_credentials.json']);
const KEY_NAMES = /^(id_rsa|id_dsa|id_ecdsa|id_ed25519)$|\.(pem|key|p12|pfx)$/;
const SECRET_PATHS = /(^|\/)(\.aws\/credentials|\.docker\/config\.json|\.kube\/config|\.config\/gcloud\/[^/]+\.json|\.ssh\/[^/]+)$/;
const EXPERIMENT_DIR = /(^|\/)(wandb|mlruns|lightning_logs|tb_logs)\/|(^|\/)runs\/[^/]+\/events\.out\.tfevents/;
const DATA_EXT = /\.(csv|tsv|parquet|feather|arrow|tfrecord|jsonl|h5ad)$/;
const SYSTEM = /^(usr|lib|lib64|bin|sbin|etc\/ssl|opt\/conda\/(pkgs|lib))\/|(site|dist)-packages\//;

export function sensitiveCategory(path: string, size: number): SensitiveCategory | undefined {
  const slash = path.lastIndexOf('/');
  const base = path.slice(slash + 1);
  const hidden = path.includes('/.') || path.charCodeAt(0) === 46;
  if (hidden && (path.startsWith('.git/') || path.includes('/.git/'))) return SYSTEM.test(path) ? undefined : 'vcs';
  const dot = base.lastIndexOf('.');
  const ext = dot < 0 ? '' : base.slice(dot + 1);
  if ((base.startsWith('id_') || ext === 'pem' || ext === 'key' || ext === 'p12' || ext === 'pfx') && KEY_NAMES.test(base)) {
    return SYSTEM.test(path) ? undefined : 'private-key';
  }
  if (SECRET_NAMES.has(base) || base.startsWith('.env.') || (hidden && SECRET_PATHS.test(path))) {
    if (base === 'credentials' && !path.includes('.aws/')) return undefined;
    return SYSTEM.test(path) && !path.startsWith('usr/local/') ? undefined : 'secret';
  }
  const notebook = ext === 'ipynb';
  const data = size >= 1024 * 1024 && DATA_EXT.test(base);
  const experiment = (path.includes('wandb/') || path.includes('runs/') || path.includes('_logs/')) && EXPERIMENT_DIR.test(path);
  if (!notebook && !data && !experiment) return undefined;
  if (SYSTEM.test(path)) return undefined;
  return notebook ? 'notebook' : experiment ? 'experiment' : 'data';
}

/** Key-like files small enough to test for a private-key header. */
export function isKeyCandidate(path: string, size: number): boolean {
  if (size > 64 * 1024) return false;
  // Called for every tar entry: the last character rules out almost everything (…m .pem, …y .key,
  // …2 .p12, …x .pfx, …a id_rsa/id_dsa/id_ecdsa, …9 id_ed25519).
  const c = path.charCodeAt(path.length - 1);
  if (c !== 109 && c !== 121 && c !== 50 && c !== 120 && c !== 97 && c !== 57) return false;
  // …y is every .py file: the exact endings rule those out before any slicing.
  if (c === 121 ? !path.endsWith('.key') : c === 97 ? !path.endsWith('id_rsa') && !path.endsWith('id_dsa') && !path.endsWith('id_ecdsa') : false) return false;
  const base = path.slice(path.lastIndexOf('/') + 1);
  return KEY_NAMES.test(base) && !SYSTEM.test(path);
}

export function looksLikePrivateKey(body: Buffer | undefined): boolean {
  return !!body && /-----BEGIN ([A-Z0-9 ]+ )?PRIVATE KEY-----/.test(body.toString('latin1'));
}

/** The directory a finding names for a path inside a .git or experiment dir (one entry per dir). */
export function sensitiveRoot(path: string, c: SensitiveCategory): string {
  if (c === 'vcs') {
    const i = path.startsWith('.git/') ? 0 : path.indexOf('/.git/') + 1;
    return path.slice(0, i + 4);
  }
  if (c === 'experiment') {
    const m = /^(.*?(?:^|\/)(?:wandb|mlruns|lightning_logs|tb_logs|runs))\//.exec(path);
    if (m) return m[1]!;
  }
  return path;
}
