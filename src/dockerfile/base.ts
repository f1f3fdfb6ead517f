/**
 * How many of an image's leading history entries came with the image a stage's FROM names
 * (docs/dockerfile.md "Matching"): known only when the same source holds that image and its whole
 * history is the image's first entries, text and creation time alike. Today the source is the Docker
 * daemon (`docker-daemon:`); for other sources nothing is known and the base image's entries stay
 * unmatched.
 */
import type { ImageConfigJson } from '../image/types.js';
import { type Dockerfile, expandGlobal } from './parse.js';

interface DaemonHistory {
  Created: number;
  CreatedBy: string;
}

/** Per root stage index, the count of leading history entries its FROM image accounts for. */
export async function baseSteps(df: Dockerfile, transport: string, config: ImageConfigJson): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (transport !== 'docker-daemon') return out;
  const history = config.history ?? [];
  const names = new Set(df.stages.map((s) => s.name?.toLowerCase()).filter(Boolean));
  let docker: import('dockerode') | undefined;
  for (const s of df.stages) {
    const name = expandGlobal(df, s.base);
    if (names.has(name.toLowerCase()) || name.includes('$')) continue; // an earlier stage, or not known
    if (name === 'scratch') {
      out.set(s.index, 0);
      continue;
    }
    try {
      docker ??= (await import('../image/daemon.js')).dockerClient();
      const entries = ((await docker.getImage(name).history()) as DaemonHistory[]).slice().reverse();
      if (entries.length <= history.length && entries.every((e, k) => sameEntry(e, history[k]!))) out.set(s.index, entries.length);
    } catch {
      // not in the daemon: no evidence
    }
  }
  return out;
}

function sameEntry(e: DaemonHistory, h: NonNullable<ImageConfigJson['history']>[number]): boolean {
  const created = h.created ? Math.floor(Date.parse(h.created) / 1000) : NaN;
  return (e.CreatedBy ?? '') === (h.created_by ?? '') && e.Created === created;
}
