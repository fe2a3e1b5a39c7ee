#!/usr/bin/env bash
# Builds lamina and runs the whole test suite twice: a Release build (warnings are
# errors), then an AddressSanitizer + UndefinedBehaviorSanitizer build.
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
fi
