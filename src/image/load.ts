import { openArchiveFile } from './archive-file.js';
import { DirArchive } from './archive.js';
import { openDockerSave } from './docker-save.js';
import { loadLayers, type OpenedImage } from './layers.js';
import { openOciLayout } from './oci-layout.js';
import { type ParsedReference, parseReference } from './reference.js';
import type { LoadedImage, LoadOptions } from './types.js';

/** Resolves a reference to an image from whichever source it names, fully walked by the one layer loop (layers.ts). */
export async function loadImage(reference: string, opts: LoadOptions = {}): Promise<LoadedImage> {
  const ref = parseReference(reference);
  return loadLayers(reference, ref.transport, await open(ref, reference, opts), opts);
}

async function open(ref: ParsedReference, reference: string, opts: LoadOptions): Promise<OpenedImage> {
  switch (ref.transport) {
    case 'docker-archive':
      return openArchiveFile(ref.path, ref.tag, openDockerSave, opts);
    case 'oci-archive':
      return openArchiveFile(ref.path, ref.tag, openOciLayout, opts);
    case 'oci':
      return openOciLayout(new DirArchive(ref.path), ref.tag, opts);
    case 'docker-daemon':
      // dockerode (and its ssh/http2 stack) is only loaded when the daemon is used.
      return (await import('./daemon.js')).openDaemon(ref.name, opts);
    case 'docker':
      return (await import('./registry.js')).openRegistry(reference, ref.name, opts);
  }
}
