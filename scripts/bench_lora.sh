#!/usr/bin/env bash
# LoRA training speed and memory matrix: `lamina lora --train` (rank 8 on q_proj/v_proj of
# every block, Adam, batch 4, --max-seq-length 256, float32 compute) on the demo model and on
# a random-weight TinyLlama-1.1B-shaped model (make_bench_model), each with a float and a
# 4-bit (group 64) base, with and without --grad-checkpoint. Training tokens/s is the mean of
# the --json reports after the first (the first step warms the allocator and page cache);
# peak RSS is /usr/bin/time's maximum resident set size of the whole process. With
# PYTORCH=1, benchmarks/lora_pytorch_reference.py runs the same float configurations right
# after lamina's (eager PyTorch from Debian's python3-torch; dev-time only).
#   scripts/bench_lora.sh [BUILD_DIR]        (default: build; configure with -DLAMINA_BENCHMARKS=ON)
# Environment (defaults): MODELS="demo tinyllama-1.1b" BASES="float q4" CHECKPOINT="off on"
#   THREADS=2 DEMO_ITERS=12 TINYLLAMA_ITERS=2 PYTORCH=1 PYTHON=/usr/bin/python3 WORK=/tmp
#   TORCH_MEMORY_LIMIT_GB=18 (address-space cap of each PyTorch run)
#   PRIORITY="" (e.g. PRIORITY="chrt -f 1" as root on a machine shared with compile jobs)
#   TORCH_OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs (Debian's OpenBLAS 0.3.21 does not know
#   recent Xeons and would run PyTorch's GEMMs on SSE3 kernels; "" leaves OpenBLAS's choice).
#   An OPENBLAS_CORETYPE of the caller's environment reaches lamina (see the README's note on
#   QLoRA speed). The TinyLlama-shaped model needs 5 GB in WORK and about 15 GB of RAM for
#   PyTorch without checkpointing.
set -euo pipefail

build=${1:-build}
lamina="$build/lamina"
maker="$build/benchmarks/make_bench_model"
for tool in "$lamina" "$maker"; do
  [[ -x $tool ]] || { echo "bench_lora.sh: $tool not found (build with -DLAMINA_BENCHMARKS=ON)" >&2; exit 1; }
done
[[ -x /usr/bin/time ]] || { echo "bench_lora.sh: /usr/bin/time is needed for peak RSS (apt-get install time)" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
MODELS=${MODELS:-"demo tinyllama-1.1b"}
BASES=${BASES:-"float q4"}
CHECKPOINT=${CHECKPOINT:-"off on"}
THREADS=${THREADS:-2}
DEMO_ITERS=${DEMO_ITERS:-12}
TINYLLAMA_ITERS=${TINYLLAMA_ITERS:-2}
PYTORCH=${PYTORCH:-1}
PYTHON=${PYTHON:-/usr/bin/python3}
TORCH_MEMORY_LIMIT_GB=${TORCH_MEMORY_LIMIT_GB:-18}
WORK=${WORK:-/tmp}
read -r -a priority <<< "${PRIORITY:-}"
if [[ -z ${TORCH_OPENBLAS_CORETYPE+set} ]]; then
  TORCH_OPENBLAS_CORETYPE=""
  grep -qw avx512f /proc/cpuinfo && TORCH_OPENBLAS_CORETYPE=SkylakeX
fi
torch_env=(OPENBLAS_NUM_THREADS="$THREADS")
[[ -n $TORCH_OPENBLAS_CORETYPE ]] && torch_env+=(OPENBLAS_CORETYPE="$TORCH_OPENBLAS_CORETYPE")
if [[ $PYTORCH == 1 ]] && ! "$PYTHON" -c 'import torch' 2>/dev/null; then
  echo "bench_lora.sh: $PYTHON has no torch (apt-get install python3-torch); PyTorch columns skipped" >&2
  PYTORCH=0
fi

work=$(mktemp -d "$WORK/lamina-bench-lora.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Training lines long enough that every row is cut at 256 tokens: twelve demo dialogues each.
python3 - "$work/data" "$here/demo" <<'EOF'
import json, os, random, sys
sys.path.insert(0, sys.argv[2])
from make_lora_data import dialogue
rng = random.Random(0)
os.makedirs(sys.argv[1], exist_ok=True)
for name, count in [("train", 64), ("valid", 8)]:
    with open(os.path.join(sys.argv[1], name + ".jsonl"), "w") as f:
        for _ in range(count):
            f.write(json.dumps({"text": "\n\n".join(dialogue(rng) for _ in range(12))}) + "\n")
EOF
cat > "$work/lora.yaml" <<'EOF'
lora_parameters: {rank: 8, scale: 20.0, dropout: 0.0, keys: [self_attn.q_proj, self_attn.v_proj]}
EOF

# Bytes the weights take in memory: float tensors as float32 (lamina's compute dtype), the
# rest (packed 4-bit weights, their scales and biases) as stored.
weight_bytes() {
  python3 - "$1" <<'EOF'
import glob, json, struct, sys
sizes = {"F32": 4, "F16": 2, "BF16": 2, "U32": 4, "I32": 4, "U8": 1, "I8": 1}
total = 0
for path in glob.glob(sys.argv[1] + "/*.safetensors"):
    with open(path, "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    for name, t in header.items():
        if name == "__metadata__":
            continue
        n = 1
        for d in t["shape"]:
            n *= d
        total += n * (4 if t["dtype"] in ("F16", "BF16", "F32") else sizes[t["dtype"]])
print(total)
EOF
}

# model_dir NAME BASE -> prints the directory, writing it under $work when needed.
model_dir() {
  local name=$1 base=$2 float
  if [[ $name == demo ]]; then
    float="$here/demo/shakespeare-llama"
  else
    float="$work/$name-float32"
    if [[ ! -d $float ]]; then
      "$maker" --shape "$name" --dtype float32 --out "$float" >&2
      cp "$here/demo/shakespeare-llama/"tokenizer*.json "$float/"  # same 32000-token vocabulary
    fi
  fi
  if [[ $base == float ]]; then echo "$float"; return; fi
  local q="$work/$name-q4"
  [[ -d $q ]] || "$lamina" quantize --model "$float" --out "$q" --q-bits 4 --q-group-size 64 >&2
  echo "$q"
}

# mean of the tokens_per_second of the report lines after the first (all when only one)
mean_tps() {
  python3 -c '
import json, sys
r = [json.loads(l)["tokens_per_second"] for l in open(sys.argv[1]) if l.startswith("{") and "tokens_per_second" in l]
r = r[1:] or r
print(f"{sum(r) / len(r):.1f}")' "$1"
}

json_field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

max_rss_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$1"; }

rows=()
for name in $MODELS; do
  iters=$DEMO_ITERS
  [[ $name == demo ]] || iters=$TINYLLAMA_ITERS
  for base in $BASES; do
    dir=$(model_dir "$name" "$base")
    sync
    weights_mb=$(( $(weight_bytes "$dir") / 1048576 ))
    for ckpt in $CHECKPOINT; do
      flags=()
      [[ $ckpt == on ]] && flags+=(--grad-checkpoint)
      cmd=("$lamina" lora --model "$dir" --train --data "$work/data" -c "$work/lora.yaml" --num-layers -1
           --optimizer adam --learning-rate 1e-5 --batch-size 4 --max-seq-length 256 --iters "$iters"
           --steps-per-report 1 --steps-per-eval 1000000 --val-batches 0 --save-every 1000000
           --threads "$THREADS" --json --adapter-path "$work/adapters" "${flags[@]}")
      echo "+ ${cmd[*]}" >&2
      "${priority[@]}" /usr/bin/time -v "${cmd[@]}" > "$work/lamina.json" 2> "$work/lamina.err" ||
        { cat "$work/lamina.err" >&2; exit 1; }
      tps=$(mean_tps "$work/lamina.json")
      rss=$(max_rss_mb "$work/lamina.err")
      torch_tps="—" torch_rss="—" ratio="—"
      if [[ $PYTORCH == 1 && $base == float ]]; then
        tflags=()
        [[ $ckpt == on ]] && tflags+=(--grad-checkpoint)
        tcmd=("$PYTHON" "$repo/benchmarks/lora_pytorch_reference.py" --config "$dir/config.json"
              --iters "$(( iters < 2 ? 2 : iters ))" --threads "$THREADS" "${tflags[@]}")
        echo "+ ${torch_env[*]} ${tcmd[*]}" >&2
        # Capped address space: a run that does not fit fails alone instead of calling the OOM killer.
        if out=$(ulimit -v $(( TORCH_MEMORY_LIMIT_GB * 1048576 )) &&
                 env "${torch_env[@]}" "${priority[@]}" "${tcmd[@]}" | tail -n 1) && [[ $out == "{"* ]]; then
          torch_tps=$(printf '%.1f' "$(json_field "$out" tokens_per_second)")
          torch_rss=$(( $(json_field "$out" peak_rss_bytes) / 1048576 ))
          ratio=$(python3 -c "print(f'{$tps / $torch_tps:.2f}x')")
        else
          torch_tps="out of memory (> $TORCH_MEMORY_LIMIT_GB GB)"
        fi
      fi
      row="| $name | $base | $ckpt | $tps | $torch_tps | $ratio | $rss | $torch_rss | $weights_mb | $(python3 -c "print(f'{$rss / $weights_mb:.2f}')") |"
      echo "$row" >&2
      rows+=("$row")
    done
    if [[ $base == q4 ]]; then rm -rf "$work/$name-q4"; fi
  done
  rm -rf "$work/$name-float32"
done

echo "| model | base | grad checkpoint | lamina tok/s | PyTorch tok/s | lamina / PyTorch | lamina peak RSS MiB | PyTorch peak RSS MiB | weights MiB (in memory) | lamina RSS / weights |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
