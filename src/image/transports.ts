/**
 * The transports, one row each (docs/architecture.md "References"): how a reference names one, how
 * the rest of it is parsed, how the image is opened, whether coldstart can run it, how a saved report
 * names it, and how the CLI's help writes it. Everything that needs to know asks this table.
 *
 * A new transport is one module that opens an image (its config and its layers as blobs the layer
 * loop walks, layers.ts) and one row here; the report schema names the transports a report may
 * carry, and test/unit/transports.test.ts holds that list to the rows.
 */
import { inputError } from '../errors.js';
import { openArchiveFile } from './archive-file.js';
import { DirArchive } from './archive.js';
import { openContainersStorage } from './containers-storage.js';
import { openDockerSave } from './docker-save.js';
import type { OpenedImage } from './layers.js';
import { normalizeTag } from './manifest.js';
import { openOciLayout } from './oci-layout.js';
import { barePath, type ImageTarget, nameTarget, pathTarget } from './reference.js';
import { storageTarget } from './storage-conf.js';
import type { LoadOptions } from './types.js';

export interface Transport {
  /** The name a report carries (`image.transport`); for a bare form, what the help calls it. */
  name: string;
  /** What a reference starts with; undefined for a bare form, tried after every prefix, in table order. */
  prefix?: string;
  /** How the CLI's help writes it. */
  usage: string;
  /** The rest of the reference (after the prefix) as a target; a bare form returns undefined when it is not one. */
  parse(rest: string, reference: string): ImageTarget | undefined;
  /** Opens the image (undefined for a bare form: it resolves to a row that opens). */
  open?(target: ImageTarget, opts: LoadOptions): Promise<OpenedImage>;
  /** Whether coldstart can run it: the daemon holds it, the daemon pulls it (with --cold), or neither. */
  runs: 'daemon' | 'cold' | 'no';
  /** The rest of the reference is an image name the daemon and registries know (what coldstart runs, what saved reports match). */
  names?: boolean;
}

export const TRANSPORTS: readonly Transport[] = [
  {
    name: 'docker-archive',
    prefix: 'docker-archive:',
    usage: 'docker-archive:PATH[:TAG]',
    parse: pathTarget('docker-archive', 'file'),
    open: (t, opts) => openArchiveFile(t.location, t.tag, openDockerSave, opts),
    runs: 'no',
  },
  {
    name: 'oci',
    prefix: 'oci:',
    usage: 'oci:DIR[:TAG]',
    parse: pathTarget('oci', 'dir'),
    open: (t, opts) => openOciLayout(new DirArchive(t.location), t.tag, opts),
    runs: 'no',
  },
  {
    name: 'oci-archive',
    prefix: 'oci-archive:',
    usage: 'oci-archive:PATH[:TAG]',
    parse: pathTarget('oci-archive', 'file'),
    open: (t, opts) => openArchiveFile(t.location, t.tag, openOciLayout, opts),
    runs: 'no',
  },
  {
    name: 'docker-daemon',
    prefix: 'docker-daemon:',
    usage: 'docker-daemon:NAME',
    parse: nameTarget('docker-daemon'),
    // dockerode (and its ssh/http2 stack) is only loaded when the daemon is used.
    open: async (t, opts) => (await import('./daemon.js')).openDaemon(t.location, opts),
    runs: 'daemon',
    names: true,
  },
  {
    name: 'docker',
    prefix: 'docker://',
    usage: 'docker://[REGISTRY/]NAME[:TAG|@DIGEST]',
    parse: nameTarget('docker'),
    open: async (t, opts) => (await import('./registry.js')).openRegistry(t.reference, t.location, opts),
    runs: 'cold',
    names: true,
  },
  {
    name: 'containers-storage',
    prefix: 'containers-storage:',
    usage: 'containers-storage:[[STORE]]NAME[:TAG]',
    parse: storageTarget,
    open: (t, opts) => openContainersStorage(t.location, opts),
    runs: 'no',
  },
  { name: 'PATH', usage: 'PATH', parse: (ref) => barePath(ref), runs: 'no' },
  { name: 'NAME', usage: 'NAME', parse: nameTarget('docker-daemon'), runs: 'daemon' },
];

/** The row of a transport name. */
export function transportNamed(name: string): Transport | undefined {
  return TRANSPORTS.find((t) => t.name === name && t.open);
}

/**
 * Resolves a reference to its transport: the first row whose prefix it starts with, else the first
 * bare form it is. Reference syntax follows skopeo's transports; a bare existing path is sniffed
 * (directory = OCI layout, file = tar) and a bare name means the daemon.
 */
export function parseReference(ref: string): ImageTarget {
  if (!ref) throw inputError('empty image reference');
  for (const t of TRANSPORTS) {
    if (t.prefix !== undefined && !ref.startsWith(t.prefix)) continue;
    const target = t.parse(t.prefix ? ref.slice(t.prefix.length) : ref, ref);
    if (target) return target;
  }
  throw new Error(`${ref}: no transport`); // unreachable: a bare name is always one
}

/** The reference forms `analyze` accepts, as its help lists them. */
export function transportUsage(): string {
  return TRANSPORTS.map((t) => t.usage)
    .join(' | ');
}

/** The row a reference's prefix names; a reference without one counts as a bare NAME (nothing is looked up on disk). */
function byPrefix(reference: string): Transport {
  return TRANSPORTS.find((t) => t.prefix !== undefined && reference.startsWith(t.prefix)) ?? TRANSPORTS[TRANSPORTS.length - 1]!;
}

/**
 * Whether coldstart can run the image: one the daemon holds, or (with `cold`) one it pulls from a
 * registry. Decided by the prefix alone, as the daemon is asked about the name anyway.
 */
export function runsContainers(reference: string, cold: boolean): boolean {
  const runs = byPrefix(reference).runs;
  return runs === 'daemon' || (runs === 'cold' && cold);
}

/** The prefixed forms of the rows that coldstart runs: held by the daemon, or pulled with --cold. */
function runnable(runs: Transport['runs']): string[] {
  return TRANSPORTS.filter((t) => t.runs === runs && t.prefix).map((t) => `${t.prefix}NAME`);
}

/** The reference forms `coldstart` accepts, as its help lists them. */
export function coldstartUsage(): string {
  return `image name in the Docker daemon (${runnable('daemon').join(', ')} also accepted; ${runnable('cold').join(', ')} with --cold)`;
}

/** Why coldstart cannot run a reference, and what it can run instead. */
export function notRunnable(reference: string): string {
  return `${reference}: coldstart runs containers through the Docker daemon: give an image name (${runnable('daemon').join(', ')}), or a registry name with --cold`;
}

/**
 * The image name a reference gives the daemon or a registry: the prefix of a naming transport taken
 * off (each such prefix once, in table order), anything else as written.
 */
export function imageName(reference: string): string {
  let r = reference;
  for (const t of TRANSPORTS) if (t.names && t.prefix && r.startsWith(t.prefix)) r = r.slice(t.prefix.length);
  return r;
}

/** How a saved report's reference or tag is matched: its image name, normalized as docker does (docker.io/library/, :latest). */
export function referenceKey(reference: string): string {
  return normalizeTag(imageName(reference));
}
