#!/usr/bin/env bash
# End-to-end speed matrix: writes random-weight models of real shapes (make_bench_model),
# runs e2e_bench on each (prefill tokens/s of a 512-token prompt, generation tokens/s of 128
# tokens, peak RSS) for every dtype and thread count, deletes each model after measuring,
# and prints a markdown table. One e2e_bench process per cell, so peak RSS is the cell's.
#   scripts/bench_e2e.sh [BUILD_DIR]        (default: build; configure with -DLAMINA_BENCHMARKS=ON)
# Environment (defaults): SHAPES="tinyllama-1.1b qwen2.5-0.5b" DTYPES="float32 bfloat16 float16"
#   THREADS="1 2" PROMPT=512 GEN=128 RUNS=2 WORK=/tmp
#   PRIORITY="" (e.g. PRIORITY="chrt -f 1" as root on a machine shared with compile jobs:
#   the benchmark then is not preempted by them; the table's cpu share column shows how much
#   of threads x wall time the run really had).
set -euo pipefail

build=${1:-build}
bench="$build/benchmarks/e2e_bench"
maker="$build/benchmarks/make_bench_model"
for tool in "$bench" "$maker"; do
  [[ -x $tool ]] || { echo "bench_e2e.sh: $tool not found (build with -DLAMINA_BENCHMARKS=ON)" >&2; exit 1; }
done
SHAPES=${SHAPES:-"tinyllama-1.1b qwen2.5-0.5b"}
DTYPES=${DTYPES:-"float32 bfloat16 float16"}
THREADS=${THREADS:-"1 2"}
PROMPT=${PROMPT:-512}
GEN=${GEN:-128}
RUNS=${RUNS:-2}
WORK=${WORK:-/tmp}
read -r -a priority <<< "${PRIORITY:-}"

rows=()
for shape in $SHAPES; do
  for dtype in $DTYPES; do
    dir="$WORK/lamina-bench-$shape-$dtype"
    # Room for the model (f32 TinyLlama is 4.4 GB) plus 1 GB.
    model_mb=2000
    [[ $shape == tinyllama-1.1b ]] && model_mb=4400
    need_kb=$(( (model_mb + 1024) * 1024 ))
    avail_kb=$(df -Pk "$WORK" | awk 'NR == 2 {print $4}')
    if (( avail_kb < need_kb )); then
      echo "bench_e2e.sh: not enough space in $WORK for $shape $dtype" >&2
      exit 1
    fi
    trap 'rm -rf "$dir"' EXIT
    "${priority[@]}" "$maker" --shape "$shape" --dtype "$dtype" --out "$dir"
    sync  # the kernel's write-back of the new file would otherwise run during the measurement
    for threads in $THREADS; do
      # The machine's read bandwidth just before, for the generation bound column.
      bandwidth=$("${priority[@]}" "$bench" --read-bandwidth --threads "$threads")
      row=$("${priority[@]}" "$bench" --model "$dir" --threads "$threads" --prompt-tokens "$PROMPT" \
            --gen-tokens "$GEN" --runs "$RUNS" --bandwidth "$bandwidth" --markdown)
      echo "$row" >&2
      rows+=("$row")
    done
    rm -rf "$dir"
    trap - EXIT
  done
done

echo "| model | weights | threads | prefill tok/s ($PROMPT) | generation tok/s ($GEN) | bandwidth bound tok/s (reached) | peak RSS MB | peak RSS / (weights + KV) | cpu share |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
