#!/usr/bin/env bash
# Installs and starts what imgscope's integration tests and demo need on a Debian machine with no
# Docker engine running: docker.io (dockerd), debootstrap (offline base image), skopeo and
# docker-registry (test helpers only; imgscope itself needs neither), binutils (readelf: the ELF
# reader's unit test checks against it), fatrace (coldstart --trace-files; the demo and its test use
# it), podman (the containers-storage: integration test builds and saves an image with it; as root
# it needs no uidmap or fuse-overlayfs, and its store must use the overlay driver). Idempotent; run
# as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v readelf >/dev/null 2>&1 || need+=(binutils)
command -v fatrace >/dev/null 2>&1 || need+=(fatrace)
command -v zstd >/dev/null 2>&1 || need+=(zstd) # the reference encoder for the zstd checksum tests
command -v podman >/dev/null 2>&1 || need+=(podman)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup-docker.sh: need root to install ${need[*]}" >&2
    exit 3
  fi
  echo "installing ${need[*]}"
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup-docker.sh: the Docker daemon is not running and starting it needs root" >&2
    exit 3
  fi
  # A dockerd killed with its session leaves a pid file behind, and the next start refuses.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  if ! pgrep -x dockerd >/dev/null; then
    echo "starting dockerd (log: /tmp/imgscope-dockerd.log)"
    setsid dockerd >/tmp/imgscope-dockerd.log 2>&1 < /dev/null &
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    echo "setup-docker.sh: dockerd did not come up in 60 s:" >&2
    tail -20 /tmp/imgscope-dockerd.log >&2 || true
    exit 3
  fi
fi
echo "docker $(docker version --format '{{.Server.Version}}') is up"

# containers-storage: reads overlay stores only; a store first made with another driver keeps it.
if [ "$(id -u)" = 0 ]; then
  podman_driver=$(podman info --format '{{.Store.GraphDriverName}}' 2>/dev/null || true)
  if [ "$podman_driver" != overlay ]; then
    echo "setup-docker.sh: podman's storage driver is '${podman_driver:-unknown}', not overlay (podman info; a store under /var/lib/containers/storage made with another driver keeps it)" >&2
    exit 3
  fi
  echo "podman $(podman version --format '{{.Client.Version}}') is ready (storage driver overlay)"
fi
