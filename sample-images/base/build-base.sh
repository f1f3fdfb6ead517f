#!/usr/bin/env bash
# Builds the offline Debian base image that the sample Dockerfiles are built FROM on a machine that
# cannot reach any container registry: debootstrap (minbase) + `docker import`.
# The image is labelled with a digest of this script's inputs and is rebuilt only when they change.
# Usage: build-base.sh [IMAGE_NAME]   (default imgscope/debian-base:bookworm)
set -euo pipefail
NAME=${1:-imgscope/debian-base:bookworm}
SUITE=${IMGSCOPE_BASE_SUITE:-bookworm}
MIRROR=${IMGSCOPE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
COMPONENTS=main,contrib,non-free,non-free-firmware
here=$(cd "$(dirname "$0")" && pwd)
key=$( { cat "$0"; echo "$SUITE $MIRROR $COMPONENTS $(dpkg --print-architecture)"; } | sha256sum | cut -c1-16)

have=$(docker image inspect "$NAME" --format '{{index .Config.Labels "imgscope.base.inputs"}}' 2>/dev/null || true)
if [ "$have" = "$key" ]; then
  echo "base $NAME is up to date (inputs $key)"
  exit 0
fi

command -v debootstrap >/dev/null || { echo "build-base.sh: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 3; }
root=$(mktemp -d /tmp/imgscope-base.XXXXXX)
trap 'rm -rf "$root"' EXIT INT TERM
echo "debootstrap $SUITE into $root (inputs $key)"
debootstrap --variant=minbase --components="$COMPONENTS" "$SUITE" "$root" "$MIRROR" >/tmp/imgscope-debootstrap.log 2>&1 \
  || { tail -20 /tmp/imgscope-debootstrap.log >&2; exit 3; }
# Same sources as the real image would have, with contrib/non-free for the CUDA packages.
cat >"$root/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main contrib non-free non-free-firmware
deb $MIRROR $SUITE-updates main contrib non-free non-free-firmware
SRC
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
  --change "LABEL imgscope.base.inputs=$key" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' - "$NAME" >/dev/null
echo "built $NAME"
