#!/usr/bin/env bash
# Installs everything lamina needs to build, test and run (Debian 12 packages only),
# then builds lamina and runs the demo. Usage: scripts/setup.sh [--no-demo]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config ninja-build
  libopenblas-dev libcli11-dev nlohmann-json3-dev libzstd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libpcre2-dev libutf8proc-dev libyaml-cpp-dev libmimalloc-dev
  libvulkan-dev glslang-tools mesa-vulkan-drivers vulkan-tools
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >&2
fi

if [ "${1:-}" != "--no-demo" ]; then
  scripts/build.sh release
  scripts/demo.sh
fi
