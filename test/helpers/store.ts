/**
 * Issue 14's promise on any image a test builds: the engine's layer store and the export give the
 * same report, field by field (but for `generatedAt`); docs/formats.md "Engine layer stores".
 */
import { expect } from 'vitest';
import { analyzeReference } from '../../src/pipeline.js';
import type { Analysis } from '../../src/report/types.js';
import { checkReport } from './report.js';

async function read(ref: string, how: 'store' | 'export'): Promise<Analysis> {
  return { ...checkReport(await analyzeReference(`docker-daemon:${ref}`, { daemonRead: how, noCache: true })), generatedAt: '' };
}

/** Compares the two reads where the store can be read (root on the daemon's host; CI runs so); elsewhere the store read is not this test's subject. */
export async function expectStoreEqualsExport(ref: string): Promise<void> {
  if (process.getuid?.() !== 0 || /^(tcp|ssh|http)/.test(process.env.DOCKER_HOST ?? '')) return;
  const store = await read(ref, 'store');
  const exported = await read(ref, 'export');
  for (const k of Object.keys(exported) as Array<keyof Analysis>) expect(store[k], `${ref}: ${k}`).toEqual(exported[k]);
  expect(store).toEqual(exported);
}
