#!/usr/bin/env bash
# The demo: shows the small Shakespeare model shipped in scripts/demo with lamina.
set -euo pipefail
cd "$(dirname "$0")/.."
model=scripts/demo/shakespeare-llama
echo "== lamina inspect $model ==" >&2
build/lamina inspect "$model"
