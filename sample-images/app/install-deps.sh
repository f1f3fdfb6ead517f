#!/bin/sh
# Installs the app's Python dependencies in one of two ways:
#   INSTALL=pip (the real world: python:3.11-slim + PyPI): pip install -r requirements.txt,
#     into PREFIX when set (multi-stage builders), with or without pip's cache (NO_CACHE=1).
#   INSTALL=apt (this offline machine: a Debian base, no PyPI): the same libraries from Debian.
# STAGE=build also installs what training needs; STAGE=runtime only what serving needs, and cleans up
# (apt lists and caches) when CLEAN=1.
set -eu
INSTALL=${INSTALL:-pip}
STAGE=${STAGE:-runtime}
CLEAN=${CLEAN:-0}
case "$INSTALL" in
  pip)
    [ "$STAGE" = runtime ] && [ -n "${PREFIX:-}" ] && exit 0
    # CUDA base images (ubuntu) come without pip
    command -v pip >/dev/null 2>&1 || { apt-get update && apt-get install -y --no-install-recommends python3-pip; }
    if [ "${NO_CACHE:-0}" = 1 ]; then cache=--no-cache-dir; else cache=; fi
    pip install $cache ${PREFIX:+--prefix=$PREFIX} -r requirements.txt
    ;;
  apt)
    apt-get update
    if [ "$CLEAN" = 1 ]; then rec=--no-install-recommends; else rec=; fi
    apt-get install -y $rec python3 python3-sklearn python3-joblib python3-fastapi python3-uvicorn python3-pydantic
    if [ "$CLEAN" = 1 ]; then apt-get clean; rm -rf /var/lib/apt/lists/*; fi
    ;;
  *) echo "install-deps.sh: INSTALL must be pip or apt" >&2; exit 2 ;;
esac
