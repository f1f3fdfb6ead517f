/**
 * Offline dynamic-loader resolution (docs/formats.md "ELF") inside the merged image: for each ELF file a
 * Python package installed, does every DT_NEEDED name resolve the way ld.so would look for it?
 *
 * Search order: a name with `/` is a path; DT_RPATH (only without DT_RUNPATH); LD_LIBRARY_PATH from the
 * image's Env; DT_RUNPATH; the directories of /etc/ld.so.conf (+ `include`d files), which is what
 * ldconfig puts in ld.so.cache; then the default directories (/lib, /usr/lib, their lib64 and Debian
 * multiarch variants). `$ORIGIN`, `$LIB` and `$PLATFORM` are expanded; symlinks resolve inside the image.
 *
 * Not visible to this analysis: libraries opened with dlopen, and libraries already loaded under the
 * same soname by an earlier import (torch preloads its nvidia-* wheels). A name that is absent from the
 * search path but present elsewhere in the image is therefore reported apart, as "not on the search
 * path", from a name that is nowhere in the image.
 */
import type { FsNode, MergedFs } from '../fs/filesystem.js';
import type { ElfDynamic } from '../inspect/elf.js';
import { basename, dirname, normalizeEntryPath } from '../util/paths.js';

/** Driver libraries the NVIDIA container toolkit mounts from the host at run time. */
export const HOST_PROVIDED = /^lib(cuda|nvidia-[a-z0-9-]+|nvcuvid|nvoptix|cudadebugger|GLX_nvidia|EGL_nvidia|GLESv1_CM_nvidia|GLESv2_nvidia|dxcore)\.so(\.\d+)*$/;

const MACHINES: Record<number, { multiarch: string; platform: string }> = {
  62: { multiarch: 'x86_64-linux-gnu', platform: 'x86_64' },
  183: { multiarch: 'aarch64-linux-gnu', platform: 'aarch64' },
  3: { multiarch: 'i386-linux-gnu', platform: 'i686' },
  40: { multiarch: 'arm-linux-gnueabihf', platform: 'v7l' },
  21: { multiarch: 'powerpc64le-linux-gnu', platform: 'powerpc64le' },
  22: { multiarch: 's390x-linux-gnu', platform: 's390x' },
};

export interface LoaderContext {
  fs: MergedFs;
  /** LD_LIBRARY_PATH entries from the image config's Env. */
  ldLibraryPath: string[];
  /** Directories from /etc/ld.so.conf and its includes. */
  ldSoConf: string[];
}

/** Reads /etc/ld.so.conf with its `include` globs (as ldconfig does), from the merged image. */
export function readLdSoConf(fs: MergedFs): string[] {
  const dirs: string[] = [];
  const seen = new Set<string>();
  const readConf = (path: string, depth: number): void => {
    if (depth > 8 || seen.has(path)) return;
    seen.add(path);
    const body = fs.body(path);
    if (!body) return;
    for (const raw of body.toString('utf8').split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (!line) continue;
      const inc = /^include\s+(.+)$/.exec(line);
      if (inc) {
        for (const pat of inc[1]!.trim().split(/\s+/)) {
          const abs = pat.startsWith('/') ? pat : `/etc/${pat}`;
          for (const p of globFiles(fs, normalizeEntryPath(abs))) readConf(p, depth + 1);
        }
        continue;
      }
      if (line.startsWith('hwcap ')) continue;
      for (const d of line.split(/[:,\s]+/)) if (d) dirs.push(normalizeEntryPath(d));
    }
  };
  readConf('etc/ld.so.conf', 0);
  return dirs;
}

/** Files matching a glob whose `*`/`?` are in the last component only (ld.so.conf.d/*.conf). */
function globFiles(fs: MergedFs, pattern: string): string[] {
  const dir = dirname(pattern);
  const base = basename(pattern);
  if (!/[*?[]/.test(base)) return [pattern];
  const re = new RegExp(`^${base.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  const d = fs.lookup(dir, true);
  if (!d?.children) return [];
  return [...d.children.keys()].filter((n) => re.test(n)).sort().map((n) => (dir ? `${dir}/${n}` : n));
}

/** LD_LIBRARY_PATH from an image Env list. */
export function ldLibraryPathFromEnv(env: string[]): string[] {
  const v = env.find((e) => e.startsWith('LD_LIBRARY_PATH='));
  if (!v) return [];
  return v.slice('LD_LIBRARY_PATH='.length).split(/[:;]/).filter(Boolean);
}

function isFileLike(n: FsNode | undefined): boolean {
  return !!n && n.inode !== undefined;
}

function expand(dir: string, origin: string, elf: ElfDynamic): string[] {
  const m = MACHINES[elf.machine];
  const libs = elf.bits === 64 ? ['lib64', m ? `lib/${m.multiarch}` : 'lib'] : ['lib', m ? `lib/${m.multiarch}` : 'lib'];
  let out = [dir.replace(/\$\{ORIGIN\}|\$ORIGIN(?![A-Za-z0-9_])/g, `/${origin}`).replace(/\$\{PLATFORM\}|\$PLATFORM/g, m?.platform ?? 'x86_64')];
  if (/\$\{LIB\}|\$LIB/.test(out[0]!)) out = libs.map((l) => out[0]!.replace(/\$\{LIB\}|\$LIB/g, l));
  return out;
}

export type Resolution =
  | { found: true; path: string; via: 'path' | 'rpath' | 'LD_LIBRARY_PATH' | 'runpath' | 'ld.so.conf' | 'default' }
  | { found: false; hostProvided: boolean };

/** Default directories after ld.so.cache, for the ELF's class and machine. */
function defaultDirs(elf: ElfDynamic): string[] {
  const m = MACHINES[elf.machine];
  const multi = m ? [`lib/${m.multiarch}`, `usr/lib/${m.multiarch}`] : [];
  return elf.bits === 64 ? ['lib64', 'usr/lib64', ...multi, 'lib', 'usr/lib'] : [...multi, 'lib', 'usr/lib'];
}

/** Resolves one DT_NEEDED name of the ELF file at `path` (root-relative) the way ld.so would. */
export function resolveNeeded(ctx: LoaderContext, path: string, elf: ElfDynamic, name: string): Resolution {
  const origin = ctx.fs.canonical(path) ? dirname(ctx.fs.canonical(path)!) : dirname(path);
  const tryDir = (dir: string): string | undefined => {
    const p = normalizeEntryPath(`${dir}/${name}`);
    return isFileLike(ctx.fs.lookup(p, true)) ? p : undefined;
  };
  if (name.includes('/')) {
    const p = normalizeEntryPath(name.startsWith('/') ? name : `${origin}/${name}`);
    return isFileLike(ctx.fs.lookup(p, true)) ? { found: true, path: p, via: 'path' } : { found: false, hostProvided: false };
  }
  const attempt = (dirs: string[], via: Exclude<Resolution & { found: true }, never>['via']): Resolution | undefined => {
    for (const d of dirs) {
      for (const e of expand(d, origin, elf)) {
        const p = tryDir(e);
        if (p) return { found: true, path: p, via };
      }
    }
    return undefined;
  };
  return (
    (elf.runpath.length === 0 ? attempt(elf.rpath, 'rpath') : undefined) ??
    attempt(ctx.ldLibraryPath, 'LD_LIBRARY_PATH') ??
    attempt(elf.runpath, 'runpath') ??
    attempt(ctx.ldSoConf, 'ld.so.conf') ??
    attempt(defaultDirs(elf), 'default') ?? { found: false, hostProvided: HOST_PROVIDED.test(name) }
  );
}
