/** Runs the built CLI as a user would, and checks the promises every failure keeps. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { expect } from 'vitest';
import { tmpDir } from './images.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export async function run(args: string[], env: Record<string, string> = {}) {
  return execa('node', [CLI, ...args], { reject: false, env: { ...env }, extendEnv: true });
}

/** Runs a failing analysis and checks the one-line error, the exit code and that no output file appears. */
export async function expectFailure(ref: string, code: number, pattern: RegExp, env: Record<string, string> = {}): Promise<void> {
  const out = path.join(tmpDir(), 'report.json');
  const r = await run(['analyze', ref, '--format', 'json', '--output', out], env);
  expect(r.exitCode, r.stderr).toBe(code);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^imgscope: /);
  expect(lines[0]).toMatch(pattern);
  expect(existsSync(out)).toBe(false);
  expect(r.stdout).toBe('');
}


/**
 * Starts `imgscope coldstart <args>` on an image that never gets ready, waits for its container,
 * sends Ctrl-C, and checks the exit (130), the message and that `leftovers` (the engine's list of
 * imgscope's containers) is empty again.
 */
export async function expectCtrlCCleansUp(ref: string, leftovers: () => Promise<string>, env?: NodeJS.ProcessEnv): Promise<void> {
  const child = execa('node', [CLI, 'coldstart', ref, '--timeout', '120', '--runs', '1', '--warmup', '0'], { reject: false, ...(env ? { env } : {}) });
  for (let i = 0; i < 100 && (await leftovers()) === ''; i++) await new Promise((r) => setTimeout(r, 100));
  expect(await leftovers()).not.toBe('');
  child.kill('SIGINT');
  const r = await child;
  expect(r.exitCode).toBe(130);
  expect(r.stderr).toMatch(/interrupted \(SIGINT\), cleaning up/);
  expect(await leftovers()).toBe('');
}
