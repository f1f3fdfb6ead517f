import { inputError } from '../errors.js';
import type { Descriptor, Platform } from './types.js';

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export function hostPlatform(): Platform {
  const architecture = ARCH[process.arch] ?? process.arch;
  return architecture === 'arm64' ? { os: 'linux', architecture, variant: 'v8' } : { os: 'linux', architecture };
}

/** Parses `os/arch[/variant]`. */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw inputError(`invalid --platform '${s}': expected os/arch[/variant], e.g. linux/amd64`);
  }
  const p: Platform = { os: parts[0]!, architecture: parts[1]! };
  if (parts[2]) p.variant = parts[2];
  return p;
}

export function formatPlatform(p: Partial<Platform> | undefined): string {
  if (!p) return 'unknown';
  return [p.os ?? '?', p.architecture ?? '?', p.variant].filter(Boolean).join('/');
}

function defaultVariant(arch: string): string | undefined {
  return arch === 'arm64' ? 'v8' : undefined;
}

export function platformMatches(want: Platform, have: Partial<Platform> | undefined): boolean {
  if (!have) return false;
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  const wv = want.variant ?? defaultVariant(want.architecture);
  const hv = have.variant ?? defaultVariant(have.architecture ?? '');
  return wv === undefined || hv === undefined || wv === hv;
}

/** BuildKit attestation manifests sit in indexes with platform unknown/unknown (docs/formats.md "Indexes and platforms"). */
export function isAttestation(d: Descriptor): boolean {
  if (d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return true;
  return d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown';
}
