// The attention with a folded query rope (scaled_dot_product_attention(rope(x), k, v), see
// kFoldRopeMaxRows) on the GPU against the CPU: both decode kernels rotating q as they load
// it (sdpa_decode.comp and sdpa.comp, forced with LAMINA_VULKAN_SDPA_SPLIT=1 / 0) over
// short, medium and long caches, each dtype, both pair layouts, one and three query rows,
// head dims 40 and 64, offsets 0 and 37, no mask / causal / bool mask, GQA, q strided as
// the models give it, freqs; and prompt-sized shapes: 4 rows over many keys (folded) and
// 8 rows (not folded: the rope kernel, then the attention). The CPU's values are the
// unfused ops' (tests/ops/attention_rope_fold_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "libcore/ops/fast.h"
#include "libcore/ops/fast_primitives.h"
#include "tests/vulkan/vulkan_test_util.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

// As the other attention tests (vulkan_ops_test.cpp).
double tol(Dtype d, double f32) { return d == Dtype::float32 ? f32 : d == Dtype::float16 ? 4e-3 : 3e-2; }

// Sets LAMINA_VULKAN_SDPA_SPLIT for a scope (the attention reads it at every dispatch).
struct ScopedSplit {
  explicit ScopedSplit(const char* value) { setenv("LAMINA_VULKAN_SDPA_SPLIT", value, 1); }
  ~ScopedSplit() { unsetenv("LAMINA_VULKAN_SDPA_SPLIT"); }
};

struct Case {
  Dtype dtype;
  bool traditional;
  int64_t q_len, keys, head_dim, offset;
  std::string mask;  // "", "causal" or "bool"
  bool freqs = false;

  std::string name() const {
    return std::string(dtype_name(dtype)) + (traditional ? " traditional" : "") + " Lq=" + std::to_string(q_len) +
           " Lk=" + std::to_string(keys) + " D=" + std::to_string(head_dim) + " offset=" + std::to_string(offset) +
           " mask=" + mask + (freqs ? " freqs" : "");
  }
  // attention(rope(x), k, v) with x [2, 8, Lq, D] transposed from [2, Lq, 8, D] and K/V of
  // 2 heads, the first `keys` rows of a longer cache; checked to fold (or, past
  // kFoldRopeMaxRows rows, not to).
  Array build() const {
    auto c = [&](const Array& a) { return astype(a, dtype); };
    const int64_t capacity = keys + 7;
    Array x = transpose(c(random_array({2, q_len, 8, head_dim}, 1, -2.0f, 2.0f)), {0, 2, 1, 3});
    Array k = slice(c(random_array({2, 2, capacity, head_dim}, 2)), {0, 0, 0, 0}, {2, 2, keys, head_dim});
    Array v = slice(c(random_array({2, 2, capacity, head_dim}, 3)), {0, 0, 0, 0}, {2, 2, keys, head_dim});
    const int dims = static_cast<int>(head_dim);
    Array q = fast::rope(x, dims, traditional, 10000.0f, 1.0f, offset);
    if (freqs) {  // divisors of a llama3-like schedule
      std::vector<float> f;
      for (int64_t i = 0; i < head_dim / 2; ++i) f.push_back(std::pow(500.0f, 2.0f * i / dims) * (i % 3 ? 1 : 4));
      q = fast::rope(x, dims, traditional, std::nullopt, 1.0f, offset, Array(f, {head_dim / 2}));
    }
    Array keep = greater(random_array({q_len, keys}, 4), Array(-0.6f));
    Array y = mask == "bool" ? fast::scaled_dot_product_attention(q, k, v, 0.125f, keep)
                             : fast::scaled_dot_product_attention(q, k, v, 0.125f, mask);
    const bool folded = node_name(y).find("Rope(") != std::string::npos;
    EXPECT_EQ(folded, q_len <= kFoldRopeMaxRows) << node_name(y);
    return y;
  }
};

void expect_case(int device, const Case& c) {
  SCOPED_TRACE(c.name());
  expect_gpu_matches_cpu(device, [&] { return c.build(); }, tol(c.dtype, 1e-5), tol(c.dtype, 1e-4));
}

TEST(VulkanAttentionRope, DecodeKernelsMatchCpu) {
  LAMINA_REQUIRE_VULKAN();
  const char* masks[] = {"", "causal", "bool"};
  for (const char* split : {"1", "0"}) {
    SCOPED_TRACE(std::string("LAMINA_VULKAN_SDPA_SPLIT=") + split);
    ScopedSplit scoped(split);
    int n = 0;
    for (int64_t keys : {5, 70, 300}) {
      for (Dtype dtype : {Dtype::float32, Dtype::float16, Dtype::bfloat16}) {
        for (bool traditional : {false, true}) {
          for (int64_t q_len : {1, 3}) {
            for (int64_t head_dim : {40, 64}) {
              // Offsets and masks taken in turn (every combination over the loops above).
              ++n;
              expect_case(vk_device, Case{dtype, traditional, q_len, keys, head_dim, n % 2 ? 37 : 0, masks[n % 3]});
            }
          }
        }
      }
      expect_case(vk_device, Case{Dtype::float16, false, 3, keys, 64, 37, "causal", true});
      expect_case(vk_device, Case{Dtype::float32, true, 1, keys, 40, 0, "", true});
    }
  }
  // A head dim past the split kernel's (256): the per-row kernel even when splitting.
  ScopedSplit scoped("1");
  expect_case(vk_device, Case{Dtype::float32, false, 2, 100, 320, 37, "causal"});
}

TEST(VulkanAttentionRope, PromptSizedShapesMatchCpu) {
  LAMINA_REQUIRE_VULKAN();
  for (Dtype dtype : {Dtype::float32, Dtype::float16, Dtype::bfloat16}) {
    // kFoldRopeMaxRows rows over many keys: folded, into the split kernel by default.
    expect_case(vk_device, Case{dtype, false, kFoldRopeMaxRows, 1100, 64, 1096, "causal"});
    // More rows: the rope's own node and kernel, then the attention.
    expect_case(vk_device, Case{dtype, false, 8, 1100, 64, 1092, "causal"});
    expect_case(vk_device, Case{dtype, true, 8, 40, 40, 32, ""});
  }
}

}  // namespace
}  // namespace lamina::test
