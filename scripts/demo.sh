#!/usr/bin/env bash
# The demo: shows the small Shakespeare model shipped in scripts/demo with lamina.
set -euo pipefail
cd "$(dirname "$0")/.."
model=scripts/demo/shakespeare-llama
echo "== lamina inspect $model ==" >&2
build/lamina inspect "$model" | head -5
echo "== lamina generate (sampled continuation of a Shakespeare prompt) ==" >&2
build/lamina generate --model "$model" --ignore-chat-template --prompt "ROMEO:" --max-tokens 80 --temp 0.7 --seed 42
