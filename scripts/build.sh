#!/usr/bin/env bash
# Configures and builds lamina. Usage: scripts/build.sh [release|asan|tsan]
#   release: build/      (Release, warnings as errors, tests + benchmarks)
#   asan:    build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer, tests only; with
#                         clang installed also the libFuzzer targets: scripts/fuzz.sh)
#   tsan:    build-tsan/ (ThreadSanitizer: the library and the tests of its threaded parts)
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
           -DLAMINA_BENCHMARKS=OFF)
    if command -v clang++ >/dev/null 2>&1; then
      # clang: ASan + UBSan plus libFuzzer's coverage, so the same build runs the tests and
      # the fuzz targets.
      export CC=clang CXX=clang++
      flags+=(-DLAMINA_FUZZ=ON)
    else
      flags+=(-DLAMINA_SANITIZE=address,undefined)
    fi
    ;;
  tsan)
    dir=build-tsan
    # The thread pool and the kernels that split their loops over it, the evaluator and
    # the Vulkan backend's recording and submission (on lavapipe in CI).
    only="thread_pool_test;eval_test;matmul_test;elementwise_test;reduce_test;packed_gemm_test"
    only+=";quantized_kernels_test;fast_attention_test;random_test"
    if [ -n "$(command -v glslangValidator)" ]; then only+=";vulkan_ops_test"; fi
    flags=(-DCMAKE_BUILD_TYPE=None "-DCMAKE_CXX_FLAGS=-O1 -g1" -DLAMINA_WERROR=ON
           -DLAMINA_BENCHMARKS=OFF -DLAMINA_SANITIZE=thread "-DLAMINA_TEST_ONLY=$only")
    ;;
  *)
    echo "usage: scripts/build.sh [release|asan|tsan]" >&2
    exit 2
    ;;
esac
cmake -S . -B "$dir" "${generator[@]}" "${flags[@]}" >&2
cmake --build "$dir" -j "$jobs" >&2
