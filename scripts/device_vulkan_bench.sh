#!/usr/bin/env bash
# Run on the lent GPU machine through scripts/device_vulkan_run.sh (which unpacks
# scripts/device_bundle.sh's archive into /opt/lamina): the Vulkan tests, the speed tests
# and TinyLlama-shaped generation at float16, 8-bit and 4-bit (figures in the README).
#   scripts/device_vulkan_run.sh scripts/device_vulkan_bench.sh
set -uo pipefail
cd /opt/lamina
export OUT=${OUT:-/tmp/out}
vulkaninfo_ok=$(ls /usr/lib/x86_64-linux-gnu/libvulkan.so.1 2>/dev/null)
echo "loader: $vulkaninfo_ok  VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
lamina devices
for t in vulkan_ops_test vulkan_reduce_test vulkan_quantized_test vulkan_model_test; do
  echo "== $t"; timeout 120 bin/$t --gtest_brief=1 2>&1 | tail -15
done
echo "== vulkan_speed_test (disabled ones too)"
timeout 150 bin/vulkan_speed_test --gtest_also_run_disabled_tests 2>&1 | grep -v "^\[ *RUN\|^\[ *OK" | tail -40
echo "== TinyLlama shape"
cd /tmp
/opt/lamina/bin/make_bench_model --shape tinyllama-1.1b --dtype float16 --out /tmp/m-f16 2>&1 | tail -1
cp /opt/lamina/testdata/models/tiny-llama/tokenizer.json /opt/lamina/testdata/models/tiny-llama/tokenizer_config.json /tmp/m-f16/
lamina quantize --model /tmp/m-f16 --out /tmp/m-q4 --q-bits 4 --q-group-size 64 2>&1 | tail -1
lamina quantize --model /tmp/m-f16 --out /tmp/m-q8 --q-bits 8 --q-group-size 64 2>&1 | tail -1
prompt=$(for i in $(seq 1 80); do printf 'the quick brown fox jumps over the lazy dog. '; done)
for m in m-f16 m-q8 m-q4; do
  for run in 1 2; do
    echo "-- $m run $run"
    timeout 100 lamina generate --model /tmp/$m --device vulkan --prompt "$prompt" --ignore-chat-template \
      --max-tokens 128 --ignore-eos --json 2>/tmp/err.txt | grep -o '"prompt_tps":[^,]*\|"generation_tps":[^,]*\|"prompt_seconds":[^,]*' | tr '\n' ' '; echo; tail -2 /tmp/err.txt
  done
done
