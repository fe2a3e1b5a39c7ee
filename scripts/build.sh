#!/usr/bin/env bash
# Configures and builds lamina. Usage: scripts/build.sh [release|asan] 
#   release: build/      (Release, warnings as errors, tests + benchmarks)
#   asan:    build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer, tests only)
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-release}"
jobs="${LAMINA_BUILD_JOBS:-$(nproc)}"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
case "$kind" in
  release)
    dir=build
    flags=(-DCMAKE_BUILD_TYPE=Release -DLAMINA_WERROR=ON -DLAMINA_BENCHMARKS=ON)
    ;;
  asan)
    dir=build-asan
    # -O1 -g1: sanitizer builds compile about twice as fast as at -O2 -g and still give
    # file:line stack traces.
    flags=(-DCMAKE_BUILD_TYPE=None "-DCMAKE_CXX_FLAGS=-O1 -g1" -DLAMINA_WERROR=ON
           -DLAMINA_BENCHMARKS=OFF -DLAMINA_SANITIZE=address,undefined)
    ;;
  *)
    echo "usage: scripts/build.sh [release|asan]" >&2
    exit 2
    ;;
esac
cmake -S . -B "$dir" "${generator[@]}" "${flags[@]}" >&2
cmake --build "$dir" -j "$jobs" >&2
