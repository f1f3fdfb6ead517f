/**
 * Podman for integration tests: `podman system service` on a socket of its own, started as a child
 * process and stopped (socket removed) by the test, also when it fails.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';

export async function podmanAvailable(): Promise<boolean> {
  const r = await execa('podman', ['--version'], { reject: false });
  return r.exitCode === 0;
}

export async function podman(...args: string[]): Promise<string> {
  return (await execa('podman', args)).stdout;
}

export interface PodmanService {
  /** `unix:///tmp/imgscope-podman-<pid>.sock`, for DOCKER_HOST. */
  dockerHost: string;
  socket: string;
  stop(): Promise<void>;
}

/** The hard limits of a running process (`/proc/PID/limits`): what it may pass on to its containers. */
function hardLimits(pid: number): { nofile: string; nproc: string } {
  const text = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const hard = (label: string): string => new RegExp(`^${label}\\s+\\S+\\s+(\\S+)`, 'm').exec(text)?.[1] ?? 'unlimited';
  return { nofile: hard('Max open files'), nproc: hard('Max processes') };
}

/** The running service, wrapped: a ResultPromise is a thenable, which an async function would wait on. */
async function launch(socket: string, env: Record<string, string>): Promise<{ proc: ResultPromise }> {
  rmSync(socket, { force: true });
  const proc = execa('podman', ['system', 'service', '--time=0', `unix://${socket}`], { reject: false, stdio: 'ignore', env });
  // the service creates its socket when it listens
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(socket)) {
    proc.kill('SIGTERM');
    await proc;
    throw new Error(`podman system service did not answer on ${socket}`);
  }
  return { proc };
}

/**
 * Starts `podman system service` on /tmp/imgscope-podman-<pid>.sock. `insecure` registries (host:port)
 * are pulled over plain HTTP (registries.conf). Rootful Podman gives containers nofile and nproc
 * limits above what a sandboxed host may allow, and runc then fails to start them: the service is
 * started once to read the limits Podman itself got, then again with those as containers.conf's
 * default_ulimits (docs/coldstart.md "Podman").
 */
export async function startPodmanService(opts: { insecure?: string[] } = {}): Promise<PodmanService> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'imgscope-podman-conf-'));
  const socket = `/tmp/imgscope-podman-${process.pid}.sock`;
  let proc: ResultPromise | undefined;
  const stop = async (): Promise<void> => {
    if (proc) {
      proc.kill('SIGTERM');
      await proc;
      proc = undefined;
    }
    rmSync(socket, { force: true });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const registries = path.join(dir, 'registries.conf');
    writeFileSync(registries, (opts.insecure ?? []).map((h) => `[[registry]]\nlocation = "${h}"\ninsecure = true\n`).join('\n'));
    const env: Record<string, string> = { CONTAINERS_REGISTRIES_CONF: registries };
    proc = (await launch(socket, env)).proc;
    const limits = hardLimits(proc.pid!);
    proc.kill('SIGTERM');
    await proc;
    const conf = path.join(dir, 'containers.conf');
    const ulimits = Object.entries(limits)
      .filter(([, v]) => v !== 'unlimited')
      .map(([k, v]) => `"${k}=${v}:${v}"`);
    writeFileSync(conf, `[containers]\ndefault_ulimits = [${ulimits.join(', ')}]\n`);
    proc = (await launch(socket, { ...env, CONTAINERS_CONF: conf })).proc;
  } catch (err) {
    await stop();
    throw err;
  }
  return { dockerHost: `unix://${socket}`, socket, stop };
}

/** The base image in Podman's storage, loaded from the Docker daemon when Podman lacks it: `localhost/<name>`. */
export async function podmanBase(dockerName: string): Promise<string> {
  const name = `localhost/${dockerName}`;
  if ((await execa('podman', ['image', 'exists', name], { reject: false })).exitCode !== 0) {
    await execa('bash', ['-o', 'pipefail', '-c', `docker save "$1" | podman load -q`, 'load', dockerName]);
  }
  return name;
}

/** Builds a Docker-format image (OCI ones drop HEALTHCHECK) from a Dockerfile text and files. */
export async function podmanBuild(tag: string, dockerfile: string, files: Record<string, string> = {}, format: 'docker' | 'oci' = 'docker'): Promise<void> {
  const ctx = mkdtempSync(path.join(os.tmpdir(), 'imgscope-podman-ctx-'));
  try {
    writeFileSync(path.join(ctx, 'Dockerfile'), dockerfile);
    for (const [n, body] of Object.entries(files)) writeFileSync(path.join(ctx, n), body);
    await execa('podman', ['build', '-q', '--format', format, '-t', tag, ctx]);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}
