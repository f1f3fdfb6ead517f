/**
 * The installable package: `npm pack` (prepack builds dist/ from a clean tree) gives a tarball that
 * installs into an empty directory, its dependencies from the npm registry or cache, never from this
 * checkout, and runs `imgscope analyze` there on an image made here.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { tmpDir, writeDockerArchiveLegacy } from '../helpers/images.js';
import { file } from '../helpers/tar.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** npm run by vitest inherits npm_* settings of the npm that started it; the children start clean. */
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

describe('the npm package', () => {
  it('packs, installs into an empty directory and analyzes an image from there', async () => {
    // a copy of what a checkout holds (no dist/): prepack must build it; the build tools come from this checkout's devDependencies
    const checkout = tmpDir('imgscope-pack-src-');
    for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'src', 'schema']) cpSync(path.join(ROOT, p), path.join(checkout, p), { recursive: true });
    symlinkSync(realpathSync(path.join(ROOT, 'node_modules')), path.join(checkout, 'node_modules'));
    const out = tmpDir('imgscope-pack-out-');
    await execa('npm', ['pack', '--pack-destination', out], { cwd: checkout, env, extendEnv: false });
    const [tgz] = readdirSync(out).filter((n) => n.endsWith('.tgz'));
    expect(tgz).toBe(`imgscope-${VERSION}.tgz`);
    const files = (await execa('tar', ['tzf', path.join(out, tgz!)])).stdout.split('\n');
    expect(files).toContain('package/dist/cli.js');
    expect(files).toContain('package/dist/ci/action.js');
    expect(files).toContain('package/schema/report.schema.json');
    expect(files.filter((f) => /^package\/(src|test|dist\/bench)\/|\.map$|\.ts$/.test(f))).toEqual([]);

    // an empty project elsewhere: the tarball and its dependencies (registry or npm's cache), nothing from the checkout
    const consumer = tmpDir('imgscope-pack-use-');
    writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    await execa('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(out, tgz!)], { cwd: consumer, env, extendEnv: false });
    expect(realpathSync(path.join(consumer, 'node_modules/imgscope')).startsWith(realpathSync(consumer))).toBe(true);
    const bin = path.join(consumer, 'node_modules/.bin/imgscope');
    expect((await execa(bin, ['--version'], { cwd: consumer })).stdout.trim()).toBe(VERSION);
    expect((await execa('npx', ['--no-install', 'imgscope', '--version'], { cwd: consumer, env, extendEnv: false })).stdout.trim()).toBe(VERSION);

    const images = path.join(consumer, 'img');
    mkdirSync(images);
    await writeDockerArchiveLegacy(path.join(images, 'small.tar'), { layers: [{ entries: [file('a.bin', 12_345), file('b.bin', 678)] }, { entries: [file('c.bin', 9)] }] });
    const r = await execa(bin, ['analyze', 'docker-archive:img/small.tar', '--format', 'json'], { cwd: consumer, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { tool: { version: string }; totals: { imageBytes: number; layers: number } };
    expect(report.tool.version).toBe(VERSION);
    expect(report.totals).toMatchObject({ imageBytes: 12_345 + 678 + 9, layers: 2 });
  }, 300_000);
});
