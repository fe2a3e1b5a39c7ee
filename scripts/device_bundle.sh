#!/usr/bin/env bash
# Packs what a Vulkan run on another machine needs (the lent GPU machine of
# ../shared/docs/DEVICE-VULKAN.md: it has NVIDIA's driver but none of lamina's Debian
# libraries) into one archive: bin/ (lamina, make_bench_model, e2e_bench and the Vulkan test binaries
# of BUILD_DIR), lib/ (liblamina and the non-glibc libraries they load, found with ldd) and
# testdata/ (the test models and MLX goldens the Vulkan tests read).
# Usage: scripts/device_bundle.sh [BUILD_DIR] [OUT]   (default: build-vk .device-bundle/bundle.tar.xz)
# On the other machine: scripts/device_vulkan_run.sh unpacks it and sets up the loader.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-vk}"
out="${2:-.device-bundle/bundle.tar.xz}"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$stage/testdata/models" "$(dirname "$out")"

bins=("$build/lamina" "$build/benchmarks/make_bench_model" "$build/benchmarks/e2e_bench")
for t in "$build"/tests/vulkan_*_test; do bins+=("$t"); done
for b in "${bins[@]}"; do
  [ -x "$b" ] || { echo "device_bundle.sh: $b is missing (build it first)" >&2; exit 1; }
  cp "$b" "$stage/bin/"
done
# Every shared library the binaries load except glibc's and the C++ runtime, which the
# other machine has in newer, compatible versions.
for b in "${bins[@]}"; do ldd "$b"; done | awk '$3 ~ /^\// {print $3}' | sort -u |
  grep -v -E '/(libc|libm|libdl|librt|libpthread|ld-linux-x86-64|libstdc\+\+|libgcc_s)\.so' |
  while read -r lib; do cp -L "$lib" "$stage/lib/"; done

testdata=../shared/testdata
for m in tiny-llama tiny-qwen3 tiny-gemma stories260k shakespeare-llama; do
  cp -r "$testdata/models/$m" "$stage/testdata/models/"
done
cp -r "$testdata/mlx-golden" "$stage/testdata/"
tar -C "$stage" -cJf "$out" .
echo "$out: $(du -h "$out" | cut -f1)" >&2
