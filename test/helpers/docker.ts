/** Helpers for integration tests against a real Docker daemon (started by .ci/run in CI). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BASE_IMAGE = process.env.IMGSCOPE_BASE_IMAGE ?? 'imgscope/debian-base:bookworm';

export async function dockerAvailable(): Promise<boolean> {
  const r = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false });
  return r.exitCode === 0;
}

/** CI sets IMGSCOPE_REQUIRE_DOCKER=1 so that a missing daemon fails the suite instead of skipping it. */
export const requireDocker = process.env.IMGSCOPE_REQUIRE_DOCKER === '1';

export async function ensureBase(): Promise<void> {
  await execa('bash', [path.join(ROOT, 'sample-images/base/build-base.sh'), BASE_IMAGE], { stdio: 'inherit' });
}

export async function buildFixture(tag: string, contextDir: string): Promise<void> {
  await execa('docker', ['build', '-q', '-t', tag, '--build-arg', `BASE=${BASE_IMAGE}`, contextDir], { env: { DOCKER_BUILDKIT: '0' } });
}

export async function docker(...args: string[]): Promise<string> {
  return (await execa('docker', args)).stdout;
}
