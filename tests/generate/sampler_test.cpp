// The sampler's filters run in mlx_lm's order (top-p, min-p, top-k): with top-k and top-p
// together on a nearly flat distribution, sampling still picks among the top-k tokens.
#include <gtest/gtest.h>

#include <set>

#include "libcore/generate/sampler.h"
#include "libcore/ops/ops.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

TEST(Sampler, TopPRunsBeforeTopKAsInMlxLm) {
  // 1000 tokens, logits rising by 1e-3: almost flat, so top-p 0.9 keeps about 900 tokens
  // and top-k 5 then keeps the five largest. (Top-k first would leave 0.5% of the mass,
  // below 1 - top_p, and top-p would then mask every token.)
  std::vector<float> v(1000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = 1e-3f * static_cast<float>(i);
  Array logits(v, {1, 1000}, Dtype::float32);
  generate::SamplerOptions o;
  o.temperature = 1.0f;
  o.top_p = 0.9f;
  o.top_k = 5;
  o.seed = 11;
  generate::Sampler sampler(o);
  std::set<int64_t> seen;
  for (int i = 0; i < 64; ++i) seen.insert(sampler.sample(logits, {}).item<int64_t>());
  for (int64_t t : seen) EXPECT_GE(t, 995) << "token outside the top 5";
  EXPECT_GE(seen.size(), 3u);
}

TEST(Sampler, MinPRunsBeforeTopK) {
  // Two tokens far above the rest: min-p 0.5 keeps those two, top-k 3 changes nothing.
  std::vector<float> v(50, 0.0f);
  v[7] = 10.0f;
  v[30] = 10.0f;
  Array logits(v, {1, 50}, Dtype::float32);
  generate::SamplerOptions o;
  o.temperature = 1.0f;
  o.min_p = 0.5f;
  o.top_k = 3;
  o.seed = 5;
  generate::Sampler sampler(o);
  std::set<int64_t> seen;
  for (int i = 0; i < 64; ++i) seen.insert(sampler.sample(logits, {}).item<int64_t>());
  EXPECT_EQ(seen, (std::set<int64_t>{7, 30}));
}

}  // namespace
}  // namespace lamina::test
