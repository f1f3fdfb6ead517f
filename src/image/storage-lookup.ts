/**
 * Which image of a containers/storage store a name gives (docs/formats.md "Containers storage"), the
 * way Podman looks it up: an image ID, a full name as the store records it (`localhost/app:1`,
 * `docker.io/library/debian:bookworm`), a unique ID prefix, then a short name (`app:1`, `debian`)
 * that ends a recorded name's repository at a `/`, with its tag (`latest` when none) or digest.
 */
import { inputError } from '../errors.js';

/** One image of `overlay-images/images.json`, the fields imgscope reads. */
export interface StoredImage {
  id: string;
  digest?: string;
  digests?: string[];
  names?: string[];
  layer?: string;
  'big-data-names'?: string[];
  'big-data-digests'?: Record<string, string>;
}

/** The image a name gives and the name it matched (undefined when given by ID). */
export interface FoundImage {
  image: StoredImage;
  name?: string;
}

/** Whether the first component of a name is a registry host (a `.` or `:` in it, or `localhost`), as docker references tell. */
function hasDomain(name: string): boolean {
  const slash = name.indexOf('/');
  if (slash < 0) return false;
  const first = name.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost';
}

/** A name split into its repository and its tag or digest (a tag defaults to `latest`). */
function splitName(name: string): { repo: string; tag?: string; digest?: string } {
  const at = name.indexOf('@');
  if (at >= 0) return { repo: name.slice(0, at), digest: name.slice(at + 1) };
  const colon = name.indexOf(':', name.lastIndexOf('/') + 1);
  return colon >= 0 ? { repo: name.slice(0, colon), tag: name.slice(colon + 1) } : { repo: name, tag: 'latest' };
}

/** Whether an image has this digest (its manifest's, or one of them). */
const hasDigest = (img: StoredImage, digest: string): boolean => img.digest === digest || (img.digests ?? []).includes(digest);

/** The images whose recorded names the wanted name gives: repositories equal (qualified) or ending in `/<repo>` (short), tags or digests equal. */
function byName(images: StoredImage[], want: string): FoundImage[] {
  const w = splitName(want);
  const qualified = hasDomain(w.repo);
  const out: FoundImage[] = [];
  for (const image of images) {
    for (const n of image.names ?? []) {
      const h = splitName(n);
      const repoOk = qualified ? h.repo === w.repo : h.repo === w.repo || h.repo.endsWith(`/${w.repo}`);
      if (!repoOk) continue;
      if (w.digest ? hasDigest(image, w.digest) : h.tag === w.tag) {
        out.push({ image, name: w.digest ? `${h.repo}@${w.digest}` : n });
        break;
      }
    }
  }
  return out;
}

/**
 * The image `name` gives in a store's images, in Podman's order: a full ID (`sha256:` or not), a
 * recorded name exactly, a unique ID prefix, then a name's repository and tag (two images that a
 * short name gives are an error naming both). `where` names the store in errors.
 */
export function findImage(images: StoredImage[], name: string, where: string): FoundImage {
  const id = name.replace(/^sha256:/, '').replace(/^@/, '');
  if (/^[a-f0-9]{64}$/.test(id)) {
    const image = images.find((i) => i.id === id);
    if (!image) throw inputError(`${where}: no image with ID ${id}`);
    return { image };
  }
  const exact = images.find((i) => (i.names ?? []).includes(name));
  if (exact) return { image: exact, name };
  if (/^[a-f0-9]+$/.test(name)) {
    const prefixed = images.filter((i) => i.id.startsWith(name));
    if (prefixed.length > 1) throw inputError(`${where}: the ID prefix ${name} is ambiguous (${prefixed.length} images)`);
    if (prefixed.length === 1) return { image: prefixed[0]! };
  }
  const found = byName(images, name);
  if (found.length > 1) throw inputError(`${where}: '${name}' names ${found.length} images (${found.map((f) => f.name).join(', ')}): give the full name`);
  if (found.length === 0) throw inputError(`${where}: no image named '${name}' in the store`);
  return found[0]!;
}
