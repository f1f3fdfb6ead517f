/**
 * End to end with --dockerfile (issue 15, acceptance): a private key COPY'd in one layer and deleted by
 * the next RUN is an error-level SARIF result at the COPY's line. Skipped where the daemon is down or
 * the CLI has no --dockerfile yet.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { CLI, run } from '../helpers/cli.js';
import { BASE_IMAGE, buildFixture, docker, dockerAvailable } from '../helpers/docker.js';
import { tmpDir } from '../helpers/images.js';
import { checkSarif } from '../helpers/sarif.js';
import { expectStoreEqualsExport } from '../helpers/store.js';

const DOCKERFILE = [
  'ARG BASE=debian:bookworm-slim',
  'FROM ${BASE}',
  'WORKDIR /app',
  'COPY id_rsa /root/.ssh/id_rsa',
  'RUN test -s /root/.ssh/id_rsa \\',
  ' && rm /root/.ssh/id_rsa',
  '',
].join('\n');
const COPY_LINE = DOCKERFILE.split('\n').findIndex((l) => l.startsWith('COPY ')) + 1;

describe('SARIF on Dockerfile lines', () => {
  it('a key added by COPY and deleted by the next RUN is an error at the COPY line', async () => {
    if (!(await dockerAvailable())) return;
    const ctx = tmpDir('imgscope-df-');
    writeFileSync(path.join(ctx, 'Dockerfile'), DOCKERFILE);
    writeFileSync(path.join(ctx, 'id_rsa'), '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n');
    const tag = `imgscope-test/sarif-dockerfile:${process.pid}`;
    await buildFixture(tag, ctx);
    try {
      const r = await execa('node', [CLI, 'analyze', `docker-daemon:${tag}`, '--dockerfile', 'Dockerfile', '--format', 'sarif', '-q'], { cwd: ctx, reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      const res = checkSarif(r.stdout).runs[0]!.results.find((x) => x.ruleId === 'secrets-in-image')!;
      expect(res.level).toBe('error');
      expect(res.locations[0].physicalLocation.artifactLocation.uri).toBe('Dockerfile');
      expect(res.locations[0].physicalLocation.region.startLine).toBe(COPY_LINE);
      // issue 14: this image (a key written, then whited out) reads the same from the store and the export
      await expectStoreEqualsExport(tag);
    } finally {
      await docker('rmi', '-f', tag).catch(() => undefined);
    }
    expect(BASE_IMAGE).toBeTruthy();
  }, 180_000);
});
