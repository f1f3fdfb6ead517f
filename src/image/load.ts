import { loadLayers } from './layers.js';
import { parseReference, transportNamed } from './transports.js';
import type { LoadedImage, LoadOptions } from './types.js';

/**
 * Resolves a reference to an image from whichever transport it names (transports.ts), fully walked
 * by the one layer loop (layers.ts).
 */
export async function loadImage(reference: string, opts: LoadOptions = {}): Promise<LoadedImage> {
  const target = parseReference(reference);
  const transport = transportNamed(target.transport)!;
  const opened = await transport.open!(target, opts);
  return loadLayers(reference, transport.name, opened, opts);
}
