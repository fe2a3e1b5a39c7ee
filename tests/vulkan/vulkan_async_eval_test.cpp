// async_eval on the GPU: arrays it evaluated read back correctly whether read before or
// after later work, read or never read; and the generation loop that runs one step ahead
// on the GPU stops at an EOS with the same tokens and the same KV cache as on the CPU.
#include <gtest/gtest.h>

#include <cmath>

#include "libcore/generate/generator.h"
#include "libcore/models/loader.h"
#include "libcore/ops/ops.h"
#include "libcore/transforms/eval.h"
#include "tests/vulkan/vulkan_test_util.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

Array iota(int64_t n, float scale) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = scale * static_cast<float>(i % 97);
  return Array(v, {n}, Dtype::float32);
}

TEST(VulkanAsyncEval, ReadAfterLaterWorkGivesTheValuesOfItsOwnEval) {
  LAMINA_REQUIRE_VULKAN();
  ScopedDevice gpu(Device::vulkan(vk_device));
  Array small = sum(iota(1000, 1.0f) * Array(2.0f));
  async_eval({small});
  // Work queued after it, reusing and overwriting device memory.
  Array big = iota(1 << 20, 0.5f);
  for (int i = 0; i < 20; ++i) big = big * Array(1.5f) + Array(1.0f);
  eval({big});
  double expect_sum = 0;
  for (int i = 0; i < 1000; ++i) expect_sum += 2.0 * (i % 97);
  EXPECT_FLOAT_EQ(small.item<float>(), static_cast<float>(expect_sum));
  auto v = big.to_vector<float>();
  float expect = 0.5f * 5;
  for (int i = 0; i < 20; ++i) expect = expect * 1.5f + 1.0f;
  EXPECT_NEAR(v[5], expect, 1e-3f * expect);
}

// On a GPU eval runs the graph level by level: the two independent chains' first steps
// are recorded together (no barrier between them), then their second steps.
TEST(VulkanEvalOrder, IndependentBranchesRunLevelByLevel) {
  LAMINA_REQUIRE_VULKAN();
  ScopedDevice gpu(Device::vulkan(vk_device));
  Array a1 = exp(iota(8, 0.01f)), b1 = exp(iota(8, 0.02f));
  Array a2 = exp(a1), b2 = exp(b1);
  Array out = a2 + b2;
  std::vector<Array> order = schedule({out});
  ASSERT_EQ(order.size(), 5u);
  // Depth first would be a1, a2, b1, b2, out.
  EXPECT_EQ(order[0].id(), a1.id());
  EXPECT_EQ(order[1].id(), b1.id());
  EXPECT_EQ(order[2].id(), a2.id());
  EXPECT_EQ(order[3].id(), b2.id());
  EXPECT_EQ(order[4].id(), out.id());
  order.clear();
  auto v = out.to_vector<float>();
  for (int i = 0; i < 8; ++i) {
    float expect = std::exp(std::exp(0.01f * i)) + std::exp(std::exp(0.02f * i));
    EXPECT_NEAR(v[static_cast<size_t>(i)], expect, 1e-5f * expect);
  }
}

TEST(VulkanAsyncEval, UnreadArraysAreRetiredAndStillReadCorrectly) {
  LAMINA_REQUIRE_VULKAN();
  ScopedDevice gpu(Device::vulkan(vk_device));
  std::vector<Array> outs;
  for (int i = 0; i < 150; ++i) {  // more than the readbacks kept pending
    Array a = iota(64, static_cast<float>(i)) + Array(1.0f);
    async_eval({a});
    outs.push_back(a);
  }
  for (int i : {0, 1, 80, 149, 148, 2}) {
    auto v = outs[static_cast<size_t>(i)].to_vector<float>();
    ASSERT_EQ(v.size(), 64u);
    for (int k = 0; k < 64; ++k) ASSERT_EQ(v[static_cast<size_t>(k)], static_cast<float>(i) * k + 1.0f) << i;
  }
}

// Stops on the k-th greedy token as EOS: the tokens before it, and a cache of the prompt plus
// those tokens, on the CPU and on the GPU (which ran steps past the EOS and undid them).
TEST(VulkanAsyncEval, GenerationStopsAtEosWithTheCpusTokensAndCache) {
  LAMINA_REQUIRE_VULKAN();
  const std::string dir = testdata("models/tiny-llama");
  const std::vector<int32_t> prompt{1, 450, 4996, 17354, 1701};
  auto run = [&](Device device, const std::vector<int32_t>& eos, size_t* cache_size) {
    ScopedDevice on(device);
    auto loaded = models::load_model(dir, {Dtype::float32});
    auto cache = loaded.model->make_cache();
    generate::GenerateOptions options;
    options.max_tokens = 12;
    options.eos_ids = eos;
    auto result = generate::generate(*loaded.model, cache, prompt, options, [](int32_t) { return true; });
    *cache_size = static_cast<size_t>(cache[0].size());
    return result;
  };
  size_t cpu_size = 0, gpu_size = 0;
  auto full = run(Device::cpu(), {}, &cpu_size);
  ASSERT_EQ(full.tokens.size(), 12u);
  const size_t k = 6;
  auto cpu = run(Device::cpu(), {full.tokens[k]}, &cpu_size);
  auto gpu = run(Device::vulkan(vk_device), {full.tokens[k]}, &gpu_size);
  // The EOS id may occur earlier in the sequence: both stop at its first occurrence.
  EXPECT_EQ(cpu.finish_reason, "stop");
  EXPECT_EQ(gpu.finish_reason, "stop");
  EXPECT_EQ(gpu.tokens, cpu.tokens);
  EXPECT_LE(cpu.tokens.size(), k);
  EXPECT_EQ(cpu_size, prompt.size() + cpu.tokens.size());
  EXPECT_EQ(gpu_size, cpu_size);
}

// A callback that stops the loop after k tokens (Ctrl-C in chat): the same tokens and the same
// cache length on the CPU and on the GPU (whose steps past the stop are undone), for a stop
// at each of the first, middle and last tokens.
TEST(VulkanAsyncEval, InterruptedGenerationLeavesTheCpusCache) {
  LAMINA_REQUIRE_VULKAN();
  const std::string dir = testdata("models/tiny-llama");
  const std::vector<int32_t> prompt{1, 450, 4996, 17354, 1701};
  for (size_t k : {1u, 4u, 8u}) {
    auto run = [&](Device device, size_t* cache_size) {
      ScopedDevice on(device);
      auto loaded = models::load_model(dir, {Dtype::float32});
      auto cache = loaded.model->make_cache();
      generate::GenerateOptions options;
      options.max_tokens = 8;
      size_t seen = 0;
      auto result = generate::generate(*loaded.model, cache, prompt, options, [&](int32_t) { return ++seen < k; });
      *cache_size = static_cast<size_t>(cache[0].size());
      return result;
    };
    size_t cpu_size = 0, gpu_size = 0;
    auto cpu = run(Device::cpu(), &cpu_size);
    auto gpu = run(Device::vulkan(vk_device), &gpu_size);
    EXPECT_EQ(cpu.tokens.size(), k);
    EXPECT_EQ(gpu.tokens, cpu.tokens) << k;
    EXPECT_EQ(gpu.finish_reason, cpu.finish_reason) << k;
    EXPECT_EQ(gpu_size, cpu_size) << k;
  }
}

}  // namespace
}  // namespace lamina::test
