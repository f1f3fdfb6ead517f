#!/usr/bin/env bash
# Installs Debian's chromium for the HTML reports' browser tests and the demo's screenshots
# (playwright-core drives it; it never downloads a browser of its own). Idempotent; run as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ -x "${IMGSCOPE_CHROMIUM:-/usr/bin/chromium}" ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "setup-browser.sh: need root to install chromium" >&2
  exit 3
fi
echo "installing chromium"
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null
