// Every Vulkan kernel against the CPU backend on random inputs of awkward shapes (odd
// sizes, strided views, broadcasting). Tolerances: float32 1e-5 (transcendentals 1e-4,
// reductions over k scaled with k), float16 2e-3, bfloat16 1.6e-2 relative.
#include <gtest/gtest.h>

#include "libcore/ops/fast.h"
#include "libcore/ops/ops.h"
#include "libcore/backend/vulkan/transfer.h"
#include "tests/vulkan/vulkan_test_util.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

double tol(Dtype d, double f32) {
  return d == Dtype::float32 ? f32 : d == Dtype::float16 ? 4e-3 : 3e-2;
}

const Dtype kFloats[] = {Dtype::float32, Dtype::float16, Dtype::bfloat16};

TEST(VulkanOps, UnaryOnStridedViews) {
  LAMINA_REQUIRE_VULKAN();
  Array x = random_array({7, 13, 5}, 1, -2.0f, 2.0f);
  Array pos = random_array({7, 13, 5}, 2, 0.1f, 3.0f);
  using Fn = Array (*)(const Array&);
  const Fn any[] = {negative, abs, exp, sin, cos, tanh, sigmoid, erf, silu, gelu, gelu_tanh,
                    floor, ceil, round, sign, square};
  const Fn positive[] = {log, sqrt, rsqrt};
  for (Dtype d : kFloats) {
    for (Fn f : any) {
      expect_gpu_matches_cpu(vk_device, [&] { return f(transpose(astype(x, d), {2, 0, 1})); },
                             tol(d, 1e-5), tol(d, 1e-4));
    }
    for (Fn f : positive) {
      expect_gpu_matches_cpu(vk_device, [&] { return f(slice(astype(pos, d), {1, 0, 0}, {7, 13, 5}, {2, 3, 1})); },
                             tol(d, 1e-5), tol(d, 1e-4));
    }
  }
}

TEST(VulkanOps, BinaryBroadcastAndCompare) {
  LAMINA_REQUIRE_VULKAN();
  Array a = random_array({5, 1, 9}, 3);
  Array b = random_array({3, 1}, 4, 0.5f, 2.0f);
  using Fn = Array (*)(const Array&, const Array&);
  const Fn ops[] = {add, subtract, multiply, divide, maximum, minimum, equal, not_equal,
                    less, less_equal, greater, greater_equal};
  for (Dtype d : kFloats) {
    for (Fn f : ops) {
      expect_gpu_matches_cpu(vk_device, [&] { return f(astype(a, d), astype(b, d)); }, tol(d, 1e-6), tol(d, 1e-5));
    }
    expect_gpu_matches_cpu(vk_device, [&] { return power(abs(astype(a, d)), astype(b, d)); }, tol(d, 1e-5), tol(d, 1e-4));
  }
  Array ia = astype(multiply(a, Array(50.0f)), Dtype::int32);
  Array ib = astype(add(multiply(b, Array(7.0f)), Array(1.0f)), Dtype::int32);
  for (Fn f : {add, subtract, multiply, maximum, minimum, less, equal}) {
    expect_gpu_matches_cpu(vk_device, [&] { return f(ia, ib); }, 0, 0);
  }
  // int / int is a float32 division; Vulkan allows 2.5 ulp for it (NVIDIA uses that).
  expect_gpu_matches_cpu(vk_device, [&] { return divide(ia, ib); }, 0, 1e-6);
  Array ca = greater(a, Array(0.0f)), cb = less(b, Array(1.0f));
  expect_gpu_matches_cpu(vk_device, [&] { return logical_and(ca, cb); }, 0, 0);
  expect_gpu_matches_cpu(vk_device, [&] { return logical_or(ca, cb); }, 0, 0);
  expect_gpu_matches_cpu(vk_device, [&] { return where(ca, a, multiply(a, Array(-3.0f))); }, 0, 0);
}

TEST(VulkanOps, AsTypeCopyReshape) {
  LAMINA_REQUIRE_VULKAN();
  Array x = random_array({6, 11}, 5, -40.0f, 40.0f);
  const Dtype all[] = {Dtype::float32, Dtype::float16, Dtype::bfloat16, Dtype::int32, Dtype::uint32, Dtype::bool_};
  for (Dtype from : all) {
    for (Dtype to : all) {
      Array src = from == Dtype::uint32 ? astype(abs(x), from) : astype(x, from);
      expect_gpu_matches_cpu(vk_device, [&] { return astype(transpose(src), to); }, 0, 0);
    }
  }
  expect_gpu_matches_cpu(vk_device, [&] { return reshape(transpose(x), {2, 33}); }, 0, 0);
  expect_gpu_matches_cpu(vk_device, [&] { return copy(slice(x, {1, 2}, {6, 11}, {2, 3})); }, 0, 0);
}

TEST(VulkanOps, MatmulTiledAndVector) {
  LAMINA_REQUIRE_VULKAN();
  Array a = random_array({2, 67, 45}, 6);
  Array w = random_array({83, 45}, 7);
  Array a1 = random_array({1, 1, 45}, 8);
  Array bb = random_array({3, 1, 45, 19}, 9);
  for (Dtype d : kFloats) {
    expect_gpu_matches_cpu(vk_device, [&] { return matmul(astype(a, d), transpose(astype(w, d))); }, tol(d, 1e-4), tol(d, 1e-4));
    expect_gpu_matches_cpu(vk_device, [&] { return matmul(astype(a1, d), transpose(astype(w, d))); }, tol(d, 1e-4), tol(d, 1e-4));
    expect_gpu_matches_cpu(vk_device, [&] { return matmul(astype(a, d), astype(bb, d)); }, tol(d, 1e-4), tol(d, 1e-4));
  }
}

// The matrix-vector kernel's paths: k read 16 bytes at a time (rows 64 elements apart,
// k = 50: a tail of 2 elements past the last 16 bytes) or element by element (a one
// element in, or an untransposed b), a batch of vectors, and enough outputs (9001) for 2
// and 4 of them per team.
TEST(VulkanOps, MatvecLoadPaths) {
  LAMINA_REQUIRE_VULKAN();
  Array w = random_array({37, 64}, 41);
  Array a = random_array({1, 65}, 42);
  Array a3 = random_array({3, 1, 64}, 43);
  Array w3 = random_array({3, 29, 64}, 44);
  Array tall = random_array({9001, 48}, 45);
  Array a_tall = random_array({1, 48}, 46);
  with_and_without_subgroups([&] {
    for (Dtype d : kFloats) {
      SCOPED_TRACE(dtype_name(d));
      const double t = tol(d, 1e-4);
      Array wd = astype(w, d), ad = astype(a, d);
      auto wt = [&](int64_t k) { return transpose(slice(wd, {0, 0}, {37, k})); };
      expect_gpu_matches_cpu(vk_device, [&] { return matmul(slice(ad, {0, 0}, {1, 64}), wt(64)); }, t, t);
      expect_gpu_matches_cpu(vk_device, [&] { return matmul(slice(ad, {0, 0}, {1, 50}), wt(50)); }, t, t);
      expect_gpu_matches_cpu(vk_device, [&] { return matmul(slice(ad, {0, 1}, {1, 65}), wt(64)); }, t, t);
      expect_gpu_matches_cpu(vk_device, [&] { return matmul(slice(ad, {0, 0}, {1, 37}), wd); }, t, t);
      expect_gpu_matches_cpu(vk_device, [&] { return matmul(astype(a3, d), transpose(astype(w3, d), {0, 2, 1})); }, t, t);
      expect_gpu_matches_cpu(vk_device, [&] { return matmul(astype(a_tall, d), transpose(astype(tall, d))); }, t, t);
    }
  });
}

TEST(VulkanOps, RmsNormSoftmaxRope) {
  LAMINA_REQUIRE_VULKAN();
  Array x = random_array({3, 5, 77}, 10);
  Array w = random_array({77}, 11);
  Array h = random_array({2, 3, 7, 16}, 12);
  with_and_without_subgroups([&] {
  for (Dtype d : kFloats) {
    expect_gpu_matches_cpu(vk_device, [&] { return fast::rms_norm(astype(x, d), astype(w, d), 1e-5f); }, tol(d, 1e-5), tol(d, 1e-4));
    expect_gpu_matches_cpu(vk_device, [&] { return fast::rms_norm(astype(x, d), std::nullopt, 1e-5f); }, tol(d, 1e-5), tol(d, 1e-4));
    expect_gpu_matches_cpu(vk_device, [&] { return softmax(astype(x, d), -1); }, tol(d, 1e-6), tol(d, 1e-4));
    expect_gpu_matches_cpu(vk_device, [&] { return softmax(transpose(astype(x, d), {0, 2, 1}), 1); }, tol(d, 1e-6), tol(d, 1e-4));
    for (bool traditional : {false, true}) {
      expect_gpu_matches_cpu(vk_device, [&] { return fast::rope(astype(h, d), 12, traditional, 10000.0f, 1.0f, 5); },
                             tol(d, 2e-5), tol(d, 1e-4));
    }
    Array freqs = random_array({6}, 13, 1.0f, 100.0f);
    expect_gpu_matches_cpu(vk_device, [&] { return fast::rope(astype(h, d), 12, false, std::nullopt, 0.5f, 3, freqs); },
                           tol(d, 2e-5), tol(d, 1e-4));
  }
  });
}

TEST(VulkanOps, LayerNorm) {
  LAMINA_REQUIRE_VULKAN();
  Array x = add(random_array({3, 5, 77}, 40), Array(3.0f));  // a mean far from 0
  Array w = random_array({77}, 41), b = random_array({77}, 42);
  with_and_without_subgroups([&] {
  for (Dtype d : kFloats) {
    auto c = [&](const Array& a) { return astype(a, d); };
    expect_gpu_matches_cpu(vk_device, [&] { return fast::layer_norm(c(x), c(w), c(b), 1e-5f); }, tol(d, 1e-5), tol(d, 1e-4));
    expect_gpu_matches_cpu(vk_device, [&] { return fast::layer_norm(c(x), std::nullopt, c(b), 1e-5f); }, tol(d, 1e-5), tol(d, 1e-4));
    expect_gpu_matches_cpu(vk_device, [&] { return fast::layer_norm(c(x), c(w), std::nullopt, 1e-5f); }, tol(d, 1e-5), tol(d, 1e-4));
    expect_gpu_matches_cpu(vk_device, [&] { return fast::layer_norm(transpose(c(x), {1, 0, 2}), std::nullopt, std::nullopt, 1e-5f); },
                           tol(d, 1e-5), tol(d, 1e-4));
    // float32 weights with half x.
    expect_gpu_matches_cpu(vk_device, [&] { return fast::layer_norm(c(x), w, b, 1e-5f); }, tol(d, 1e-5), tol(d, 1e-4));
  }
  });
}

// Rows held in registers (2048: the TinyLlama hidden size; 4096: the largest that fits)
// and longer rows (the loop over memory, 1024 invocations), subgroups on and off.
TEST(VulkanOps, NormsOfLongRows) {
  LAMINA_REQUIRE_VULKAN();
  with_and_without_subgroups([&] {
    for (int64_t n : {2048, 4096, 4097, 20000}) {
      SCOPED_TRACE("n=" + std::to_string(n));
      Array x = add(random_array({3, n}, 50), Array(1.0f));
      Array w = random_array({n}, 51), b = random_array({n}, 52);
      for (Dtype d : kFloats) {
        auto c = [&](const Array& a) { return astype(a, d); };
        expect_gpu_matches_cpu(vk_device, [&] { return fast::rms_norm(c(x), c(w), 1e-5f); }, tol(d, 1e-5), tol(d, 1e-4));
        expect_gpu_matches_cpu(vk_device, [&] { return fast::rms_norm(c(slice(x, {0, 0}, {3, n}, {2, 1})), std::nullopt, 1e-5f); },
                               tol(d, 1e-5), tol(d, 1e-4));
        expect_gpu_matches_cpu(vk_device, [&] { return softmax(c(x), -1); }, tol(d, 1e-6), tol(d, 1e-4));
        expect_gpu_matches_cpu(vk_device, [&] { return fast::layer_norm(c(x), c(w), c(b), 1e-5f); }, tol(d, 1e-5), tol(d, 1e-4));
      }
    }
  });
}

TEST(VulkanOps, Attention) {
  LAMINA_REQUIRE_VULKAN();
  Array q = random_array({2, 4, 5, 24}, 14);
  Array k = random_array({2, 2, 9, 24}, 15);
  Array v = random_array({2, 2, 9, 20}, 16);
  Array q1 = random_array({1, 4, 1, 24}, 17);
  Array k1 = random_array({1, 2, 1100, 24}, 18);  // more keys than one chunk
  Array v1 = random_array({1, 2, 1100, 24}, 19);
  Array mask = greater(random_array({5, 9}, 20), Array(-0.5f));
  for (Dtype d : kFloats) {
    auto c = [&](const Array& x) { return astype(x, d); };
    expect_gpu_matches_cpu(vk_device, [&] { return fast::scaled_dot_product_attention(c(q), c(k), c(v), 0.2f); }, tol(d, 1e-5), tol(d, 1e-4));
    expect_gpu_matches_cpu(vk_device, [&] { return fast::scaled_dot_product_attention(c(q), c(k), c(v), 0.2f, "causal"); }, tol(d, 1e-5), tol(d, 1e-4));
    expect_gpu_matches_cpu(vk_device, [&] { return fast::scaled_dot_product_attention(c(q), c(k), c(v), 0.2f, mask); }, tol(d, 1e-5), tol(d, 1e-4));
    expect_gpu_matches_cpu(vk_device, [&] { return fast::scaled_dot_product_attention(c(q1), c(k1), c(v1), 0.2f); }, tol(d, 1e-5), tol(d, 1e-4));
  }
}

// The split-key decode path (sdpa_decode.comp: Lq <= 4, head dims <= 256): key counts
// around its 32-key tiles and beyond its 32 splits per row, GQA, causal, masks, and K/V
// as the KV cache gives them (the first Lk rows of a larger cache buffer).
TEST(VulkanOps, AttentionSplitKeys) {
  LAMINA_REQUIRE_VULKAN();
  // The split kernel for every length (by default short caches take the per-row kernel).
  setenv("LAMINA_VULKAN_SDPA_SPLIT", "1", 1);
  struct Unset {
    ~Unset() { unsetenv("LAMINA_VULKAN_SDPA_SPLIT"); }
  } unset;
  const int64_t B = 2, Hq = 8, Hkv = 2, D = 64, capacity = 2560;
  Array k_cache = random_array({B, Hkv, capacity, D}, 60);
  Array v_cache = random_array({B, Hkv, capacity, D}, 61);
  for (int64_t lk : {1, 5, 31, 32, 33, 100, 1025, 2049}) {
    for (int64_t lq : {1, 2, 3, 4}) {
      if (lq > lk || (lk > 100 && (lq == 2 || lq == 3))) continue;
      SCOPED_TRACE("Lq=" + std::to_string(lq) + " Lk=" + std::to_string(lk));
      Array q = random_array({B, Hq, lq, D}, 62 + lq);
      Array k = slice(k_cache, {0, 0, 0, 0}, {B, Hkv, lk, D});
      Array v = slice(v_cache, {0, 0, 0, 0}, {B, Hkv, lk, D});
      Array bool_mask = greater(random_array({lq, lk}, 70), Array(-0.5f));
      Array float_mask = random_array({B, 1, lq, lk}, 71);
      const bool all_dtypes = lq == 1 || lk == 1025;
      for (Dtype d : kFloats) {
        if (d != Dtype::float32 && !all_dtypes) continue;
        auto c = [&](const Array& x) { return astype(x, d); };
        expect_gpu_matches_cpu(vk_device, [&] { return fast::scaled_dot_product_attention(c(q), c(k), c(v), 0.125f); },
                               tol(d, 1e-5), tol(d, 1e-4));
        expect_gpu_matches_cpu(vk_device, [&] { return fast::scaled_dot_product_attention(c(q), c(k), c(v), 0.125f, "causal"); },
                               tol(d, 1e-5), tol(d, 1e-4));
        expect_gpu_matches_cpu(vk_device, [&] { return fast::scaled_dot_product_attention(c(q), c(k), c(v), 0.125f, bool_mask); },
                               tol(d, 1e-5), tol(d, 1e-4));
        expect_gpu_matches_cpu(vk_device, [&] { return fast::scaled_dot_product_attention(c(q), c(k), c(v), 0.125f, float_mask); },
                               tol(d, 1e-5), tol(d, 1e-4));
      }
    }
  }
  // Head dims not a multiple of anything (q/k 24, v 20; 100 and 128), the largest of this
  // path (256) and one past it (the one-workgroup-per-row kernel); K/V transposed from
  // [B, L, H, D].
  for (auto [dk, dv] : {std::pair<int64_t, int64_t>{24, 20}, {100, 128}, {256, 256}, {257, 100}}) {
    SCOPED_TRACE("D=" + std::to_string(dk) + " Dv=" + std::to_string(dv));
    Array q = random_array({1, 6, 2, dk}, 80);
    Array k = transpose(random_array({1, 333, 3, dk}, 81), {0, 2, 1, 3});
    Array v = transpose(random_array({1, 333, 3, dv}, 82), {0, 2, 1, 3});
    for (Dtype d : kFloats) {
      auto c = [&](const Array& x) { return astype(x, d); };
      expect_gpu_matches_cpu(vk_device, [&] { return fast::scaled_dot_product_attention(c(q), c(k), c(v), 0.1f, "causal"); },
                             tol(d, 1e-5), tol(d, 1e-4));
    }
  }
  // A fully masked row (every key false) gives zeros, as on the CPU.
  Array q = random_array({1, 2, 1, 16}, 90);
  Array k = random_array({1, 1, 70, 16}, 91);
  Array none = zeros({1, 70}, Dtype::bool_);
  expect_gpu_matches_cpu(vk_device, [&] { return fast::scaled_dot_product_attention(q, k, k, 0.25f, none); }, 1e-6, 1e-5);
  // The same dispatch twice in one eval: the arrival counters were reset by the first.
  expect_gpu_matches_cpu(vk_device, [&] {
    Array once = fast::scaled_dot_product_attention(q, k, k, 0.25f);
    return add(once, fast::scaled_dot_product_attention(q, k, k, 0.25f));
  }, 1e-6, 1e-5);
}

TEST(VulkanOps, GatherConcatenateSliceUpdate) {
  LAMINA_REQUIRE_VULKAN();
  Array table = random_array({37, 10}, 21);
  Array idx = Array(std::vector<int32_t>{3, 0, 36, -1, 5, 5}, {2, 3});
  Array uidx = Array(std::vector<uint32_t>{1, 2, 3}, {3});
  expect_gpu_matches_cpu(vk_device, [&] { return take(table, idx, 0); }, 0, 0);
  expect_gpu_matches_cpu(vk_device, [&] { return take(astype(table, Dtype::bfloat16), uidx, 1); }, 0, 0);
  Array a = random_array({3, 4, 5}, 22), b = random_array({3, 2, 5}, 23);
  expect_gpu_matches_cpu(vk_device, [&] { return concatenate({a, b, transpose(random_array({5, 1, 3}, 24), {2, 1, 0})}, 1); }, 0, 0);
  Array cache = zeros({1, 2, 8, 4}, Dtype::float16);
  Array upd = astype(random_array({1, 2, 3, 4}, 25), Dtype::float16);
  expect_gpu_matches_cpu(vk_device, [&] { return slice_update(cache, upd, {0, 0, 2, 0}, {1, 2, 5, 4}); }, 0, 0);
}

TEST(VulkanOps, FallbackRunsOnCpu) {
  LAMINA_REQUIRE_VULKAN();
  Array x = random_array({4, 9}, 26);
  // cumsum has no Vulkan kernel yet: it must still give the CPU's answer.
  expect_gpu_matches_cpu(vk_device, [&] { return cumsum(x, 1); }, 0, 0, false);
  // A GPU op feeding a CPU fallback.
  expect_gpu_matches_cpu(vk_device, [&] { return cumsum(exp(x), 0); }, 1e-5, 1e-5, false);
}

TEST(VulkanOps, WeightsUploadOnce) {
  LAMINA_REQUIRE_VULKAN();
  Array w = random_array({16, 8}, 27);
  Array x = random_array({1, 8}, 28);
  run_on(Device::vulkan(vk_device), [&] { return matmul(x, transpose(w)); });
  ASSERT_TRUE(vulkan::on_device(w)) << "the weight should stay on the GPU after first use";
  auto buffer = w.buffer();
  run_on(Device::vulkan(vk_device), [&] { return matmul(x, transpose(w)); });
  EXPECT_EQ(w.buffer(), buffer);
  // Reading it on the host brings the values back intact.
  expect_arrays_close(w, random_array({16, 8}, 27), 0, 0);
}

}  // namespace
}  // namespace lamina::test
