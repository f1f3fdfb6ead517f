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

/** What the source tells of the base images' lengths (docs/dockerfile.md "Matching"). */
export interface BaseEvidence {
  /** Per root stage index: the length of the image its FROM names, which the history starts with. */
  known: Map<number, number>;
  /**
   * For a FROM whose image is not known (a build argument the build overrode, an image no longer
   * tagged): the lengths of the tagged images the history starts with. One is taken only where the
   * stage chain then pairs every remaining entry and instruction (match.ts).
   */
  candidates: number[];
}

type Docker = import('dockerode');

/** Per root stage index, the count of leading history entries its FROM image accounts for. */
export async function baseSteps(df: Dockerfile, transport: string, config: ImageConfigJson): Promise<BaseEvidence> {
  const out: BaseEvidence = { known: new Map(), candidates: [] };
  if (transport !== 'docker-daemon') return out;
  const history = config.history ?? [];
  const names = new Set(df.stages.map((s) => s.name?.toLowerCase()).filter(Boolean));
  let docker: Docker | undefined;
  let unknown = false;
  for (const s of df.stages) {
    const name = expandGlobal(df, s.base);
    if (names.has(name.toLowerCase())) continue; // an earlier stage
    if (name === 'scratch') {
      out.known.set(s.index, 0);
      continue;
    }
    try {
      if (name.includes('$')) throw new Error('a build argument');
      docker ??= (await import('../image/daemon.js')).dockerClient();
      const n = prefixLength(await historyOf(docker, name), history);
      if (n === undefined) throw new Error('not this image');
      out.known.set(s.index, n);
    } catch {
      unknown = true; // not in the daemon, or not what the image was built on
    }
  }
  if (unknown) out.candidates = await taggedPrefixes(history, config.created).catch(() => []);
  return out;
}

/** The image's history, oldest first (the daemon answers newest first). */
async function historyOf(docker: Docker, name: string): Promise<DaemonHistory[]> {
  return ((await docker.getImage(name).history()) as DaemonHistory[]).slice().reverse();
}

/** `entries.length` when `history` starts with exactly those entries (a strict prefix or all of it). */
function prefixLength(entries: DaemonHistory[], history: NonNullable<ImageConfigJson['history']>): number | undefined {
  return entries.length <= history.length && entries.every((e, k) => sameEntry(e, history[k]!)) ? entries.length : undefined;
}

const MAX_CANDIDATES = 200;

/** Lengths of the daemon's tagged images, older than this one, that this history strictly starts with. */
async function taggedPrefixes(history: NonNullable<ImageConfigJson['history']>, created: string | undefined): Promise<number[]> {
  const docker = (await import('../image/daemon.js')).dockerClient();
  const before = created ? Date.parse(created) / 1000 : Infinity;
  const images = (await docker.listImages())
    .filter((i) => (i.RepoTags ?? []).some((t) => t !== '<none>:<none>') && i.Created <= before)
    .sort((a, b) => b.Created - a.Created)
    .slice(0, MAX_CANDIDATES);
  const out = new Set<number>();
  for (const i of images) {
    const n = prefixLength(await historyOf(docker, i.Id).catch(() => []), history);
    if (n !== undefined && n > 0 && n < history.length) out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}

function sameEntry(e: DaemonHistory, h: NonNullable<ImageConfigJson['history']>[number]): boolean {
  const created = h.created ? Math.floor(Date.parse(h.created) / 1000) : NaN;
  return (e.CreatedBy ?? '') === (h.created_by ?? '') && e.Created === created;
}
