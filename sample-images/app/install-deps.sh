#!/bin/sh
# Installs the app's Python dependencies in one of two ways:
#   INSTALL=pip (the real world: python:3.11-slim + PyPI): pip install -r requirements.txt, into
#     PREFIX when set (multi-stage builders), without pip's cache when NO_CACHE=1.
#   INSTALL=apt (this offline machine: a Debian base, no PyPI): the same libraries from Debian.
# STAGE=build   everything training and serving need (in PREFIX for pip).
# STAGE=collect (multi-stage builders, apt only) copies what serving needs into PREFIX the way
#               `pip install --prefix` lays it out: the Python packages, and the native libraries their
#               extension modules load. Debian's python3-scipy depends on pythran, which depends on
#               g++ and boost: installing in the runtime stage would ship a compiler.
# STAGE=runtime what the runtime stage of a multi-stage build installs itself (PREFIX set: only the
#               interpreter; the packages come from the builder), cleaning apt lists and caches.
set -eu
INSTALL=${INSTALL:-pip}
STAGE=${STAGE:-build}
PKGS="python3-sklearn python3-joblib python3-fastapi python3-uvicorn python3-pydantic"
apt_clean() { apt-get clean; rm -rf /var/lib/apt/lists/*; }
case "$INSTALL:$STAGE" in
  pip:build)
    # CUDA base images (ubuntu) come without pip
    command -v pip >/dev/null 2>&1 || { apt-get update && apt-get install -y --no-install-recommends python3-pip; }
    if [ "${NO_CACHE:-0}" = 1 ]; then cache=--no-cache-dir; else cache=; fi
    pip install $cache ${PREFIX:+--prefix=$PREFIX} -r requirements.txt
    ;;
  pip:collect) ;;
  pip:runtime) [ -n "${PREFIX:-}" ] || pip install --no-cache-dir -r requirements.txt ;;
  apt:build)
    apt-get update
    if [ "${CLEAN:-0}" = 1 ]; then apt-get install -y --no-install-recommends python3 $PKGS; apt_clean;
    else apt-get install -y python3 $PKGS; fi
    ;;
  apt:collect)
    py=$(python3 -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")')
    dest="$PREFIX/lib/$py/dist-packages"
    mkdir -p "$dest" "$PREFIX/lib"
    cp -a /usr/lib/python3/dist-packages/. "$dest/"
    rm -rf "$dest"/pythran "$dest"/pythran-* "$dest"/beniget* "$dest"/gast*   # compilers, build time only
    # Keep each distribution's file list, as `pip install --prefix` would (RECORD / installed-files.txt),
    # from dpkg's own list of the package that shipped it.
    python3 - "$dest" <<'PY'
import glob, os, subprocess, sys
src, dest = "/usr/lib/python3/dist-packages", sys.argv[1]
for info in glob.glob(f"{src}/*.egg-info") + glob.glob(f"{src}/*.dist-info"):
    target = os.path.join(dest, os.path.basename(info))
    if not os.path.isdir(target):
        continue
    try:
        pkg = subprocess.check_output(["dpkg", "-S", info], text=True, stderr=subprocess.DEVNULL).split(":")[0]
        listed = subprocess.check_output(["dpkg", "-L", pkg], text=True).splitlines()
    except subprocess.CalledProcessError:
        continue
    rel = [os.path.relpath(f, src) for f in listed if f.startswith(src + "/") and os.path.isfile(f) and not os.path.islink(f)]
    if info.endswith(".egg-info"):
        with open(os.path.join(target, "installed-files.txt"), "w") as fh:
            fh.write("".join(f"../{r}\n" for r in rel))
    elif not os.path.exists(os.path.join(target, "RECORD")):
        with open(os.path.join(target, "RECORD"), "w") as fh:
            fh.write("".join(f"{r},,\n" for r in rel))
PY
    find "$dest" -name '*.so*' -type f -exec ldd {} + 2>/dev/null | awk '/=> \// {print $3}' | sort -u \
      | grep -Ev '/(libc|libm|libpthread|libdl|librt|libutil|ld-linux[^/]*)\.so' \
      | while read -r lib; do cp -L "$lib" "$PREFIX/lib/"; done
    ;;
  apt:runtime)
    apt-get update
    if [ -n "${PREFIX:-}" ]; then apt-get install -y --no-install-recommends python3;
    else apt-get install -y --no-install-recommends python3 $PKGS; fi
    apt_clean
    ;;
  *) echo "install-deps.sh: unknown INSTALL=$INSTALL STAGE=$STAGE" >&2; exit 2 ;;
esac
