// The KV-cache write folded into its projection (SliceUpdate with a product, fold_product)
// on the GPU against the CPU: the quantized matvec storing its one row straight into the
// cache's region (every bit width; no rope, half-split and traditional pairs, freqs; a
// folded norm; head dims 40, 64 and 128; float32, float16 and bfloat16; with and without
// subgroups) and a cache copied rather than updated in place (still referenced). The CPU's
// values are the unfused ops' (tests/ops/kv_write_fold_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "libcore/ops/fast.h"
#include "quant/quantized_ops.h"
#include "tests/vulkan/vulkan_test_util.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

constexpr int64_t kK = 256, kHeads = 4, kCapacity = 12, kPosition = 7;

struct Write {
  Dtype dtype;
  int bits;
  std::string rope;  // "", "split", "traditional" or "freqs"
  bool norm = false;
  int64_t head_dim = 64;

  std::string name() const {
    return std::string(dtype_name(dtype)) + " " + std::to_string(bits) + "-bit" +
           (rope.empty() ? "" : " rope " + rope) + (norm ? " norm" : "") + " D=" + std::to_string(head_dim);
  }
  // The cache [1, H, capacity, D] with row kPosition written from x's projection (split into
  // heads, rotated by the rope): checked to fold. With `keep_old` the old cache is an output
  // too (so the write copies it instead of updating it in place).
  Array build(bool keep_old = false) const {
    auto c = [&](const Array& a) { return astype(a, dtype); };
    const int64_t N = kHeads * head_dim;
    Array x = c(random_array({1, 1, kK}, 1, -2.0f, 2.0f));
    Array w = c(random_array({N, kK}, 2, -0.3f, 0.3f));
    Array a = norm ? fast::rms_norm(x, c(random_array({kK}, 3, 0.5f, 1.5f)), 1e-5f) : x;
    auto q = quantize(w, 64, bits);
    Array p = quantized_matmul(a, q.weight, q.scales, q.biases, true, 64, bits);
    Array k = transpose(reshape(p, {1, 1, kHeads, head_dim}), {0, 2, 1, 3});
    const int dims = static_cast<int>(head_dim);
    if (rope == "split" || rope == "traditional") {
      k = fast::rope(k, dims, rope == "traditional", 10000.0f, 1.0f, kPosition);
    } else if (rope == "freqs") {  // divisors of a llama3-like schedule
      std::vector<float> f;
      for (int64_t i = 0; i < head_dim / 2; ++i) f.push_back(std::pow(500.0f, 2.0f * i / dims) * (i % 3 ? 1 : 4));
      k = fast::rope(k, dims, false, std::nullopt, 1.0f, kPosition, Array(f, {head_dim / 2}));
    }
    Array cache = c(random_array({1, kHeads, kCapacity, head_dim}, 4));
    Array y = slice_update(cache, k, {0, 0, kPosition, 0}, {1, kHeads, kPosition + 1, head_dim});
    EXPECT_NE(node_name(y).find("Matmul"), std::string::npos) << node_name(y);
    return keep_old ? concatenate({cache, y}, 0) : y;
  }
};

void expect_write(int device, const Write& w, bool keep_old = false) {
  SCOPED_TRACE(w.name() + (keep_old ? " (old cache kept)" : ""));
  expect_gpu_matches_cpu(device, [&] { return w.build(keep_old); }, product_tolerance(w.dtype),
                         product_tolerance(w.dtype) / 4);
}

TEST(VulkanKvWrite, QuantizedMatvecWritesTheCache) {
  LAMINA_REQUIRE_VULKAN();
  with_and_without_subgroups([&] {
    for (Dtype dtype : {Dtype::float32, Dtype::float16, Dtype::bfloat16}) {
      for (const char* rope : {"", "split", "traditional"}) {
        for (bool norm : {false, true}) expect_write(vk_device, Write{dtype, 4, rope, norm});
      }
      expect_write(vk_device, Write{dtype, 4, "freqs", true});
    }
    for (int bits : {2, 3, 5, 6, 8}) expect_write(vk_device, Write{Dtype::float16, bits, bits % 2 ? "traditional" : "split", true});
    for (int64_t head_dim : {40, 128}) {
      expect_write(vk_device, Write{Dtype::float16, 4, "split", true, head_dim});
      expect_write(vk_device, Write{Dtype::float32, 8, "", false, head_dim});
    }
    expect_write(vk_device, Write{Dtype::float16, 4, "split", true}, true);
  });
}

}  // namespace
}  // namespace lamina::test
