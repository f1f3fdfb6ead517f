import Docker from 'dockerode';
import { envError, ImgscopeError, inputError } from '../errors.js';
import { StreamedArchive } from './archive.js';
import { loadDockerArchive, walkOpts } from './formats.js';
import type { LoadedImage, LoadOptions } from './types.js';

export function dockerClient(): Docker {
  // docker-modem reads DOCKER_HOST (unix://, tcp://, npipe://), DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
  return new Docker();
}

export function daemonAddress(): string {
  return process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

/** Maps a dockerode/HTTP failure to an imgscope error: 404 is bad input, no connection is environment. */
export function daemonError(what: string, err: unknown): ImgscopeError {
  if (err instanceof ImgscopeError) return err;
  const e = err as { statusCode?: number; code?: string; message?: string; json?: { message?: string } };
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'ETIMEDOUT' || e.code === 'EHOSTUNREACH') {
    return envError(`cannot reach the Docker daemon at ${daemonAddress()} (${e.code}) while ${what}`, err);
  }
  const msg = e.json?.message ?? e.message ?? String(err);
  if (e.statusCode === 404) return inputError(`${what}: ${msg.trim()}`, err);
  return envError(`Docker daemon error while ${what}: ${msg.trim()}`, err);
}

/** Pulls NAME through the daemon, following its progress stream to the end. */
export async function pullImage(docker: Docker, name: string, onProgress?: (m: string) => void): Promise<void> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.pull(name);
  } catch (err) {
    throw daemonError(`pulling ${name}`, err);
  }
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, out: Array<{ error?: string }>) => {
        const failed = out?.find((o) => o.error);
        if (err || failed) reject(envError(`pulling ${name} failed: ${failed?.error ?? err?.message}`));
        else resolve();
      },
      (ev: { status?: string; id?: string }) => onProgress?.(`pull ${name}: ${ev.id ?? ''} ${ev.status ?? ''}`),
    );
  });
}

/**
 * Reads an image from the Docker daemon: `GET /images/{name}/get` is a `docker save` stream walked in
 * one pass, straight into the layer walkers (never saved to a temp file).
 */
export async function loadFromDaemon(reference: string, name: string, opts: LoadOptions): Promise<LoadedImage> {
  const docker = dockerClient();
  const image = docker.getImage(name);
  try {
    await image.inspect();
  } catch (err) {
    const e = daemonError(`inspecting ${name}`, err);
    if ((err as { statusCode?: number }).statusCode !== 404) throw e;
    if (!opts.pull) throw inputError(`image '${name}' is not in the Docker daemon at ${daemonAddress()} (use --pull to pull it)`);
    opts.onProgress?.(`pulling ${name}`);
    await pullImage(docker, name, opts.onProgress);
  }
  let stream: NodeJS.ReadableStream;
  try {
    stream = await image.get();
  } catch (err) {
    throw daemonError(`exporting ${name}`, err);
  }
  const archive = await StreamedArchive.consume(
    `docker-daemon:${name}`,
    stream as unknown as import('node:stream').Readable,
    walkOpts(opts),
    opts.onProgress,
  );
  const img = await loadDockerArchive(archive, reference, 'docker-daemon', undefined, opts);
  img.warnings.push(...archive.warnings);
  return img;
}
