#!/usr/bin/env bash
# npm run demo: builds the sample images, pushes them to a throwaway local registry (so imgscope can
# read them straight from it and report what a pull transfers), analyzes each, times each one's cold
# start, and writes reports/<sample>.{json,md}, reports/<sample>.coldstart.json and the comparison
# reports/comparison.{md,json,html}.
set -euo pipefail
cd "$(dirname "$0")/.."
docker info >/dev/null 2>&1 || bash scripts/setup-docker.sh
npm run --silent build
bash sample-images/build.sh

PORT=${IMGSCOPE_DEMO_REGISTRY_PORT:-5055}
REG="127.0.0.1:$PORT"
store=$(mktemp -d /tmp/imgscope-demo-registry.XXXXXX)
cat >"$store/config.yml" <<CFG
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $store/data
http:
  addr: $REG
CFG
docker-registry serve "$store/config.yml" >"$store/registry.log" 2>&1 &
regpid=$!
trap 'kill $regpid 2>/dev/null || true; rm -rf "$store"' EXIT INT TERM
node -e 'const u = process.argv[1]; (async () => { for (let i = 0; i < 100; i++) { try { if ((await fetch(u)).ok) return; } catch {} await new Promise((r) => setTimeout(r, 100)); } console.error(`demo: no registry at ${u}`); process.exit(3); })()' "http://$REG/v2/"

samples=(cpu-naive cpu-multistage cpu-pruned gpu-devel gpu-runtime)
mkdir -p reports
for name in "${samples[@]}"; do
  ref="$REG/imgscope-sample/$name:latest"
  echo "== $name"
  docker tag "imgscope-sample/$name:latest" "$ref"
  docker push -q "$ref" >/dev/null
  node dist/cli.js analyze "docker://$ref" --quiet --format json --output "reports/$name.json"
  node dist/cli.js analyze "docker://$ref" --quiet --format markdown --output "reports/$name.md"
  probe=()
  # the naive image has no HEALTHCHECK: poll its HTTP endpoint instead
  [ "$name" = cpu-naive ] && probe=(--http "http://127.0.0.1:18700/health" -p 18700:8000)
  node dist/cli.js coldstart "$ref" --quiet --runs 5 --warmup 1 "${probe[@]}" --format json --output "reports/$name.coldstart.json"
done
args=()
for name in "${samples[@]}"; do args+=("reports/$name.json"); done
for name in "${samples[@]}"; do args+=("reports/$name.coldstart.json"); done
names=naive,multi-stage,pruned,gpu-devel,gpu-runtime
node dist/cli.js compare "${args[@]}" --names "$names" --format markdown --output reports/comparison.md
node dist/cli.js compare "${args[@]}" --names "$names" --format json --output reports/comparison.json
node dist/cli.js compare "${args[@]}" --names "$names" --format html --output reports/comparison.html
node dist/cli.js compare "${args[@]}" --names "$names"
echo "reports written to reports/"
