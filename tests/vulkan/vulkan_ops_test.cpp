// Every Vulkan kernel against the CPU backend on random inputs of awkward shapes (odd
// sizes, strided views, broadcasting). Tolerances: float32 1e-5 (transcendentals 1e-4,
// reductions over k scaled with k), float16 2e-3, bfloat16 1.6e-2 relative.
#include <gtest/gtest.h>

#include "libcore/ops/fast.h"
#include "libcore/ops/ops.h"
#include "libcore/backend/vulkan/instance.h"
#include "libcore/backend/vulkan/command_stream.h"
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
    expect_gpu_matches_cpu(vk_device, [&] { return swiglu(astype(a, d), astype(b, d)); }, tol(d, 1e-5), tol(d, 1e-4));
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

// The tensor-core kernel (matmul_coopmat.comp, float16 from 2 rows on; skipped on devices
// without VK_NV_cooperative_matrix): transposed weights with 16-byte loads (K = 64) and
// element by element (K = 45, a view one element in), a row-major b (loads along n: N = 136
// aligned, N = 19 not), a transposed a, broadcast batches, 64- and 128-row tiles (64 x 140
// rows against 140 outputs: 256 tiles of 128). Each also with LAMINA_VULKAN_COOPMAT=0.
TEST(VulkanOps, MatmulCooperativeMatrix) {
  LAMINA_REQUIRE_VULKAN();
  if (vulkan::coopmat_shape_n(vulkan::devices()[vk_device]) == 0) {
    GTEST_SKIP() << "no VK_NV_cooperative_matrix float16 shape on this device";
  }
  auto h = [](const Array& x) { return astype(x, Dtype::float16); };
  Array a = h(random_array({2, 67, 65}, 51));
  Array w = h(random_array({83, 64}, 52));
  Array w45 = h(random_array({83, 45}, 53));
  Array b_rows = h(random_array({3, 1, 64, 136}, 54));
  Array b_odd = h(random_array({64, 19}, 55));
  Array at = h(random_array({64, 200}, 56));
  Array big = h(random_array({64, 140, 24}, 57));
  Array w_big = h(random_array({140, 24}, 58));
  const double t = 4e-3;
  for (const char* value : {"1", "0"}) {
    SCOPED_TRACE(std::string("LAMINA_VULKAN_COOPMAT=") + value);
    setenv("LAMINA_VULKAN_COOPMAT", value, 1);
    Array a64 = slice(a, {0, 0, 0}, {2, 67, 64});
    Array a45 = slice(a, {0, 0, 1}, {2, 67, 46});
    expect_gpu_matches_cpu(vk_device, [&] { return matmul(a64, transpose(w)); }, t, t);
    expect_gpu_matches_cpu(vk_device, [&] { return matmul(a45, transpose(w45)); }, t, t);
    expect_gpu_matches_cpu(vk_device, [&] { return matmul(a64, b_rows); }, t, t);
    expect_gpu_matches_cpu(vk_device, [&] { return matmul(a64, b_odd); }, t, t);
    expect_gpu_matches_cpu(vk_device, [&] { return matmul(transpose(at), transpose(w)); }, t, t);
    expect_gpu_matches_cpu(vk_device, [&] { return matmul(big, transpose(w_big)); }, t, t);
    // A short prompt: 3 rows in one partial tile.
    expect_gpu_matches_cpu(vk_device, [&] { return matmul(slice(a64, {0, 0, 0}, {1, 3, 64}), transpose(w)); }, t, t);
  }
  unsetenv("LAMINA_VULKAN_COOPMAT");
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
  Array y = random_array({5, 3, 77}, 14);
  with_and_without_subgroups([&] {
  for (Dtype d : kFloats) {
    expect_gpu_matches_cpu(vk_device, [&] { return fast::rms_norm(astype(x, d), astype(w, d), 1e-5f); }, tol(d, 1e-5), tol(d, 1e-4));
    expect_gpu_matches_cpu(vk_device, [&] { return fast::rms_norm(astype(x, d), std::nullopt, 1e-5f); }, tol(d, 1e-5), tol(d, 1e-4));
    // The norm of a pending sum (a residual stream): one kernel reads both addends.
    expect_gpu_matches_cpu(vk_device, [&] { return fast::rms_norm(astype(x, d) + transpose(astype(y, d), {1, 0, 2}), astype(w, d), 1e-5f); },
                           tol(d, 1e-5), tol(d, 1e-4));
    expect_gpu_matches_cpu(vk_device, [&] { return softmax(astype(x, d), -1); }, tol(d, 1e-6), tol(d, 1e-4));
    expect_gpu_matches_cpu(vk_device, [&] { return softmax(transpose(astype(x, d), {0, 2, 1}), 1); }, tol(d, 1e-6), tol(d, 1e-4));
    for (bool traditional : {false, true}) {
      expect_gpu_matches_cpu(vk_device, [&] { return fast::rope(astype(h, d), 12, traditional, 10000.0f, 1.0f, 5); },
                             tol(d, 2e-5), tol(d, 1e-4));
    }
    Array freqs = random_array({6}, 13, 1.0f, 100.0f);
    expect_gpu_matches_cpu(vk_device, [&] { return fast::rope(astype(h, d), 12, false, std::nullopt, 0.5f, 3, freqs); },
                           tol(d, 2e-5), tol(d, 1e-4));
    // A KV cache write of a pending rope: the kernel rotates the rows into the cache's region.
    Array cache = random_array({2, 7, 12, 16}, 15);  // [B, heads, positions, D]
    expect_gpu_matches_cpu(vk_device, [&] {
      return slice_update(astype(cache, d), fast::rope(transpose(astype(h, d), {0, 2, 1, 3}), 12, false, 10000.0f, 1.0f, 5),
                          {0, 0, 4, 0}, {2, 7, 7, 16});
    }, tol(d, 2e-5), tol(d, 1e-4));
    expect_gpu_matches_cpu(vk_device, [&] {
      return slice_update(astype(cache, d), fast::rope(transpose(astype(h, d), {0, 2, 1, 3}), 12, true, std::nullopt, 1.0f, 3, freqs),
                          {0, 0, 0, 0}, {2, 7, 3, 16});
    }, tol(d, 2e-5), tol(d, 1e-4));
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
        expect_gpu_matches_cpu(vk_device, [&] { return fast::rms_norm(c(x) + c(b), std::nullopt, 1e-5f); }, tol(d, 1e-5), tol(d, 1e-4));
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

// The tensor-core prefill kernel (sdpa_coopmat.comp: float16, more than 4 query rows,
// head dims up to 128), also with LAMINA_VULKAN_COOPMAT=0 (the per-row kernel): q laid
// out as the models give it (transposed from [B, L, H, D]), several key blocks, causal
// with a cached prefix (Lk > Lq, K/V the first rows of a larger cache), partial blocks of
// rows and keys, GQA, masks, head dims padded in the tiles (40 / 24: element loads; 100 /
// 128: the 128 variant), a fully masked row.
TEST(VulkanOps, AttentionCooperativeMatrix) {
  LAMINA_REQUIRE_VULKAN();
  if (vulkan::coopmat_shape_n(vulkan::devices()[vk_device]) == 0) {
    GTEST_SKIP() << "no VK_NV_cooperative_matrix float16 shape on this device";
  }
  auto h = [](const Array& x) { return astype(x, Dtype::float16); };
  auto sdpa = [](const Array& q, const Array& k, const Array& v, const auto& mode) {
    return fast::scaled_dot_product_attention(q, k, v, 0.125f, mode);
  };
  const double t = 4e-3;
  for (const char* value : {"1", "0"}) {
    SCOPED_TRACE(std::string("LAMINA_VULKAN_COOPMAT=") + value);
    setenv("LAMINA_VULKAN_COOPMAT", value, 1);
    Array q = h(transpose(random_array({1, 200, 8, 64}, 100, -2.0f, 2.0f), {0, 2, 1, 3}));
    Array k_cache = h(random_array({1, 2, 512, 64}, 101, -2.0f, 2.0f));
    Array v_cache = h(random_array({1, 2, 512, 64}, 102));
    Array k = slice(k_cache, {0, 0, 0, 0}, {1, 2, 200, 64});
    Array v = slice(v_cache, {0, 0, 0, 0}, {1, 2, 200, 64});
    expect_gpu_matches_cpu(vk_device, [&] { return sdpa(q, k, v, "causal"); }, t, t);
    expect_gpu_matches_cpu(vk_device, [&] { return sdpa(q, k, v, ""); }, t, t);
    Array q70 = slice(q, {0, 0, 0, 0}, {1, 8, 70, 64});
    Array k150 = slice(k_cache, {0, 0, 0, 0}, {1, 2, 150, 64});
    Array v150 = slice(v_cache, {0, 0, 0, 0}, {1, 2, 150, 64});
    expect_gpu_matches_cpu(vk_device, [&] { return sdpa(q70, k150, v150, "causal"); }, t, t);
    Array q5 = slice(q, {0, 0, 0, 0}, {1, 8, 5, 64});
    Array k7 = slice(k_cache, {0, 0, 0, 0}, {1, 2, 7, 64});
    Array v7 = slice(v_cache, {0, 0, 0, 0}, {1, 2, 7, 64});
    expect_gpu_matches_cpu(vk_device, [&] { return sdpa(q5, k7, v7, "causal"); }, t, t);
    for (auto [dk, dv] : {std::pair<int64_t, int64_t>{40, 24}, {128, 128}, {100, 128}}) {
      SCOPED_TRACE("D=" + std::to_string(dk) + " Dv=" + std::to_string(dv));
      Array qd = h(random_array({2, 6, 45, dk}, 103));
      Array kd = h(random_array({2, 3, 77, dk}, 104));
      Array vd = h(random_array({2, 3, 77, dv}, 105));
      Array bool_mask = greater(random_array({45, 77}, 106), Array(-0.5f));
      Array float_mask = random_array({2, 1, 45, 77}, 107);
      expect_gpu_matches_cpu(vk_device, [&] { return sdpa(qd, kd, vd, "causal"); }, t, t);
      expect_gpu_matches_cpu(vk_device, [&] { return sdpa(qd, kd, vd, bool_mask); }, t, t);
      expect_gpu_matches_cpu(vk_device, [&] { return sdpa(qd, kd, vd, float_mask); }, t, t);
    }
    Array row_masked = less(reshape(arange(0, 6 * 9, 1, Dtype::int32), {6, 9}), Array(int32_t{45}));
    Array q6 = slice(q, {0, 0, 0, 0}, {1, 8, 6, 64});
    Array k9 = slice(k_cache, {0, 0, 0, 0}, {1, 2, 9, 64});
    expect_gpu_matches_cpu(vk_device, [&] { return sdpa(q6, k9, k9, row_masked); }, t, t);
  }
  unsetenv("LAMINA_VULKAN_COOPMAT");
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


// The command stream's record of what was read and written since the last barrier, against
// a plain list of every range added: random ranges in three buffers, overlapping, touching,
// nested and empty.
TEST(VulkanCommandStream, RangeSetMatchesPlainList) {
  // Fake handles: the set only orders and compares them.
  const VkBuffer buffers[] = {reinterpret_cast<VkBuffer>(uintptr_t{0x1000}),
                              reinterpret_cast<VkBuffer>(uintptr_t{0x2000}),
                              reinterpret_cast<VkBuffer>(uintptr_t{0x3000})};
  uint32_t state = 12345;
  auto next = [&](uint32_t n) {  // a small LCG: the same cases on every run
    state = state * 1664525u + 1013904223u;
    return (state >> 8) % n;
  };
  auto random_range = [&] {
    VkDeviceSize begin = next(200), length = next(4) == 0 ? 0 : 1 + next(30);
    return vulkan::BufferRange{buffers[next(3)], begin, begin + length};
  };
  vulkan::RangeSet set;
  std::vector<vulkan::BufferRange> added;
  for (int step = 0; step < 4000; ++step) {
    if (next(150) == 0) {
      set.clear();
      added.clear();
    }
    const vulkan::BufferRange q = random_range();
    bool expected = false;
    for (const auto& a : added) {
      expected = expected || (a.buffer == q.buffer && q.begin < q.end && a.begin < a.end &&
                              a.begin < q.end && q.begin < a.end);
    }
    ASSERT_EQ(set.overlaps(q), expected) << "step " << step << ": [" << q.begin << ", " << q.end << ")";
    if (next(2) == 0) {
      const vulkan::BufferRange r = random_range();
      set.add(r);
      added.push_back(r);
    }
  }
}

// Every dispatch pushes its bindings (VK_KHR_push_descriptor) where the device has it, or
// writes a descriptor set from a pool (LAMINA_VULKAN_PUSH_DESCRIPTORS=0, or no extension):
// the same kernels through both give the same bits, and the CPU's values. The attention
// decode kernel binds the most buffers (7 and the parameters).
TEST(VulkanOps, PushDescriptorsAndDescriptorSetsAgree) {
  LAMINA_REQUIRE_VULKAN();
  vulkan::Context& ctx = vulkan::context(vk_device);
  const bool initial = ctx.push_descriptors();
  struct Restore {
    vulkan::Context& ctx;
    bool on;
    ~Restore() { ctx.set_push_descriptors(on); }
  } restore{ctx, initial};
  if (!ctx.info().push_descriptor) std::cout << "[ NOTE     ] no VK_KHR_push_descriptor: one path only\n";
  Array x = random_array({3, 1, 96}, 101);
  Array w = random_array({96, 96}, 102);
  Array norm_weight = random_array({96}, 103);
  Array q = random_array({1, 4, 1, 32}, 104);
  Array k = random_array({1, 2, 70, 32}, 105);
  Array v = random_array({1, 2, 70, 32}, 106);
  auto build = [&] {
    Array h = fast::rms_norm(add(x, Array(0.5f)), norm_weight, 1e-5f);
    Array y = softmax(matmul(h, transpose(w)), -1);
    Array attn = fast::scaled_dot_product_attention(q, k, v, 0.2f, "causal");
    return add(sum(y, {-1}), sum(attn));
  };
  std::vector<Array> results;
  for (bool on : {true, false}) {
    SCOPED_TRACE(on ? "push descriptors" : "descriptor sets");
    ctx.set_push_descriptors(on);
    EXPECT_EQ(ctx.push_descriptors(), on && ctx.info().push_descriptor);
    EXPECT_EQ(ctx.pipelines().get("copy_f32_f32", 3, {256, 0}).push_descriptors, ctx.push_descriptors());
    expect_gpu_matches_cpu(vk_device, build, 1e-4, 1e-4);
    results.push_back(run_on(Device::vulkan(vk_device), build));
  }
  expect_arrays_close(results[0], results[1], 0, 0);
}

}  // namespace
}  // namespace lamina::test
