#!/usr/bin/env bash
# Fuzzes every parser with libFuzzer (targets in tests/fuzz/*_fuzz.cpp, built by
# `scripts/build.sh asan` when clang is installed: ASan + UBSan + libFuzzer).
#
# Usage: scripts/fuzz.sh [--build-dir DIR] [SECONDS] [TARGET ...]
#   SECONDS  per target (default 60); targets run $LAMINA_FUZZ_JOBS (default: nproc) at a time
#   TARGET   e.g. safetensors_fuzz (default: every target)
#
# Each target starts from its committed corpus (tests/fuzz/corpus/<target>) and runs with
# -timeout=1 (an input that takes over 1 s is a failure), -rss_limit_mb=2048 (over 2 GB is
# a failure) and leak detection. New inputs go to DIR/fuzz/<target>/corpus, failing inputs
# to DIR/fuzz/<target>/ (crash-*, leak-*, timeout-*, oom-*), logs to DIR/fuzz/<target>.log.
# Prints one line per target: executions, executions/s, coverage (edges) and features,
# peak RSS; exits non-zero when any target failed. A failing input becomes a regression
# test by copying it into tests/fuzz/corpus/<target>/ (replayed by ctest in every build).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-asan
if [ "${1:-}" = "--build-dir" ]; then build="$2"; shift 2; fi
seconds="${1:-60}"
[ $# -gt 0 ] && shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for source in tests/fuzz/*_fuzz.cpp; do targets+=("$(basename "$source" .cpp)"); done
fi
jobs="${LAMINA_FUZZ_JOBS:-$(nproc)}"

for target in "${targets[@]}"; do
  if [ ! -x "$build/$target" ]; then
    echo "fuzz.sh: $build/$target is missing: build it with scripts/build.sh asan (needs clang)" >&2
    exit 1
  fi
done

# The dictionary that fits each target's input.
dictionary() {
  case "$1" in
    chat_template_fuzz) echo tests/fuzz/dict/jinja.dict ;;
    encode_fuzz) echo "" ;;
    *) echo tests/fuzz/dict/json.dict ;;
  esac
}

run_one() {
  local target="$1" work="$build/fuzz/$1"
  rm -rf "$work" "$build/fuzz/$target.status"
  mkdir -p "$work/corpus"
  local dict flags=()
  dict="$(dictionary "$target")"
  [ -n "$dict" ] && flags+=("-dict=$dict")
  # The targets' scratch files go to a private TMPDIR, removed afterwards.
  TMPDIR="$work" ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/$target" -max_total_time="$seconds" -timeout=1 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$work/" "${flags[@]}" \
      "$work/corpus" "tests/fuzz/corpus/$target" >"$build/fuzz/$target.log" 2>&1
  echo $? >"$build/fuzz/$target.status"
}

# One summary line from a target's log.
summarize() {
  local target="$1" status="$2" log="$build/fuzz/$1.log"
  local runs rate rss cov ft
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)"
  cov="$( (grep -o 'cov: [0-9]*' "$log" || true) | tail -1 | cut -d' ' -f2)"
  ft="$( (grep -o 'ft: [0-9]*' "$log" || true) | tail -1 | cut -d' ' -f2)"
  printf '%-20s %-6s %8ss %10s execs %7s execs/s  cov %6s  ft %6s  peak RSS %5s MB\n' \
    "$target" "$status" "$seconds" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${rss:-?}"
}

mkdir -p "$build/fuzz"
failed=0
running=0
for target in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  (set +e; run_one "$target") &
  running=$((running + 1))
done
wait
for target in "${targets[@]}"; do
  if [ "$(cat "$build/fuzz/$target.status" 2>/dev/null)" = 0 ]; then
    summarize "$target" ok
  else
    summarize "$target" FAILED
    failed=1
    echo "fuzz.sh: $target failed; its log: $build/fuzz/$target.log; the input:" \
         "$( (ls "$build/fuzz/$target"/{crash,leak,timeout,oom,slow-unit}-* 2>/dev/null || true) | head -1)" >&2
    grep -m3 -E 'ERROR|SUMMARY|runtime error' "$build/fuzz/$target.log" >&2 || true
  fi
done
exit "$failed"
