/**
 * `coldstart --cold`: make the daemon a node that never saw the image, pull it, and give the user back
 * every reference they had (docs/coldstart.md "A cold pull"). Before anything is removed, imgscope
 * checks that removing can be undone: the registry must serve the very image the daemon holds (same
 * image ID), and no container or child image may pin it. Layers that other images on the daemon also
 * use cannot be evicted without touching those images: they are listed as shared, never passed off
 * as downloaded.
 */
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import { envError, ImgscopeError, inputError } from '../errors.js';
import { daemonError, pullRecorded } from '../image/daemon.js';
import { parseRegistryRef, resolveRegistryImage, type ResolvedImage } from '../image/registry.js';
import type { Platform } from '../image/types.js';
import type { ColdRecord, SharedLayer } from '../report/types.js';
import { onCleanup } from '../util/cleanup.js';
import { escapeText } from '../util/escape.js';

/** ChainID(n) = sha256(ChainID(n-1) + " " + DiffID(n)), ChainID(1) = DiffID(1) (docs/formats.md "Chain IDs"). */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : `sha256:${createHash('sha256').update(`${prev} ${d}`).digest('hex')}`);
  }
  return out;
}

/** `repo:tag` → {repo, tag}; the colon after the last slash separates the tag (a registry port does not). */
export function splitTag(ref: string): { repo: string; tag: string } | undefined {
  if (ref.includes('@')) return undefined;
  const colon = ref.lastIndexOf(':');
  if (colon < 0 || colon < ref.lastIndexOf('/')) return { repo: ref, tag: 'latest' };
  return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}

const short = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

export interface LocalImage {
  id: string;
  tags: string[];
  digests: string[];
  diffIds: string[];
  platform: Platform;
}

/** The daemon's images with their chain IDs, except `except`. */
async function otherImagesByChain(docker: Docker, except: string | null): Promise<Map<string, string[]>> {
  let list: Docker.ImageInfo[];
  try {
    list = await docker.listImages({ all: true });
  } catch (err) {
    throw daemonError('listing images', err);
  }
  const byChain = new Map<string, string[]>();
  const todo = list.filter((i) => i.Id !== except);
  const worker = async (): Promise<void> => {
    for (let i = todo.shift(); i; i = todo.shift()) {
      const info = await docker.getImage(i.Id).inspect().catch(() => undefined);
      if (!info) continue; // removed meanwhile
      const tag = (info.RepoTags ?? []).find((t) => t !== '<none>:<none>');
      // tagged images first: they are the ones a reader knows
      const label = tag ?? `~<untagged ${short(info.Id)}>`;
      for (const c of chainIds(info.RootFS?.Layers ?? [])) {
        const names = byChain.get(c);
        if (names) names.push(label);
        else byChain.set(c, [label]);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return byChain;
}

/**
 * The image as the engine inspects it. Podman's RepoDigests are no references of their own: it lists
 * NAME@DIGEST for every name of the image and every manifest digest it holds (a local build's too),
 * so none can be removed or restored alone: with `podman`, only the tags count.
 */
async function inspectLocal(docker: Docker, name: string, podman = false): Promise<LocalImage | null> {
  try {
    const i = await docker.getImage(name).inspect();
    return {
      id: i.Id,
      tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
      digests: podman ? [] : (i.RepoDigests ?? []).filter((d) => !d.startsWith('<none>@')),
      diffIds: i.RootFS?.Layers ?? [],
      platform: { os: i.Os, architecture: i.Architecture, ...((i as { Variant?: string }).Variant ? { variant: (i as { Variant?: string }).Variant! } : {}) },
    };
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw daemonError(`inspecting ${name}`, err);
  }
}

/**
 * One image to be pulled cold, possibly several times. `prepare` checks everything and removes
 * nothing; `evict` removes every reference (and registers the restore, which also runs on errors
 * and Ctrl-C); `restore` gives them back after the pull.
 */
export class ColdPull {
  private sharedCache: SharedLayer[] | undefined;
  private deleted = 0;
  private readonly notRestored = new Map<string, string>();
  private unregister: (() => void) | undefined;
  /** The name the current pull goes through (a relay's address with --bandwidth). */
  pulledAs: string | undefined;
  /** Stops the pull in flight (closing its stream makes the daemon cancel it), before an interrupted restore pulls again. */
  stopPull: (() => Promise<void>) | undefined;

  private constructor(
    private readonly docker: Docker,
    /** The reference as the user gave it (what is pulled, unless a relay stands in). */
    readonly name: string,
    readonly before: LocalImage | null,
    readonly registry: ResolvedImage,
    /** Podman keeps names fully qualified (`docker.io/library/x:tag`) and names the restore commands. */
    private readonly podman: boolean,
  ) {}

  static async prepare(docker: Docker, name: string, opts: { platform?: Platform; podman?: boolean } = {}): Promise<ColdPull> {
    let before = await inspectLocal(docker, name, opts.podman);
    const platform = opts.platform ?? before?.platform;
    let registry: ResolvedImage;
    try {
      registry = await resolveRegistryImage(name, platform ? { platform } : {});
    } catch (err) {
      const e = err instanceof ImgscopeError ? err : envError(String((err as Error).message ?? err), err);
      throw new ImgscopeError(`${name}: --cold: cannot read what the registry serves, so the image is left in place (${e.message})`, e.exitCode, { cause: err });
    }
    // Not under this name, but the daemon may hold the same image under others (its ID is the config digest).
    before ??= await inspectLocal(docker, registry.configDigest, opts.podman);
    if (before) {
      const served = [registry.configDigest, registry.manifestDigest, registry.topDigest];
      if (!served.includes(before.id)) {
        throw inputError(
          `${name}: --cold would replace your local image: the registry serves a different one (config ${short(registry.configDigest)}, local image ${short(before.id)}); push the local image first, or coldstart another tag`,
        );
      }
      let users: Docker.ContainerInfo[];
      try {
        users = (await docker.listContainers({ all: true, filters: { ancestor: [before.id] } } as Docker.ContainerListOptions)).filter((c) => c.ImageID === before.id);
      } catch (err) {
        throw daemonError('listing containers', err);
      }
      if (users.length > 0) {
        const names = users.slice(0, 3).map((c) => (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, ''));
        throw inputError(`${name}: --cold cannot remove the image: ${users.length} container(s) use it (${names.join(', ')}${users.length > 3 ? ', …' : ''}); remove them, or measure without --cold`);
      }
      const children = (await docker.listImages({ all: true }).catch((err: unknown) => Promise.reject(daemonError('listing images', err)))).filter((i) => i.ParentId === before.id);
      if (children.length > 0) {
        const label = (i: Docker.ImageInfo): string => (i.RepoTags ?? []).find((t) => t !== '<none>:<none>') ?? `<untagged ${short(i.Id)}>`;
        throw inputError(`${name}: --cold cannot remove the image: it is the parent of ${children.length} other image(s) (${children.slice(0, 3).map(label).join(', ')}); remove them, or measure without --cold`);
      }
    }
    return new ColdPull(docker, name, before, registry, !!opts.podman);
  }

  /** The image's layers, bottom first: the daemon's record when it had the image, else the registry's config. */
  private get diffIds(): string[] {
    return this.before?.diffIds.length ? this.before.diffIds : this.registry.diffIds;
  }

  /**
   * Removes the image under every reference it has, so that the daemon keeps only what other images
   * share; returns the layers those images still hold.
   */
  async evict(): Promise<SharedLayer[]> {
    const present = await inspectLocal(this.docker, this.name, this.podman);
    const id = present?.id ?? this.before?.id;
    this.unregister ??= onCleanup(() => this.restore({ interrupted: true }));
    if (id) {
      let gone: Array<{ Deleted?: string }>;
      try {
        gone = (await this.docker.getImage(id).remove({ force: true })) as Array<{ Deleted?: string }>;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404) throw daemonError(`removing ${this.name} (${short(id)}) for a cold pull`, err);
        gone = [];
      }
      this.deleted = Math.max(this.deleted, gone.filter((g) => g.Deleted).length);
      if (await inspectLocal(this.docker, id, this.podman)) throw envError(`${this.name}: the daemon kept image ${short(id)} after removing it; a cold pull is impossible here`);
    }
    if (!this.sharedCache) {
      const others = await otherImagesByChain(this.docker, id ?? null);
      this.sharedCache = chainIds(this.diffIds)
        .map((c, index) => ({ index, diffId: this.diffIds[index]!, images: [...new Set(others.get(c) ?? [])].sort().map((n) => n.replace(/^~/, '')) }))
        .filter((s) => s.images.length > 0);
    }
    return this.sharedCache;
  }

  /**
   * After the pull: the pulled image must be the one removed; every removed tag is put back, the
   * user's own name is tagged, a relay's name is dropped, digest references are fetched back from
   * their registries (only their manifests: the layers are there). With `interrupted`, the image is
   * pulled back first if the pull did not finish.
   */
  async restore(opts: { interrupted?: boolean } = {}): Promise<void> {
    const docker = this.docker;
    const pulledAs = this.pulledAs;
    const before = this.before;
    let manual: string[] = [];
    const onAgain = (): void => {
      process.stderr.write(`imgscope: ${escapeText(`stopped while restoring ${this.name}; to restore it by hand: ${manual.join(' && ')}`)}\n`);
      process.exit(130);
    };
    if (opts.interrupted) {
      process.on('SIGINT', onAgain);
      process.on('SIGTERM', onAgain);
    }
    try {
      const cli = this.podman ? 'podman' : 'docker';
      if (before) manual = [`${cli} pull ${this.name}`, ...before.tags.filter((t) => t !== this.name).map((t) => `${cli} tag ${this.name} ${t}`)];
      if (opts.interrupted) await this.stopPull?.().catch(() => undefined);
      let now = await inspectLocal(docker, pulledAs ?? this.name, this.podman);
      if (!now && before && opts.interrupted) {
        process.stderr.write(`imgscope: pulling ${escapeText(this.name)} back to restore its tags (Ctrl-C again to stop and restore by hand)\n`);
        await pullRecorded(docker, this.name, () => process.hrtime.bigint()).catch(() => undefined);
        now = await inspectLocal(docker, this.name, this.podman);
      }
      if (!now) {
        if (before) for (const r of [...before.tags, ...before.digests]) this.notRestored.set(r, `the image is not on the daemon; ${manual.join(' && ')}`);
        return;
      }
      if (before && now.id !== before.id) {
        for (const r of [...before.tags, ...before.digests]) this.notRestored.set(r, `the registry served ${short(now.id)}, not the removed ${short(before.id)}`);
        throw envError(`${this.name}: the registry served a different image (${short(now.id)}) than the one removed (${short(before.id)}) during the cold pull; your tags were not moved to it`);
      }
      const wantTags = new Set([...(before?.tags ?? [])]);
      if (splitTag(this.name) && !this.name.includes('@')) wantTags.add(this.podman ? qualifiedName(this.name) : normalizeName(this.name));
      for (const t of wantTags) {
        if (now.tags.includes(t)) continue;
        const s = splitTag(t)!;
        try {
          await docker.getImage(now.id).tag({ repo: s.repo, tag: s.tag });
        } catch (err) {
          this.notRestored.set(t, daemonError(`tagging ${t}`, err).message);
        }
      }
      if (pulledAs && pulledAs !== this.name) {
        const after = await inspectLocal(docker, now.id, this.podman);
        const relayRepo = pulledAs.replace(/[:@][^/]*$/, '');
        for (const r of [...(after?.tags ?? []), ...(after?.digests ?? [])]) {
          if (r.startsWith(`${relayRepo}:`) || r.startsWith(`${relayRepo}@`)) {
            await docker.getImage(r).remove({ noprune: true }).catch(() => undefined);
          }
        }
      }
      const after = await inspectLocal(docker, now.id, this.podman);
      for (const d of before?.digests ?? []) {
        if (after?.digests.includes(d)) continue;
        try {
          await pullRecorded(docker, d, () => process.hrtime.bigint());
        } catch (err) {
          this.notRestored.set(d, `${(err as Error).message}; ${this.podman ? 'podman' : 'docker'} pull ${d} restores it`);
        }
      }
    } finally {
      if (opts.interrupted) {
        process.off('SIGINT', onAgain);
        process.off('SIGTERM', onAgain);
      }
    }
  }

  /** Restores, then forgets the cleanup (the references are back). */
  async finish(): Promise<void> {
    await this.restore();
    this.pulledAs = undefined;
    this.unregister?.();
    this.unregister = undefined;
  }

  record(): ColdRecord {
    return {
      imageIdBefore: this.before?.id ?? null,
      removedReferences: this.before ? [...this.before.tags, ...this.before.digests] : [],
      deletedImages: this.deleted,
      sharedLayers: this.sharedCache ?? [],
      notRestored: [...this.notRestored].map(([reference, why]) => ({ reference, why })),
    };
  }
}

/** docker's familiar name → the form `RepoTags` uses (`ubuntu` → `ubuntu:latest`, docker.io/library/ dropped). */
export function normalizeName(name: string): string {
  let n = name.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '').replace(/^index\.docker\.io\/library\//, '');
  const s = splitTag(n);
  if (s && !n.slice(n.lastIndexOf('/') + 1).includes(':')) n = `${n}:latest`;
  return n;
}

/** Podman's form of a name: every part spelled out (`ubuntu` → `docker.io/library/ubuntu:latest`), as its RepoTags keep it. */
export function qualifiedName(name: string): string {
  const r = parseRegistryRef(name);
  return `${r.domain}/${r.repository}:${r.tag ?? 'latest'}`;
}
