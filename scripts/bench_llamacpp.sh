#!/usr/bin/env bash
# lamina vs llama.cpp on this machine, at equal bits per weight, TinyLlama-1.1B shape, batch 1:
# float16 vs F16, 4-bit group 64 vs Q4_0, 8-bit group 64 vs Q8_0 (4.5 and 8.5 bits per weight
# on both sides). For each thread count it runs llama-bench and lamina's e2e_bench back to back
# on the same random weights (make_bench_model -> benchmarks/lamina_to_gguf.py ->
# llama-quantize), then prints one markdown table, plus f16 -> 4-bit/8-bit quantize wall times.
#   scripts/bench_llamacpp.sh LLAMA_CPP_BUILD_DIR [LAMINA_BUILD_DIR]     (default: build)
#
# llama.cpp is a dev-time tool for this benchmark only: never needed by lamina's build or
# tests, never copied into the repo. Offline, its source comes from the npm package
# node-llama-cpp (a git bundle of a llama.cpp release):
#   npm pack node-llama-cpp@3.22.1 && tar -xzf node-llama-cpp-3.22.1.tgz package/llama/gitRelease.bundle
#   git clone package/llama/gitRelease.bundle /tmp/llamacpp-src
#   cmake -S /tmp/llamacpp-src -B /tmp/llamacpp -G Ninja -DCMAKE_BUILD_TYPE=Release \
#         -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF
#   nice -n 10 ninja -C /tmp/llamacpp llama-bench llama-quantize      (~40 min on 2 busy cores)
#   apt-get install -y python3-numpy        # for benchmarks/lamina_to_gguf.py (/usr/bin/python3)
# lamina: cmake ... -DLAMINA_BENCHMARKS=ON; ninja -C build lamina_cli e2e_bench make_bench_model
#
# Environment (defaults): THREADS="1 2" PROMPT=512 GEN=128 REPS=3 (timed repetitions, after a
#   warm-up, on both sides; the table gives the best of them) FORMATS="f16 q4 q8"
#   WORK=/tmp LLAMA_CPP_SRC=/tmp/llamacpp-src (for gguf-py) PYTHON=/usr/bin/python3
#   QUANT_THREADS=2 QUANT_RUNS=2 LLAMA_QUANTIZE_FLAGS="--pure" (every tensor in Q4_0/Q8_0,
#   as lamina quantizes every tensor; "" gives llama-quantize's default mix with a Q6_K
#   output head for Q4_0)
#   PRIORITY="" (e.g. PRIORITY="chrt -f 1" as root on a machine shared with compile jobs)
# llama.cpp's generation is measured twice: tg at depth 0 (llama-bench's usual figure) and
# at depth PROMPT (-d), which is what lamina's figure is: 128 tokens after the 512-token prompt.
# The ratio columns are lamina / llama.cpp (generation: against the depth-PROMPT figure).
set -euo pipefail

llama_build=${1:?usage: scripts/bench_llamacpp.sh LLAMA_CPP_BUILD_DIR [LAMINA_BUILD_DIR]}
build=${2:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
llama_bench="$llama_build/bin/llama-bench"
llama_quantize="$llama_build/bin/llama-quantize"
lamina="$build/cli/lamina"
[[ -x $lamina ]] || lamina="$build/lamina"
e2e="$build/benchmarks/e2e_bench"
maker="$build/benchmarks/make_bench_model"
for tool in "$llama_bench" "$llama_quantize" "$lamina" "$e2e" "$maker"; do
  [[ -x $tool ]] || { echo "bench_llamacpp.sh: $tool not found" >&2; exit 1; }
done
THREADS=${THREADS:-"1 2"}
PROMPT=${PROMPT:-512}
GEN=${GEN:-128}
REPS=${REPS:-3}
FORMATS=${FORMATS:-"f16 q4 q8"}
WORK=${WORK:-/tmp}
LLAMA_CPP_SRC=${LLAMA_CPP_SRC:-/tmp/llamacpp-src}
PYTHON=${PYTHON:-/usr/bin/python3}
QUANT_THREADS=${QUANT_THREADS:-2}
QUANT_RUNS=${QUANT_RUNS:-2}
read -r -a quantize_flags <<< "${LLAMA_QUANTIZE_FLAGS---pure}"
read -r -a priority <<< "${PRIORITY:-}"

dir="$WORK/lamina-vs-llamacpp"
need_kb=$(( 9 * 1024 * 1024 ))  # f16 2.2 GB x 2, 8-bit 1.2 GB x 2, 4-bit 0.65 GB x 2, + slack
avail_kb=$(df -Pk "$WORK" | awk 'NR == 2 {print $4}')
(( avail_kb >= need_kb )) || { echo "bench_llamacpp.sh: need 9 GB free in $WORK" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT

now() { date +%s.%N; }
# Reads every file of $@ so that a timed run starts from a warm page cache.
warm() { find "$@" -type f -exec cat {} + > /dev/null; }
json_field() { "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# Bits per weight: file bytes * 8 / parameters (the f16 model's weight bytes / 2).
bits_per_weight() { awk -v b="$1" -v p="$params" 'BEGIN {printf "%.2f", b * 8 / p}'; }
bytes_of() { find "$@" -type f \( -name '*.safetensors' -o -name '*.gguf' \) -printf '%s\n' | awk '{s += $1} END {printf "%.0f\n", s}'; }

echo "== models" >&2
"${priority[@]}" "$maker" --shape tinyllama-1.1b --dtype float16 --out "$dir/lamina-f16"
params=$(( $(bytes_of "$dir/lamina-f16") / 2 ))
PYTHONPATH="$LLAMA_CPP_SRC/gguf-py" "$PYTHON" "$here/benchmarks/lamina_to_gguf.py" \
  "$dir/lamina-f16" "$dir/f16.gguf"
sync

# Quantize times: QUANT_RUNS runs each, from a warm page cache; the best is reported.
declare -A quant_seconds
time_quantize() {  # time_quantize KEY COMMAND...
  local key=$1 best="" start seconds
  shift
  for ((run = 0; run < QUANT_RUNS; ++run)); do
    start=$(now)
    "$@" > "$dir/quantize.log" 2>&1 || { cat "$dir/quantize.log" >&2; exit 1; }
    seconds=$(awk -v a="$start" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}')
    echo "  $key run $run: $seconds s" >&2
    if [[ -z $best ]] || awk -v s="$seconds" -v b="$best" 'BEGIN {exit !(s < b)}'; then best=$seconds; fi
  done
  quant_seconds[$key]=$best
}
for bits in 4 8; do
  type=Q${bits}_0
  warm "$dir/lamina-f16"
  time_quantize "lamina-q$bits" env LAMINA_NUM_THREADS="$QUANT_THREADS" "${priority[@]}" "$lamina" quantize \
    --model "$dir/lamina-f16" --out "$dir/lamina-q$bits" --q-bits "$bits" --q-group-size 64 --force
  warm "$dir/f16.gguf"
  time_quantize "llama-q$bits" "${priority[@]}" "$llama_quantize" "${quantize_flags[@]}" \
    "$dir/f16.gguf" "$dir/q$bits.gguf" "$type" "$QUANT_THREADS"
done
sync

declare -A lamina_model=([f16]=lamina-f16 [q4]=lamina-q4 [q8]=lamina-q8)
declare -A gguf_model=([f16]=f16.gguf [q4]=q4.gguf [q8]=q8.gguf)
declare -A format_name=([f16]="float16 / F16" [q4]="4-bit g64 / Q4_0" [q8]="8-bit g64 / Q8_0")

# Best tokens/s of one llama-bench JSON report's test (n_prompt, n_gen, n_depth).
best_ts() {
  "$PYTHON" -c '
import json, sys
p, g, d = map(int, sys.argv[2:5])
for t in json.load(open(sys.argv[1])):
    if (t["n_prompt"], t["n_gen"], t["n_depth"]) == (p, g, d):
        print("%.2f" % max(t["samples_ts"]))' "$@"
}

rows=()
for format in $FORMATS; do
  gguf="$dir/${gguf_model[$format]}"
  model="$dir/${lamina_model[$format]}"
  lamina_bpw=$(bits_per_weight "$(bytes_of "$model")")
  gguf_bpw=$(bits_per_weight "$(bytes_of "$gguf")")
  warm "$gguf" "$model"
  for threads in $THREADS; do
    echo "== $format, $threads thread(s): llama-bench" >&2
    "${priority[@]}" "$llama_bench" -m "$gguf" -t "$threads" -p "$PROMPT" -n "$GEN" -r "$REPS" -o json \
      > "$dir/llama-d0.json"
    "${priority[@]}" "$llama_bench" -m "$gguf" -t "$threads" -p 0 -n "$GEN" -d "$PROMPT" -r "$REPS" -o json \
      > "$dir/llama-d$PROMPT.json"
    llama_pp=$(best_ts "$dir/llama-d0.json" "$PROMPT" 0 0)
    llama_tg0=$(best_ts "$dir/llama-d0.json" 0 "$GEN" 0)
    llama_tg=$(best_ts "$dir/llama-d$PROMPT.json" 0 "$GEN" "$PROMPT")
    echo "== $format, $threads thread(s): lamina e2e_bench" >&2
    "${priority[@]}" "$e2e" --model "$model" --threads "$threads" --prompt-tokens "$PROMPT" \
      --gen-tokens "$GEN" --runs "$REPS" --json > "$dir/lamina.json"
    lamina_pp=$(json_field prompt_tps < "$dir/lamina.json")
    lamina_tg=$(json_field generation_tps < "$dir/lamina.json")
    activations=$(json_field quantized_activations < "$dir/lamina.json")
    [[ $format == f16 ]] && activations="-"  # float weights: no quantized activations
    llama_version=$("$PYTHON" -c 'import json, sys; t = json.load(open(sys.argv[1]))[0]
print("%s (build %s)" % (t["build_commit"], t["build_number"]))' "$dir/llama-d0.json")
    row=$(awk -v f="${format_name[$format]}" -v bl="$lamina_bpw" -v bg="$gguf_bpw" -v t="$threads" \
      -v lp="$llama_pp" -v mp="$lamina_pp" -v l0="$llama_tg0" -v lg="$llama_tg" -v mg="$lamina_tg" \
      -v a="$activations" 'BEGIN {
        printf "| %s | %s / %s | %d | %.1f | %.1f | %.2fx | %.2f | %.2f | %.2f | %.2fx | %s |",
               f, bl, bg, t, lp, mp, mp / lp, l0, lg, mg, mg / lg, a}')
    echo "$row" >&2
    rows+=("$row")
  done
done

echo "| format (lamina / llama.cpp) | bits/weight (lamina / llama.cpp) | threads |" \
     "prefill tok/s ($PROMPT) llama.cpp | prefill lamina | prefill lamina/llama.cpp |" \
     "generation tok/s ($GEN) llama.cpp d0 | llama.cpp d$PROMPT | lamina (after $PROMPT) |" \
     "generation lamina/llama.cpp d$PROMPT | lamina activations |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "llama.cpp $llama_version; lamina from $build," \
     "$(date -u +'%Y-%m-%d %H:%M UTC'), PRIORITY=\"${PRIORITY:-}\""
echo
echo "| quantize f16 -> (TinyLlama shape, $QUANT_THREADS threads, best of $QUANT_RUNS, warm cache) | lamina s | llama-quantize s | lamina/llama.cpp time |"
echo "|---|---|---|---|"
for bits in 4 8; do
  awk -v b="$bits" -v l="${quant_seconds[lamina-q$bits]}" -v q="${quant_seconds[llama-q$bits]}" \
    'BEGIN {printf "| %d-bit g64 / Q%d_0 | %.2f | %.2f | %.2fx |\n", b, b, l, q, l / q}'
done
