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

state=${XDG_CACHE_HOME:-$HOME/.cache}/imgscope/samples # what each sample was last built from
mkdir -p "$state"
ctx=$(mktemp -d /tmp/imgscope-sample-ctx.XXXXXX)
trap 'rm -rf "$ctx"' EXIT INT TERM
for v in "${variants[@]}"; do
  [ -f "$here/$v/Dockerfile" ] || { echo "build.sh: no sample named $v" >&2; exit 2; }
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp -a "$here/app/." "$ctx/"
  cp -a "$here/$v/." "$ctx/"
  # A sample whose inputs (context, build args, base image ID) are those of its last build here is
  # not built again: the legacy builder's cache does not survive the demo taking the images off the
  # daemon and pulling them back, and a rebuild gives new image IDs that saved start-up reports no
  # longer match.
  base_id=online
  [ "${IMGSCOPE_SAMPLE_ONLINE:-0}" = 1 ] || base_id=$(docker image inspect -f '{{.Id}}' "$BASE")
  inputs=$( (cd "$ctx" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; echo "${args[*]:-} $base_id") | sha256sum | cut -c1-16)
  have=$(docker image inspect -f '{{.Id}}' "imgscope-sample/$v:latest" 2>/dev/null || true)
  if [ -n "$have" ] && [ -f "$state/$v" ] && [ "$(cat "$state/$v")" = "$inputs $have" ]; then
    echo "   imgscope-sample/$v is up to date (inputs $inputs)"
    continue
  fi
  start=$(date +%s)
  echo "== building imgscope-sample/$v"
  DOCKER_BUILDKIT=0 docker build -q -t "imgscope-sample/$v:latest" "${args[@]}" "$ctx" >/dev/null
  echo "$inputs $(docker image inspect -f '{{.Id}}' "imgscope-sample/$v:latest")" > "$state/$v"
  echo "   built imgscope-sample/$v in $(( $(date +%s) - start )) s, $(docker image inspect "imgscope-sample/$v:latest" --format '{{.Size}}') bytes"
done
