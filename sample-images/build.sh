#!/usr/bin/env bash
# Builds the sample images (npm run samples): the offline Debian base (cached by a digest of its
# inputs), then each variant with a build context made of app/ plus the variant's Dockerfile,
# .dockerignore and scripts, exactly as a project with that Dockerfile would have it.
# Usage: sample-images/build.sh [VARIANT...]   (default: all variants)
# Env: IMGSCOPE_BASE_IMAGE (default imgscope/debian-base:bookworm); IMGSCOPE_SAMPLE_ONLINE=1 builds
# with the Dockerfiles' real-world defaults (python:3.11, nvidia/cuda, PyPI) instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BASE=${IMGSCOPE_BASE_IMAGE:-imgscope/debian-base:bookworm}
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(cpu-naive cpu-multistage cpu-pruned gpu-devel gpu-runtime)

args=()
if [ "${IMGSCOPE_SAMPLE_ONLINE:-0}" != 1 ]; then
  bash "$here/base/build-base.sh" "$BASE"
  args=(--build-arg "BASE=$BASE" --build-arg INSTALL=apt --build-arg CUDA_FROM_APT=1)
fi

ctx=$(mktemp -d /tmp/imgscope-sample-ctx.XXXXXX)
trap 'rm -rf "$ctx"' EXIT INT TERM
for v in "${variants[@]}"; do
  [ -f "$here/$v/Dockerfile" ] || { echo "build.sh: no sample named $v" >&2; exit 2; }
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp -a "$here/app/." "$ctx/"
  cp -a "$here/$v/." "$ctx/"
  start=$(date +%s)
  echo "== building imgscope-sample/$v"
  DOCKER_BUILDKIT=0 docker build -q -t "imgscope-sample/$v:latest" "${args[@]}" "$ctx" >/dev/null
  echo "   built imgscope-sample/$v in $(( $(date +%s) - start )) s, $(docker image inspect "imgscope-sample/$v:latest" --format '{{.Size}}') bytes"
done
