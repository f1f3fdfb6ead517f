#!/usr/bin/env bash
# npm run demo: builds the sample images (sample-images/build.sh: offline Debian base + the five
# variants) and writes one analysis report per sample to reports/ (JSON and Markdown), then times the
# CPU samples' cold start (reports/<sample>.coldstart.json).
set -euo pipefail
cd "$(dirname "$0")/.."
docker info >/dev/null 2>&1 || bash scripts/setup-docker.sh
npm run --silent build
bash sample-images/build.sh
mkdir -p reports
for dockerfile in sample-images/*/Dockerfile; do
  name=$(basename "$(dirname "$dockerfile")")
  tag="imgscope-sample/$name:latest"
  echo "== $name"
  node dist/cli.js analyze "$tag" --quiet --format json --output "reports/$name.json"
  node dist/cli.js analyze "$tag" --quiet --format markdown --output "reports/$name.md"
  node dist/cli.js analyze "$tag" --quiet --top 8
done
for name in cpu-naive cpu-multistage cpu-pruned; do
  probe=()
  # the naive image has no HEALTHCHECK: poll its HTTP endpoint instead
  [ "$name" = cpu-naive ] && probe=(--http http://127.0.0.1:18700/health -p 18700:8000)
  node dist/cli.js coldstart "imgscope-sample/$name:latest" --quiet --runs 5 --warmup 1 "${probe[@]}" \
    --format json --output "reports/$name.coldstart.json"
done
echo "reports written to reports/"
