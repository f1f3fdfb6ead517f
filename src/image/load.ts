import { DirArchive, TarFileArchive } from './archive.js';
import { loadDockerArchive, loadOciLayout } from './formats.js';
import { parseReference } from './reference.js';
import type { LoadedImage, LoadOptions } from './types.js';

/** Resolves a reference to an image from whichever source it names, fully walked. */
export async function loadImage(reference: string, opts: LoadOptions = {}): Promise<LoadedImage> {
  const ref = parseReference(reference);
  switch (ref.transport) {
    case 'docker-archive':
      return loadDockerArchive(new TarFileArchive(ref.path), reference, 'docker-archive', ref.tag, opts);
    case 'oci-archive':
      return loadOciLayout(new TarFileArchive(ref.path), reference, 'oci-archive', ref.tag, opts);
    case 'oci':
      return loadOciLayout(new DirArchive(ref.path), reference, 'oci', ref.tag, opts);
    case 'docker-daemon': {
      // dockerode (and its ssh/http2 stack) is only loaded when the daemon is used.
      const { loadFromDaemon } = await import('./daemon.js');
      return loadFromDaemon(reference, ref.name, opts);
    }
    case 'docker': {
      const { loadFromRegistry } = await import('./registry.js');
      return loadFromRegistry(reference, ref.name, opts);
    }
  }
}
