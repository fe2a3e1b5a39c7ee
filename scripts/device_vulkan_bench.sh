#!/usr/bin/env bash
# Run on the lent GPU machine through scripts/device_vulkan_run.sh (which unpacks
# scripts/device_bundle.sh's archive into /opt/lamina): the Vulkan tests, the speed tests,
# TinyLlama-shaped generation at float16, 8-bit and 4-bit through the CLI, and e2e_bench on
# the same models (host CPU time per token; with LAMINA_VULKAN_PROFILE=1 the GPU time per
# shader). Figures in the README.
#   scripts/device_vulkan_run.sh scripts/device_vulkan_bench.sh
# PARTS (default "tests speed generate e2e") picks the parts to run; "llamacpp" adds
# llama.cpp's Vulkan backend on the same weights (.device-bundle/llamacpp-vk.tar.xz, carried;
# see scripts/bench_llamacpp.sh for how it is made): the float16 model converted with
# benchmarks/lamina_to_gguf.py, `llama-quantize --pure` to Q4_0/Q8_0, `llama-bench -ngl 99`.
set -uo pipefail
repo=$(pwd)
cd /opt/lamina
export OUT=${OUT:-/tmp/out}
PARTS=${PARTS:-"tests speed generate e2e"}
has() { [[ " $PARTS " == *" $1 "* ]]; }
echo "loader: $(ls /usr/lib/x86_64-linux-gnu/libvulkan.so.1 2>/dev/null)  VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
lamina devices
if has tests; then
  for t in bin/vulkan_*_test; do
    [[ $t == *vulkan_speed_test ]] && continue
    echo "== $t"; timeout 150 "$t" --gtest_brief=1 2>&1 | tail -15
  done
fi
if has speed; then
  echo "== vulkan_speed_test (disabled ones too)"
  timeout 150 bin/vulkan_speed_test --gtest_also_run_disabled_tests 2>&1 | grep -v "^\[ *RUN\|^\[ *OK" | tail -40
fi
cd /tmp
if has generate || has e2e || has llamacpp; then
  /opt/lamina/bin/make_bench_model --shape tinyllama-1.1b --dtype float16 --out /tmp/m-f16 2>&1 | tail -1
  cp /opt/lamina/testdata/models/tiny-llama/tokenizer.json /opt/lamina/testdata/models/tiny-llama/tokenizer_config.json /tmp/m-f16/
  lamina quantize --model /tmp/m-f16 --out /tmp/m-q4 --q-bits 4 --q-group-size 64 2>&1 | tail -1
  lamina quantize --model /tmp/m-f16 --out /tmp/m-q8 --q-bits 8 --q-group-size 64 2>&1 | tail -1
fi
if has generate; then
  echo "== TinyLlama shape: lamina generate --device vulkan (~960-token prompt, 128 tokens)"
  prompt=$(for i in $(seq 1 80); do printf 'the quick brown fox jumps over the lazy dog. '; done)
  for m in m-f16 m-q8 m-q4; do
    for run in 1 2; do
      echo "-- $m run $run"
      timeout 100 lamina generate --model /tmp/$m --device vulkan --prompt "$prompt" --ignore-chat-template \
        --max-tokens 128 --ignore-eos --json 2>/tmp/err.txt | grep -o '"prompt_tps":[^,]*\|"generation_tps":[^,]*\|"prompt_seconds":[^,]*' | tr '\n' ' '; echo; tail -2 /tmp/err.txt
    done
  done
fi
if has e2e; then
  echo "== TinyLlama shape: e2e_bench --device vulkan (512-token prompt, 128 tokens, best of 2)"
  for m in m-f16 m-q8 m-q4; do
    timeout 100 /opt/lamina/bin/e2e_bench --model /tmp/$m --device vulkan --runs 2 2>&1 | tail -2
  done
  echo "== the same, LAMINA_VULKAN_PROFILE=1 (GPU time per shader; timestamps slow it a little)"
  for m in m-f16 m-q4; do
    echo "-- $m"
    LAMINA_VULKAN_PROFILE=1 timeout 100 /opt/lamina/bin/e2e_bench --model /tmp/$m --device vulkan --runs 1 \
      --prompt-tokens 16 --gen-tokens 128 2>&1 | head -24
  done
fi
if has llamacpp; then
  echo "== llama.cpp Vulkan, same weights (llama-bench -ngl 99, 512-token prompt, 128 tokens at depth 0 and 512)"
  mkdir -p /opt/llamacpp && tar -C /opt/llamacpp -xJf "$repo/.device-bundle/llamacpp-vk.tar.xz"
  export LD_LIBRARY_PATH=/opt/llamacpp/lib:${LD_LIBRARY_PATH:-}
  PYTHONPATH=/opt/llamacpp/gguf-py python3 "$repo/benchmarks/lamina_to_gguf.py" /tmp/m-f16 /tmp/m-f16.gguf 2>&1 | tail -1
  for q in Q4_0 Q8_0; do
    /opt/llamacpp/bin/llama-quantize --pure /tmp/m-f16.gguf /tmp/m-$q.gguf $q 16 2>&1 | tail -1
  done
  for g in m-f16 m-Q8_0 m-Q4_0; do
    timeout 150 /opt/llamacpp/bin/llama-bench -m /tmp/$g.gguf -ngl 99 -p 512 -n 128 -r 3 2>&1 | grep -E "^\|" | tail -2
    timeout 100 /opt/llamacpp/bin/llama-bench -m /tmp/$g.gguf -ngl 99 -p 0 -n 128 -d 512 -r 3 2>&1 | grep -E "^\|" | tail -1
  done
fi
