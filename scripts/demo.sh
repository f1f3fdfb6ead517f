#!/usr/bin/env bash
# npm run demo: builds the sample images, pushes them to a throwaway local registry, analyzes each
# straight from it (so the reports know what a pull transfers), times each one's warm start (with the
# files it opens before ready) and its cold start (pull + start -> ready on a daemon that holds none
# of its layers), and writes reports/<sample>.{json,md,html}, reports/<sample>.{warmstart,coldstart}.json,
# the comparison reports/comparison.{md,json,html}, and a PNG screenshot of each reports/*.html
# (scripts/screenshot.mjs, Debian's chromium: scripts/setup-browser.sh).
#
# To make every pull fully cold, the samples and their base are taken off the daemon while the cold
# runs go (they are safe in the registry) and put back afterwards under their names, also when the
# demo fails or is interrupted. This drops the samples' build cache (legacy-builder parent images and
# builder stages) and the test suite's fixture images built on the same base: the next `npm run demo`
# rebuilds the samples (about 7 minutes on a 2-core machine), the next test run its fixtures.
#
# IMGSCOPE_DEMO_ANALYZE_ONLY=1 rewrites only the analyses and the comparison, reusing the start-up
# measurements already in reports/ (after a change to what an analysis says, not to the images).
set -euo pipefail
cd "$(dirname "$0")/.."
# as root, setup-docker.sh also installs what is missing (fatrace for the working sets); it is idempotent
if [ "$(id -u)" = 0 ]; then bash scripts/setup-docker.sh; else docker info >/dev/null 2>&1 || bash scripts/setup-docker.sh; fi
npm run --silent build
bash sample-images/build.sh

PORT=${IMGSCOPE_DEMO_REGISTRY_PORT:-5055}
REG="127.0.0.1:$PORT"
COLD_RUNS=${IMGSCOPE_DEMO_COLD_RUNS:-3}
ANALYZE_ONLY=${IMGSCOPE_DEMO_ANALYZE_ONLY:-}
WARM_RUNS=${IMGSCOPE_DEMO_WARM_RUNS:-5}
BASE=${IMGSCOPE_BASE_IMAGE:-imgscope/debian-base:bookworm}
samples=(cpu-naive cpu-multistage cpu-pruned gpu-devel gpu-runtime)
names=naive,multi-stage,pruned,gpu-devel,gpu-runtime
local_names=("$BASE")
for s in "${samples[@]}"; do local_names+=("imgscope-sample/$s:latest"); done

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

# Puts back every local image the demo took off the daemon (from the registry), then drops the
# registry's names and the registry itself.
restore() {
  local status=$?
  trap - EXIT INT TERM
  for n in "${local_names[@]}"; do
    if ! docker image inspect "$n" >/dev/null 2>&1; then
      echo "demo: restoring $n" >&2
      docker pull -q "$REG/$n" >/dev/null && docker tag "$REG/$n" "$n" || echo "demo: could not restore $n (rebuild it: npm run samples)" >&2
    fi
    # the registry's tag and the digest references a pull from it left
    for r in "$REG/$n" $(docker image inspect -f '{{range .RepoDigests}}{{.}} {{end}}' "$n" 2>/dev/null | tr ' ' '\n' | grep "^$REG/" || true); do
      docker rmi "$r" >/dev/null 2>&1 || true
    done
  done
  kill "$regpid" 2>/dev/null || true
  rm -rf "$store"
  exit "$status"
}
trap restore EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
node -e 'const u = process.argv[1]; (async () => { for (let i = 0; i < 100; i++) { try { if ((await fetch(u)).ok) return; } catch {} await new Promise((r) => setTimeout(r, 100)); } console.error(`demo: no registry at ${u}`); process.exit(3); })()' "http://$REG/v2/"

mkdir -p reports
for n in "${local_names[@]}"; do
  echo "== pushing $n to $REG"
  docker tag "$n" "$REG/$n"
  docker push -q "$REG/$n" >/dev/null
done

probe_args() { # the naive image has no HEALTHCHECK: poll its HTTP endpoint instead
  [ "$1" = cpu-naive ] && echo "--http http://127.0.0.1:18700/health -p 18700:8000" || true
}

for name in "${samples[@]}"; do
  ref="$REG/imgscope-sample/$name:latest"
  echo "== $name: analyze, warm start"
  node dist/cli.js analyze "docker://$ref" --quiet --format json --output "reports/$name.json"
  node dist/cli.js analyze "docker://$ref" --quiet --format markdown --output "reports/$name.md"
  node dist/cli.js analyze "docker://$ref" --quiet --format html --output "reports/$name.html"
  [ -n "$ANALYZE_ONLY" ] && continue
  # shellcheck disable=SC2046
  node dist/cli.js coldstart "imgscope-sample/$name:latest" --quiet --runs "$WARM_RUNS" --warmup 1 --trace-files $(probe_args "$name") \
    --format json --output "reports/$name.warmstart.json"
done

if [ -z "$ANALYZE_ONLY" ]; then
echo "== taking the samples and their base off the daemon (they are in $REG)"
base_layer=$(docker image inspect -f '{{index .RootFS.Layers 0}}' "$BASE")
for n in "${local_names[@]}"; do docker rmi "$n" "$REG/$n" >/dev/null; done
# The multi-stage samples' builder stages (untagged, built on the same base) would keep the base
# layer on the daemon: they are build cache only.
for id in $(docker images -q --filter dangling=true); do
  if [ "$(docker image inspect -f '{{index .RootFS.Layers 0}}' "$id" 2>/dev/null)" = "$base_layer" ]; then docker rmi "$id" >/dev/null; fi
done
# So would the test suite's fixture images (imgscope-test/*, rebuilt by the suite when missing).
for n in $(docker images --format '{{.Repository}}:{{.Tag}}' 'imgscope-test/*'); do
  if [ "$(docker image inspect -f '{{index .RootFS.Layers 0}}' "$n" 2>/dev/null)" = "$base_layer" ]; then
    docker rmi "$n" >/dev/null || echo "demo: $n is in use and keeps the base layer: the pulls will be partly warm" >&2
  fi
done
for name in "${samples[@]}"; do
  ref="$REG/imgscope-sample/$name:latest"
  echo "== $name: cold start, $COLD_RUNS runs"
  # shellcheck disable=SC2046
  node dist/cli.js coldstart "$ref" --cold --quiet --runs "$COLD_RUNS" --warmup 0 --no-imports $(probe_args "$name") \
    --format json --output "reports/$name.coldstart.json"
  docker rmi "$ref" >/dev/null # the next sample's pull must not find this one's layers
done
fi

args=()
for name in "${samples[@]}"; do args+=("reports/$name.json"); done
for name in "${samples[@]}"; do args+=("reports/$name.coldstart.json" "reports/$name.warmstart.json"); done
node dist/cli.js compare "${args[@]}" --names "$names" --format markdown --output reports/comparison.md
node dist/cli.js compare "${args[@]}" --names "$names" --format json --output reports/comparison.json
node dist/cli.js compare "${args[@]}" --names "$names" --format html --output reports/comparison.html
node dist/cli.js compare "${args[@]}" --names "$names"
# a picture of each page (the README shows reports/gpu-devel.png)
if [ "$(id -u)" = 0 ]; then bash scripts/setup-browser.sh; fi
node scripts/screenshot.mjs reports/*.html
echo "reports written to reports/"
