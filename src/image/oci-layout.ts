/**
 * The OCI image layout (a directory, or the same files in a tar): index.json → (nested) index →
 * manifest → config + layers, every blob under `blobs/<alg>/<hex>`.
 */
import { inputError } from '../errors.js';
import type { ArchiveFiles } from './archive.js';
import { isDigest, verifyBytes } from './digest.js';
import { type OpenedImage, walkOpts } from './layers.js';
import { descriptorList, type IndexJson, type ManifestStore, normalizeTag, openManifest, parseJson, selectImageManifest } from './manifest.js';
import type { Descriptor, LoadOptions } from './types.js';

function blobPath(digest: string): string {
  const [alg, hex] = digest.split(':');
  return `blobs/${alg}/${hex}`;
}

function refNames(d: Descriptor): string[] {
  const a = d.annotations ?? {};
  return [a['org.opencontainers.image.ref.name'], a['io.containerd.image.name']].filter((x): x is string => !!x);
}

function tagMatches(d: Descriptor, tag: string): boolean {
  return refNames(d).some((n) => n === tag || normalizeTag(n) === normalizeTag(tag) || n.endsWith(`:${tag}`));
}

/** The layout's files as a manifest store: reads checked against their descriptors. */
function layoutStore(files: ArchiveFiles): ManifestStore {
  const where = files.describe;
  const read = async (d: Descriptor, what: string): Promise<Buffer> => {
    if (!isDigest(d.digest)) throw inputError(`${where}: ${what}: invalid digest '${d.digest}'`);
    const buf = files.readSmall(blobPath(d.digest));
    if (!buf) throw inputError(`${where}: missing blob ${d.digest} (${what})`);
    verifyBytes(`${where}: ${what} ${d.digest}`, buf, d.digest, d.size);
    return buf;
  };
  return {
    where,
    chooseHint: 'name one as oci:DIR:TAG',
    readManifest: read,
    readBlob: read,
    streamsLayer: (d, o) => files.streamsLayer?.(blobPath(d.digest), !!o.verifyLayers) ?? true,
    identity: (d) => files.identity?.(blobPath(d.digest)),
    walkLayer: async (d, _i, o, diffId) => {
      const name = blobPath(d.digest);
      if (!files.has(name)) {
        const foreign = d.urls?.length ? ' (a foreign layer; its content lives at its urls)' : '';
        throw inputError(`missing blob ${d.digest}${foreign}`);
      }
      const check = { digest: d.digest, size: d.size, verifyUncompressed: o.verifyLayers, ...(o.verifyLayers && diffId ? { diffId } : {}) };
      return files.walkLayer(name, check, walkOpts(o));
    },
  };
}

/** An OCI image layout (directory or tar), the image named by `tag` or the only one it holds. */
export async function openOciLayout(files: ArchiveFiles, tag: string | undefined, opts: LoadOptions): Promise<OpenedImage> {
  const where = files.describe;
  const indexBuf = files.readSmall('index.json');
  if (!indexBuf) throw inputError(`${where}: not an OCI image layout: no index.json`);
  if (!files.has('oci-layout')) throw inputError(`${where}: not an OCI image layout: no oci-layout file`);
  const index = parseJson<IndexJson>(`${where}: index.json`, indexBuf, 'index');
  // moby/moby#47210: `"manifests": null` when saving img@digest.
  const all = descriptorList(index.manifests);
  let top = all;
  if (tag) {
    top = top.filter((d) => tagMatches(d, tag));
    if (top.length === 0) {
      const names = all.flatMap(refNames).join(', ') || 'none';
      throw inputError(`${where}: no image tagged '${tag}' in the layout (tags: ${names})`);
    }
  }
  const store = layoutStore(files);
  if (top.length === 0) throw inputError(`${where}: index.json lists no image manifests`);
  const chosen = await selectImageManifest(store, top, opts);
  return openManifest(store, chosen, refNames(chosen).concat(top.length === 1 && top[0] !== chosen ? refNames(top[0]!) : []), opts);
}
