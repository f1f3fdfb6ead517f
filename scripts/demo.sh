#!/usr/bin/env bash
# npm run demo: builds the sample images (offline Debian base + each sample-images/*/Dockerfile) and
# writes one analysis report per sample to reports/ (JSON and Markdown).
set -euo pipefail
cd "$(dirname "$0")/.."
docker info >/dev/null 2>&1 || bash scripts/setup-docker.sh
npm run --silent build
BASE=${IMGSCOPE_BASE_IMAGE:-imgscope/debian-base:bookworm}
bash sample-images/base/build-base.sh "$BASE"
mkdir -p reports
for dockerfile in sample-images/*/Dockerfile; do
  dir=$(dirname "$dockerfile")
  name=$(basename "$dir")
  tag="imgscope-sample/$name:latest"
  echo "== $name: docker build"
  DOCKER_BUILDKIT=0 docker build -q -t "$tag" --build-arg "BASE=$BASE" "$dir" >/dev/null
  node dist/cli.js analyze "$tag" --quiet --format json --output "reports/$name.json"
  node dist/cli.js analyze "$tag" --quiet --format markdown --output "reports/$name.md"
  node dist/cli.js analyze "$tag" --quiet --top 8
done
echo "reports written to reports/"
