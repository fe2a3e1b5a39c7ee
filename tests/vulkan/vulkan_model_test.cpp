// End to end on the GPU: test models loaded and run with the default device set to the
// Vulkan device give transformers' reference logits (float32, within 2e-3) and greedy
// continuations (through the KV cache, exact up to the first near-tie).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "libcore/generate/generator.h"
#include "libcore/io/safetensors.h"
#include "libcore/models/loader.h"
#include "libcore/ops/ops.h"
#include "tests/vulkan/vulkan_test_util.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

class VulkanModelTest : public ::testing::TestWithParam<std::string> {};

double max_abs_diff(const Array& a, const Array& b) {
  auto va = a.to_vector<double>();
  auto vb = b.to_vector<double>();
  EXPECT_EQ(va.size(), vb.size());
  double m = 0;
  for (size_t i = 0; i < va.size() && i < vb.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

TEST_P(VulkanModelTest, LogitsAndGreedyMatchTransformers) {
  LAMINA_REQUIRE_VULKAN();
  std::string dir = testdata("models/" + GetParam());
  std::ifstream f(dir + "/reference.json");
  auto ref = nlohmann::json::parse(f);
  auto ref_tensors = io::load_safetensors(dir + "/reference.safetensors").tensors;
  ScopedDevice on_gpu(Device::vulkan(vk_device));
  auto loaded = models::load_model(dir, {Dtype::float32});
  auto& model = *loaded.model;
  const auto& prompt = ref["prompts"][0];
  std::vector<int32_t> ids = prompt["input_ids"].get<std::vector<int32_t>>();
  auto cache = model.make_cache();
  Array tokens(ids, {1, static_cast<int64_t>(ids.size())}, Dtype::int32);
  Array logits = model.forward(tokens, cache);
  int64_t L = logits.shape(1);
  EXPECT_LE(max_abs_diff(reshape(logits, {L, -1}), ref_tensors.at("logits_all_0")), 2e-3) << GetParam();

  auto greedy = prompt["greedy_ids"].get<std::vector<int32_t>>();
  auto gaps = prompt["greedy_top2_gaps"].get<std::vector<double>>();
  auto cache2 = model.make_cache();
  generate::GenerateOptions options;
  options.max_tokens = static_cast<int>(greedy.size());
  options.ignore_eos = true;
  auto result = generate::generate(model, cache2, ids, options, [](int32_t) { return true; });
  ASSERT_EQ(result.tokens.size(), greedy.size());
  for (size_t s = 0; s < greedy.size(); ++s) {
    if (gaps[s] < 2e-3) break;
    ASSERT_EQ(result.tokens[s], greedy[s]) << GetParam() << " step " << s;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, VulkanModelTest,
                         ::testing::Values("tiny-llama", "tiny-qwen3", "tiny-gemma", "stories260k"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n) if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace lamina::test
