/**
 * The transports table (src/image/transports.ts) is what reference parsing, the load dispatch, saved
 * reports, coldstart and the CLI's help read. These checks hold it to what each of those did on its
 * own before the table: the same help string, the same coldstart decision and name, the same saved
 * report keys, the same parse of every reference form.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeTag } from '../../src/image/manifest.js';
import { coldstartUsage, imageName, notRunnable, parseReference, referenceKey, runsContainers, TRANSPORTS, transportNamed, transportUsage } from '../../src/image/transports.js';
import { tmpDir } from '../helpers/images.js';

const REFS = [
  'docker-archive:/x/img.tar',
  'oci:/x/layout:tag',
  'oci-archive:/x/img.tar',
  'docker-daemon:app:1',
  'docker-daemon:docker://app',
  'docker://registry.example/app@sha256:' + 'a'.repeat(64),
  'docker://docker-daemon:app',
  'app',
  './img.tar',
  'docker.io/library/app:latest',
  'dockerx:app',
  'containers-storage:app:1',
  'containers-storage:[/var/lib/containers/storage]localhost/app:1',
];

describe('the transports table', () => {
  it("writes analyze's help from the rows: every transport, docker:// included (the hand-written help left it out)", () => {
    expect(transportUsage()).toBe('docker-archive:PATH[:TAG] | oci:DIR[:TAG] | oci-archive:PATH[:TAG] | docker-daemon:NAME | docker://[REGISTRY/]NAME[:TAG|@DIGEST] | containers-storage:[[STORE]]NAME[:TAG] | PATH | NAME');
    for (const t of TRANSPORTS) if (t.prefix) expect(transportUsage()).toContain(t.prefix);
  });

  it("decides what coldstart can run as coldstart's own prefix test did", () => {
    const before = (ref: string, cold: boolean): boolean => !(/^(docker-archive|oci|oci-archive|containers-storage):/.test(ref) || (ref.startsWith('docker://') && !cold));
    for (const ref of REFS) for (const cold of [false, true]) expect(runsContainers(ref, cold), `${ref} cold=${cold}`).toBe(before(ref, cold));
  });

  it('names the image and keys saved reports as the prefix stripping did', () => {
    const before = (ref: string): string => ref.replace(/^docker-daemon:/, '').replace(/^docker:\/\//, '');
    for (const ref of REFS) {
      expect(imageName(ref), ref).toBe(before(ref));
      expect(referenceKey(ref), ref).toBe(normalizeTag(before(ref)));
    }
  });

  it('parses every form to a row that opens it', () => {
    const d = tmpDir();
    const dir = path.join(d, 'layout');
    mkdirSync(dir);
    const tar = path.join(d, 'img.tar');
    writeFileSync(tar, '');
    const cases: Array<[string, string, string, string?]> = [
      [`docker-archive:${tar}:app:1`, 'docker-archive', tar, 'app:1'],
      [`oci:${dir}:v2`, 'oci', dir, 'v2'],
      [`oci-archive:${tar}`, 'oci-archive', tar],
      ['docker-daemon:app:1', 'docker-daemon', 'app:1'],
      ['docker://registry.example/app:1', 'docker', 'registry.example/app:1'],
      ['containers-storage:[/s]localhost/app:1', 'containers-storage', '[/s]localhost/app:1'],
      [dir, 'oci', dir],
      [tar, 'docker-archive', tar],
      ['app:1', 'docker-daemon', 'app:1'],
    ];
    for (const [ref, transport, location, tag] of cases) {
      const t = parseReference(ref);
      expect(t, ref).toEqual({ reference: ref, transport, location, ...(tag ? { tag } : {}) });
      expect(transportNamed(t.transport)?.open, ref).toBeTypeOf('function');
    }
  });

  it('gives every transport that opens an image a name the report schema accepts and documents (a new row needs no schema change)', () => {
    const schema = JSON.parse(readFileSync(new URL('../../schema/report.schema.json', import.meta.url), 'utf8')) as {
      $defs: { analysis: { properties: { image: { properties: { transport: { pattern: string; description: string } } } } } };
    };
    const t = schema.$defs.analysis.properties.image.properties.transport;
    const opening = TRANSPORTS.filter((r) => r.open).map((r) => r.name);
    expect(opening).toEqual(['docker-archive', 'oci', 'oci-archive', 'docker-daemon', 'docker', 'containers-storage']);
    for (const name of opening) {
      expect(name).toMatch(new RegExp(t.pattern));
      expect(t.description).toContain(name);
    }
  });

  it("writes coldstart's help and refusal from the rows that run containers", () => {
    expect(coldstartUsage()).toBe('image name in the Docker daemon (docker-daemon:NAME also accepted; docker://NAME with --cold)');
    expect(notRunnable('oci:/x')).toBe('oci:/x: coldstart runs containers through the Docker daemon: give an image name (docker-daemon:NAME), or a registry name with --cold');
  });

  it('refuses what it refused, with the same words', () => {
    const d = tmpDir();
    const tar = path.join(d, 'img.tar');
    writeFileSync(tar, '');
    expect(() => parseReference('')).toThrow(/^empty image reference$/);
    expect(() => parseReference('docker-archive:')).toThrow(/^docker-archive:: missing path$/);
    expect(() => parseReference('docker-daemon:')).toThrow(/^docker-daemon:: missing image name$/);
    expect(() => parseReference('docker://')).toThrow(/^docker:\/\/: missing image name$/);
    expect(() => parseReference('containers-storage:')).toThrow(/^containers-storage:: missing image name$/);
    expect(() => parseReference(`oci:${tar}`)).toThrow(/is a regular file, not an OCI layout directory$/);
    expect(() => parseReference(`oci-archive:${d}`)).toThrow(/is a directory, not a regular file$/);
    expect(() => parseReference(`docker-archive:${d}/none.tar`)).toThrow(/none\.tar does not exist$/);
    expect(() => parseReference('./none.tar')).toThrow(/^\.\/none\.tar: no such file or directory$/);
  });
});
