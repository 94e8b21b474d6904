#!/usr/bin/env bash
# Regenerates the images the README shows (docs/images/) from the shipped scenarios.
# Usage: tools/docs-images.sh     (from the repository root; about 10 s in a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
sim=./target/release/simulate
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

$sim -q scenarios/primary_down.toml --out "$tmp/primary_down" > /dev/null
$sim -q scenarios/compare_algorithms.toml --out "$tmp/compare" > /dev/null
$sim -q scenarios/spof_study.toml --out "$tmp/spof" > /dev/null
$sim ladder scenarios/ladder/*.toml --out "$tmp/ladder" > /dev/null

cp "$tmp/primary_down/failure_timeline.png"                     docs/images/primary_down_timeline.png
cp "$tmp/compare/algorithms_latency_servers-3-speed-1.0.png"   docs/images/algorithms_latency.png
cp "$tmp/compare/algorithms_errors.png"                         docs/images/algorithms_errors.png
cp "$tmp/compare/algorithms_latency_cdf.png"                    docs/images/algorithms_latency_cdf.png
cp "$tmp/spof/availability_components.png"                      docs/images/spof_components.png
cp "$tmp/ladder/availability_ladder.png"                        docs/images/availability_ladder.png
echo "docs/images/ regenerated"
