#!/usr/bin/env bash
# Builds lamina and runs the whole test suite: a Release build (warnings are errors), then
# an AddressSanitizer + UndefinedBehaviorSanitizer build (with clang: also a 60 s libFuzzer
# pass per parser, scripts/fuzz.sh), then the threaded parts under ThreadSanitizer.
# Usage: scripts/test.sh [--no-sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d ../shared/testdata ]; then
  echo "test.sh: ../shared/testdata is missing (the shared test data must sit beside the repo)" >&2
  exit 1
fi
jobs="$(nproc)"

echo "== release build ==" >&2
scripts/build.sh release
(cd build && ctest --output-on-failure -j "$jobs")

if [ "${1:-}" != "--no-sanitize" ]; then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer build ==" >&2
  scripts/build.sh asan
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     LSAN_OPTIONS="suppressions=$PWD/../tests/lsan.supp" \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest --output-on-failure -j "$jobs")
  if ls build-asan/*_fuzz >/dev/null 2>&1; then
    echo "== libFuzzer: 60 s per target ==" >&2
    scripts/fuzz.sh --build-dir build-asan 60
  fi

  echo "== ThreadSanitizer build (thread pool, kernels, evaluator, Vulkan) ==" >&2
  scripts/build.sh tsan
  # OpenBLAS's own threads are not instrumented: kernels run on lamina's pool alone here.
  (cd build-tsan && OPENBLAS_NUM_THREADS=1 \
     TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/../tests/tsan.supp" \
     ctest --output-on-failure -j "$jobs")
fi
