/**
 * `coldstart` against Podman's Docker-compatible API (`podman system service`, DOCKER_HOST at its
 * socket): what differs from Docker's Engine and how imgscope meets it (docs/coldstart.md "Podman").
 * Everything here is pure except `PodmanApi`, which calls the libpod endpoints that the compatible
 * API lacks (the image's HEALTHCHECK, running a health check).
 */
import type Docker from 'dockerode';
import { envError } from '../errors.js';
import type { PullEvent } from '../image/daemon.js';

/** The engine behind DOCKER_HOST, from `GET /version`. */
export interface EngineKind {
  podman: boolean;
  /** `Docker Engine 20.10.24`, `Podman Engine 4.3.1`: what the report's notes say. */
  label: string;
  /** The libpod API version to put in front of `/libpod/...` paths (Podman only). */
  apiVersion?: string;
}

interface VersionInfo {
  Version?: string;
  Components?: Array<{ Name?: string; Version?: string; Details?: { APIVersion?: string } }> | null;
}

/** Podman's `/version` lists a component named "Podman Engine"; Docker's lists "Engine". */
export function engineKind(v: VersionInfo): EngineKind {
  const comps = v.Components ?? [];
  const pod = comps.find((c) => c.Name === 'Podman Engine');
  if (pod) {
    const version = pod.Version ?? v.Version ?? 'unknown';
    return { podman: true, label: `Podman Engine ${version}`, apiVersion: pod.Details?.APIVersion ?? version };
  }
  return { podman: false, label: `Docker Engine ${comps.find((c) => c.Name === 'Engine')?.Version ?? v.Version ?? 'unknown'}` };
}

/**
 * Podman's pull stream in Docker's words (pull.ts folds Docker's): Podman says "Pulling fs layer" when
 * it starts copying a blob (Docker says it for every layer at once, queued), "Download complete" when
 * the blob is downloaded *and* unpacked into storage, and never "Extracting" or "Pull complete". It
 * also names the image config by its digest, as if it were a layer, and reports it done twice (the
 * last message is the end of the pull). So: "Pulling fs layer" becomes the start of the download, the
 * config's messages are dropped, and no layer has an extract step.
 */
export function podmanPullEvents(events: PullEvent[], configDigest: string): PullEvent[] {
  const config = configDigest.replace(/^sha256:/, '').slice(0, 12);
  return events.filter((e) => e.id !== config).map((e) => (e.status === 'Pulling fs layer' ? { ...e, status: 'Downloading' } : e));
}

/** RFC 3339 with up to nanoseconds (`2026-11-27T03:02:07.497301798Z`, or an offset) → ns since the epoch. */
export function rfc3339Ns(s: string): bigint | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return undefined;
  const secMs = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(secMs)) return undefined;
  return BigInt(secMs) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

export interface HealthLogEntry {
  Start?: string;
  End?: string;
  ExitCode?: number;
}

/**
 * When the first passing health check ended, by the engine's clock: the earliest entry with exit
 * code 0 that comes after the last failing one (Podman keeps the last five checks). Docker's
 * `health_status: healthy` event marks the same moment: the check's end.
 */
export function firstPassEnd(log: HealthLogEntry[] | null | undefined): bigint | undefined {
  const entries = log ?? [];
  let lastFail = -1;
  entries.forEach((e, i) => {
    if (e.ExitCode !== 0) lastFail = i;
  });
  const pass = entries.slice(lastFail + 1).find((e) => e.ExitCode === 0 && e.End);
  return pass?.End ? rfc3339Ns(pass.End) : undefined;
}

/** Whether Podman's registries.conf lets it pull HOST over plain HTTP (`GET /info` lists it with Secure: false). */
export function podmanPullsPlainHttp(info: { RegistryConfig?: { IndexConfigs?: Record<string, { Secure?: boolean }> | null } | null }, host: string): boolean {
  return info.RegistryConfig?.IndexConfigs?.[host]?.Secure === false;
}

/** A container start Podman refused because it could not raise a resource limit to its rootful default: why, in one line. */
export function rlimitRefusal(message: string): string | undefined {
  const m = /error setting rlimit type (\d+): operation not permitted/.exec(message);
  if (!m) return undefined;
  const name = ({ '6': 'nproc', '7': 'nofile' } as Record<string, string>)[m[1]!] ?? `type ${m[1]}`;
  return `Podman gives rootful containers a ${name} limit above the podman service's own hard limit, which it may not raise here (${message.trim().replace(/\s+/g, ' ')}); set default_ulimits = ["${name}=N:N"] in containers.conf at or below the service's own limit (/proc/PID/limits of podman system service)`;
}

/** The libpod endpoints imgscope needs beside the compatible API, on the same socket. */
export class PodmanApi {
  constructor(
    private readonly docker: Docker,
    private readonly apiVersion: string,
  ) {}

  private get<T>(path: string, ok: Record<number, boolean | string>): Promise<T> {
    return new Promise((resolve, reject) => {
      const modem = this.docker.modem as unknown as {
        dial(opts: object, cb: (err: unknown, data: unknown) => void): void;
      };
      modem.dial({ path: `/v${this.apiVersion}/libpod${path}`, method: 'GET', statusCodes: { ...ok, 500: 'server error' }, options: {} }, (err, data) =>
        err ? reject(err) : resolve(data as T),
      );
    });
  }

  /** The image's HEALTHCHECK and manifest type: the compatible `GET /images/{name}/json` drops the HEALTHCHECK. */
  async image(id: string): Promise<{ healthcheck: { Test?: string[] } | null; manifestType: string }> {
    const j = await this.get<{ Healthcheck?: { Test?: string[] } | null; ManifestType?: string }>(`/images/${encodeURIComponent(id)}/json`, { 200: true, 404: 'no such image' });
    return { healthcheck: j.Healthcheck ?? null, manifestType: j.ManifestType ?? '' };
  }

  /** Runs the container's health check once (`GET /libpod/containers/{id}/healthcheck`): its status. 409: not running. */
  async runCheck(id: string): Promise<string | undefined> {
    try {
      const j = await this.get<{ Status?: string }>(`/containers/${id}/healthcheck`, { 200: true, 404: 'no such container', 409: 'not running' });
      return j.Status;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 409 || (err as { statusCode?: number }).statusCode === 404) return undefined;
      throw envError(`Podman could not run the health check of container ${id.slice(0, 12)}: ${(err as Error).message}`, err);
    }
  }
}
