/**
 * Registry credentials the way the Docker CLI finds them in its config.json (DOCKER_CONFIG, else
 * ~/.docker): `credHelpers[<registry>]`, else `credsStore`, run as `docker-credential-<name> get`
 * (the server address on stdin, `{"Username","Secret"}` on stdout; Username `<token>` means the
 * Secret is an identity token, i.e. an OAuth2 refresh token); else the file's own `auths` entry
 * (`auth` = base64 user:password, `username`/`password`, or `identitytoken`).
 * Docker Desktop writes `"credsStore": "desktop"` and keeps `auths` empty: without helpers a
 * private image could not be read on most laptops.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface RegistryCredential {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`docker login` to a registry that issues them). */
  identityToken?: string;
  /** Where it came from, for messages: "docker-credential-desktop", "config.json". */
  source: string;
}

export interface CredentialLookup {
  credential?: RegistryCredential;
  /** Why a configured source gave nothing (helper missing or failing), for the unauthorized error. */
  problem?: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

const HUB_SERVER = 'https://index.docker.io/v1/';
const HELPER_TIMEOUT_MS = 30_000;

export function dockerConfigDir(): string {
  return process.env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker');
}

/** The server address the Docker CLI uses for a registry (Docker Hub: https://index.docker.io/v1/). */
export function serverAddress(domain: string): string {
  return domain === 'docker.io' ? HUB_SERVER : domain;
}

/** The names a registry may be stored under, the helper's server address first. */
function serverKeys(domain: string): string[] {
  return domain === 'docker.io' ? [HUB_SERVER, 'index.docker.io', 'docker.io', 'registry-1.docker.io', 'https://index.docker.io'] : [domain, `https://${domain}`, `http://${domain}`];
}

/**
 * Podman/skopeo/buildah's auth files (containers-auth.json(5)), read before Docker's config as those
 * tools do: REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json; then
 * ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json.
 */
function containersAuthFiles(): string[] {
  const out: string[] = [];
  if (process.env.REGISTRY_AUTH_FILE) out.push(process.env.REGISTRY_AUTH_FILE);
  else if (process.env.XDG_RUNTIME_DIR) out.push(path.join(process.env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  const xdg = process.env.XDG_CONFIG_HOME;
  out.push(path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.config'), 'containers', 'auth.json'));
  return out;
}

function readJson(file: string): DockerConfig | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return v && typeof v === 'object' ? (v as DockerConfig) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Credentials for pulling `repository` from `domain`: the containers auth files, then the Docker CLI's
 * config.json; the first file with something for the registry wins.
 */
export function lookupCredentials(domain: string, repository?: string): CredentialLookup {
  let problem: string | undefined;
  for (const f of containersAuthFiles()) {
    const cfg = readJson(f);
    if (!cfg) continue;
    // Namespace entries (quay.io/team/img, quay.io/team) before the host's own, most specific first.
    const full = repository ? `${domain}/${repository}` : domain;
    const spaces = Object.keys(cfg.auths ?? {})
      .filter((k) => k === full || (k !== domain && full.startsWith(`${k}/`)))
      .sort((a, b) => b.length - a.length);
    const r = fromConfig(cfg, spaces, domain, path.basename(f));
    if (r.credential) return r;
    problem ??= r.problem;
  }
  const cfg = readJson(path.join(dockerConfigDir(), 'config.json'));
  if (!cfg) return problem ? { problem } : {};
  const r = fromConfig(cfg, [], domain, 'config.json');
  return r.credential || r.problem ? r : problem ? { problem } : {};
}

/** One config file: a credential helper for the registry (or the store for all), else its `auths`. */
function fromConfig(cfg: DockerConfig, namespaces: string[], domain: string, source: string): CredentialLookup {
  const keys = [...namespaces, ...serverKeys(domain)];
  const helperKey = keys.find((k) => typeof cfg.credHelpers?.[k] === 'string' && cfg.credHelpers[k] !== '');
  const helper = helperKey !== undefined ? cfg.credHelpers![helperKey]! : cfg.credsStore || undefined;
  let problem: string | undefined;
  if (helper) {
    // Asked for the registry's server name, as the Docker CLI asks (Hub: https://index.docker.io/v1/).
    const r = fromHelper(helper, serverAddress(domain));
    if (r.credential) return r;
    problem = r.problem;
  }
  for (const k of keys) {
    const e = cfg.auths?.[k];
    if (!e) continue;
    if (e.identitytoken) return { credential: { identityToken: e.identitytoken, source } };
    if (e.auth) {
      const s = Buffer.from(e.auth, 'base64').toString('utf8');
      const i = s.indexOf(':');
      if (i > 0) return { credential: { username: s.slice(0, i), password: s.slice(i + 1), source } };
    }
    if (e.username && e.password) return { credential: { username: e.username, password: e.password, source } };
  }
  return problem ? { problem } : {};
}

/** Runs `docker-credential-<helper> get` for `server`. A helper that has nothing for it is no problem. */
function fromHelper(helper: string, server: string): CredentialLookup {
  const prog = `docker-credential-${helper}`;
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) return { problem: `config.json names an invalid credential helper '${helper}'` };
  const r = spawnSync(prog, ['get'], { input: server, encoding: 'utf8', timeout: HELPER_TIMEOUT_MS, stdio: ['pipe', 'pipe', 'pipe'] });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: `${prog} (credsStore/credHelpers in ${path.join(dockerConfigDir(), 'config.json')}) is not on PATH` };
    if (code === 'ETIMEDOUT') return { problem: `${prog} did not answer within ${HELPER_TIMEOUT_MS / 1000} s` };
    return { problem: `${prog} could not run (${r.error.message})` };
  }
  const out = (r.stdout ?? '').trim();
  if (r.status !== 0) {
    // The helpers' own "not found" answer (docker-credential-helpers' ErrCredentialsNotFound).
    if (/credentials not found/i.test(out) || /credentials not found/i.test(r.stderr ?? '')) return {};
    const why = (out || (r.stderr ?? '').trim()).split('\n')[0]?.slice(0, 160) || `exit code ${r.status}`;
    return { problem: `${prog} failed: ${why}` };
  }
  let j: { Username?: unknown; Secret?: unknown };
  try {
    j = JSON.parse(out) as typeof j;
  } catch {
    return { problem: `${prog} answered something other than JSON` };
  }
  if (typeof j.Secret !== 'string' || j.Secret === '') return {};
  if (j.Username === '<token>') return { credential: { identityToken: j.Secret, source: prog } };
  if (typeof j.Username !== 'string' || j.Username === '') return { problem: `${prog} answered without a username` };
  return { credential: { username: j.Username, password: j.Secret, source: prog } };
}
