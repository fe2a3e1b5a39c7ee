// fast::scaled_dot_product_attention against a scalar double-precision reference: MHA,
// GQA, MQA, causal (square and KV-cache shaped), additive and bool masks, strided inputs,
// a distinct value head dim, the key-chunked decode path, half types; its vjp against
// finite differences; and its argument checks.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernels/cpu/attention_tile.h"
#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/ops.h"
#include "tests/ops/fast_test_util.h"
#include "tests/test_util.h"

using namespace lamina::core;
using lamina::test::expect_arrays_close;
using lamina::test::expect_close;
using lamina::test::expect_vjp_matches_finite_differences;
using lamina::test::random_array;

namespace {

// softmax(q k^T * scale + mask) v in double, one query row at a time; rows that see no
// key give zeros. mask: additive (floating) or keep (bool), broadcast to the scores.
std::vector<double> attention_reference(const Array& q, const Array& k, const Array& v,
                                        double scale, bool causal,
                                        const std::optional<Array>& mask = std::nullopt) {
  const int64_t B = q.shape(0), Hq = q.shape(1), Lq = q.shape(2), D = q.shape(3);
  const int64_t Hkv = k.shape(1), Lk = k.shape(2), Dv = v.shape(3), G = Hq / Hkv;
  auto qv = q.to_vector<double>(), kv = k.to_vector<double>(), vv = v.to_vector<double>();
  std::vector<double> mv;
  bool keep_mask = mask && mask->dtype() == Dtype::bool_;
  if (mask) mv = broadcast_to(*mask, {B, Hq, Lq, Lk}).to_vector<double>();
  std::vector<double> out(static_cast<size_t>(B * Hq * Lq * Dv), 0.0);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < Hq; ++h) {
      const int64_t hk = h / G;
      for (int64_t i = 0; i < Lq; ++i) {
        std::vector<double> s(static_cast<size_t>(Lk));
        std::vector<bool> visible(static_cast<size_t>(Lk), true);
        double m = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < Lk; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) {
            dot += qv[((b * Hq + h) * Lq + i) * D + d] * kv[((b * Hkv + hk) * Lk + j) * D + d];
          }
          s[j] = dot * scale;
          if (causal && j > Lk - Lq + i) visible[j] = false;
          if (mask) {
            double mval = mv[((b * Hq + h) * Lq + i) * Lk + j];
            if (keep_mask) {
              if (mval == 0) visible[j] = false;
            } else {
              s[j] += mval;
            }
          }
          if (visible[j]) m = std::max(m, s[j]);
        }
        double l = 0;
        std::vector<double> acc(static_cast<size_t>(Dv), 0.0);
        for (int64_t j = 0; j < Lk; ++j) {
          if (!visible[j]) continue;
          double p = std::exp(s[j] - m);
          l += p;
          for (int64_t d = 0; d < Dv; ++d) acc[d] += p * vv[((b * Hkv + hk) * Lk + j) * Dv + d];
        }
        for (int64_t d = 0; d < Dv; ++d) {
          out[((b * Hq + h) * Lq + i) * Dv + d] = l > 0 ? acc[d] / l : 0.0;
        }
      }
    }
  }
  return out;
}

struct Qkv {
  Array q, k, v;
};

Qkv random_qkv(int64_t B, int64_t Hq, int64_t Hkv, int64_t Lq, int64_t Lk, int64_t D, uint32_t seed,
               int64_t Dv = -1) {
  return {random_array({B, Hq, Lq, D}, seed, -1.5f, 1.5f),
          random_array({B, Hkv, Lk, D}, seed + 1, -1.5f, 1.5f),
          random_array({B, Hkv, Lk, Dv < 0 ? D : Dv}, seed + 2)};
}

// Runs the body with the pool at n threads, restoring the previous count after.
template <typename Fn>
void with_threads(int n, Fn&& body) {
  const int before = cpu::num_threads();
  cpu::set_num_threads(n);
  body();
  cpu::set_num_threads(before);
}

}  // namespace

TEST(Attention, MultiHeadMatchesScalarReference) {
  auto [q, k, v] = random_qkv(2, 3, 3, 5, 7, 8, 1);
  const float scale = 1.0f / std::sqrt(8.0f);
  Array out = fast::scaled_dot_product_attention(q, k, v, scale);
  EXPECT_EQ(out.shape(), (Shape{2, 3, 5, 8}));
  EXPECT_EQ(out.dtype(), Dtype::float32);
  expect_close(out, attention_reference(q, k, v, scale, false), 1e-5, 1e-5);
}

TEST(Attention, GroupedAndMultiQuery) {
  for (int64_t kv_heads : {2, 1}) {
    SCOPED_TRACE("kv heads " + std::to_string(kv_heads));
    auto [q, k, v] = random_qkv(2, 6, kv_heads, 4, 9, 16, 2);
    Array out = fast::scaled_dot_product_attention(q, k, v, 0.25f);
    expect_close(out, attention_reference(q, k, v, 0.25, false), 1e-5, 1e-5);
  }
}

TEST(Attention, CausalSquareAndWithCache) {
  {
    auto [q, k, v] = random_qkv(1, 4, 2, 6, 6, 8, 3);
    expect_close(fast::scaled_dot_product_attention(q, k, v, 0.3f, "causal"),
                 attention_reference(q, k, v, 0.3, true), 1e-5, 1e-5);
  }
  {
    // Three new queries after seven cached keys: query i sits at position 7 + i.
    auto [q, k, v] = random_qkv(2, 4, 2, 3, 10, 8, 4);
    Array out = fast::scaled_dot_product_attention(q, k, v, 0.3f, "causal");
    expect_close(out, attention_reference(q, k, v, 0.3, true), 1e-5, 1e-5);
    // The last query sees everything: equal to unmasked attention for that row.
    Array full = fast::scaled_dot_product_attention(q, k, v, 0.3f);
    expect_arrays_close(slice_axis(out, 2, 2, 3), slice_axis(full, 2, 2, 3), 1e-6, 1e-6);
  }
}

TEST(Attention, SeveralQueryBlocksAndKeyTiles) {
  // 100 queries (two query blocks) over 150 keys (three key tiles), causal.
  auto [q, k, v] = random_qkv(1, 2, 1, 100, 150, 8, 5);
  expect_close(fast::scaled_dot_product_attention(q, k, v, 0.35f, "causal"),
               attention_reference(q, k, v, 0.35, true), 1e-5, 1e-5);
}

TEST(Attention, AdditiveMasks) {
  auto [q, k, v] = random_qkv(2, 4, 2, 3, 5, 8, 6);
  // [Lq, Lk], broadcast over batch and heads.
  Array m2 = random_array({3, 5}, 60, -2.0f, 2.0f);
  expect_close(fast::scaled_dot_product_attention(q, k, v, 0.4f, m2),
               attention_reference(q, k, v, 0.4, false, m2), 1e-5, 1e-5);
  // [B, 1, Lq, Lk] with -inf entries, together with causal.
  std::vector<float> mv(2 * 3 * 5, 0.0f);
  mv[1] = -std::numeric_limits<float>::infinity();
  mv[17] = -std::numeric_limits<float>::infinity();
  mv[20] = -3.0f;
  Array m4(mv, {2, 1, 3, 5});
  expect_close(fast::scaled_dot_product_attention(q, k, v, 0.4f, "causal", m4),
               attention_reference(q, k, v, 0.4, true, m4), 1e-5, 1e-5);
  // A float16 mask is read as float32.
  Array mh = astype(m2, Dtype::float16);
  expect_close(fast::scaled_dot_product_attention(q, k, v, 0.4f, mh),
               attention_reference(q, k, v, 0.4, false, mh), 1e-5, 1e-5);
}

TEST(Attention, BoolMaskKeepsTrueAndEmptyRowsGiveZeros) {
  auto [q, k, v] = random_qkv(1, 2, 2, 3, 4, 8, 7);
  Array keep(std::vector<bool>{true, false, true, true,     //
                               false, false, false, false,  // query 1 sees nothing
                               false, true, false, false},
             {3, 4});
  Array out = fast::scaled_dot_product_attention(q, k, v, 0.5f, keep);
  expect_close(out, attention_reference(q, k, v, 0.5, false, keep), 1e-5, 1e-5);
  expect_close(slice_axis(out, 2, 1, 2), std::vector<double>(2 * 8, 0.0), 0, 0);
  // Causal with more queries than keys: the first queries see no key either.
  auto [q2, k2, v2] = random_qkv(1, 1, 1, 4, 2, 4, 8);
  Array c = fast::scaled_dot_product_attention(q2, k2, v2, 0.5f, "causal");
  expect_close(c, attention_reference(q2, k2, v2, 0.5, true), 1e-5, 1e-5);
}

TEST(Attention, StridedInputs) {
  // [B, L, H, D] projections viewed as [B, H, L, D] without a copy.
  Array q = transpose(random_array({2, 5, 4, 8}, 9), {0, 2, 1, 3});
  Array k = transpose(random_array({2, 7, 2, 8}, 10), {0, 2, 1, 3});
  Array v = transpose(random_array({2, 7, 2, 8}, 11), {0, 2, 1, 3});
  Array out = fast::scaled_dot_product_attention(q, k, v, 0.3f, "causal");
  expect_close(out, attention_reference(q, k, v, 0.3, true), 1e-5, 1e-5);
  // A value view with a strided head dim, and a broadcast (stride-0) batch of keys.
  Array v_wide = random_array({2, 2, 7, 16}, 12);
  Array v_strided = slice(v_wide, {0, 0, 0, 0}, {2, 2, 7, 16}, {1, 1, 1, 2});
  Array k_shared = broadcast_to(random_array({1, 2, 7, 8}, 13), {2, 2, 7, 8});
  expect_close(fast::scaled_dot_product_attention(q, k_shared, v_strided, 0.3f),
               attention_reference(q, k_shared, v_strided, 0.3, false), 1e-5, 1e-5);
}

TEST(Attention, ValueHeadDimDiffersFromKeyHeadDim) {
  auto [q, k, v] = random_qkv(1, 2, 1, 3, 6, 8, 14, 5);
  Array out = fast::scaled_dot_product_attention(q, k, v, 0.3f, "causal");
  EXPECT_EQ(out.shape(), (Shape{1, 2, 3, 5}));
  expect_close(out, attention_reference(q, k, v, 0.3, true), 1e-5, 1e-5);
}

TEST(Attention, LongKeysAreSplitIntoChunksWhenTasksAreFew) {
  with_threads(8, [] {
    // One query over 1000 keys and one K/V head: the keys are split over the threads and
    // the partial softmax states merged.
    auto [q, k, v] = random_qkv(1, 4, 1, 1, 1000, 16, 15);
    expect_close(fast::scaled_dot_product_attention(q, k, v, 0.25f),
                 attention_reference(q, k, v, 0.25, false), 1e-5, 1e-4);
    // Causal decode of two tokens with a mask hiding a whole chunk for one row.
    auto [q2, k2, v2] = random_qkv(1, 2, 1, 2, 900, 8, 16);
    std::vector<bool> keep(2 * 900, true);
    for (int j = 0; j < 400; ++j) keep[900 + j] = false;
    Array mask(keep, {2, 900});
    expect_close(fast::scaled_dot_product_attention(q2, k2, v2, 0.25f, "causal", mask),
                 attention_reference(q2, k2, v2, 0.25, true, mask), 1e-5, 1e-4);
  });
}

TEST(Attention, HalfTypes) {
  auto [q32, k32, v32] = random_qkv(1, 4, 2, 5, 9, 32, 17);
  for (Dtype t : {Dtype::float16, Dtype::bfloat16}) {
    Array q = astype(q32, t), k = astype(k32, t), v = astype(v32, t);
    Array out = fast::scaled_dot_product_attention(q, k, v, 0.2f, "causal");
    EXPECT_EQ(out.dtype(), t);
    // Reference from the rounded inputs; the kernel accumulates in float32 and rounds once.
    const double tol = t == Dtype::float16 ? 1e-3 : 8e-3;
    expect_close(astype(out, Dtype::float32), attention_reference(q, k, v, 0.2, true), tol, tol);
  }
  // Mixed dtypes promote.
  Array mixed = fast::scaled_dot_product_attention(astype(q32, Dtype::float16), k32, v32, 0.2f);
  EXPECT_EQ(mixed.dtype(), Dtype::float32);
}

TEST(Attention, VjpMatchesFiniteDifferences) {
  const Qkv in = random_qkv(1, 4, 2, 3, 5, 4, 18);
  auto check = [&in](const std::string& mode, const std::optional<Array>& mask) {
    SCOPED_TRACE("mode '" + mode + "'" + (mask ? " with mask" : ""));
    expect_vjp_matches_finite_differences(
        [&](const std::vector<Array>& p) {
          return fast::scaled_dot_product_attention(p[0], p[1], p[2], 0.6f, mode, mask);
        },
        {in.q, in.k, in.v}, {0, 1, 2});
  };
  check("", std::nullopt);
  check("causal", std::nullopt);
  check("", random_array({3, 5}, 19, -1.0f, 1.0f));
  check("", Array(std::vector<bool>{true, false, true, true, false,     //
                                    false, false, false, false, false,  // an empty row
                                    true, true, true, false, true},
                  {1, 1, 3, 5}));
}

TEST(Attention, VjpWithEmptyCausalRowsIsFinite) {
  auto [q, k, v] = random_qkv(1, 2, 1, 4, 2, 4, 20);
  expect_vjp_matches_finite_differences(
      [](const std::vector<Array>& p) {
        return fast::scaled_dot_product_attention(p[0], p[1], p[2], 0.5f, "causal");
      },
      {q, k, v}, {0, 1, 2});
}

TEST(Attention, TileKernelsMatchScalarPath) {
  using lamina::kernels::Isa;
  if (lamina::kernels::best_isa() == Isa::scalar) GTEST_SKIP() << "no vector path on this CPU";
  // Head dims with and without a vector remainder; key counts with and without one.
  for (int64_t dk : {128, 67, 5}) {
    for (int64_t n : {64, 13, 3}) {
      SCOPED_TRACE("dk " + std::to_string(dk) + ", n " + std::to_string(n));
      const int64_t ld = dk + 3;
      auto q = random_array({dk}, 30).to_vector<float>();
      auto k = random_array({n, ld}, 31).to_vector<float>();
      std::vector<float> fast_scores(n), ref_scores(n);
      lamina::kernels::attention_scores_row(q.data(), dk, k.data(), ld, n, fast_scores.data());
      lamina::kernels::attention_scores_row(q.data(), dk, k.data(), ld, n, ref_scores.data(),
                                            Isa::scalar);
      for (int64_t j = 0; j < n; ++j) EXPECT_NEAR(fast_scores[j], ref_scores[j], 1e-5);
      auto p = random_array({n}, 32, 0.0f, 1.0f).to_vector<float>();
      p[n / 2] = 0.0f;
      auto v = random_array({n, ld}, 33).to_vector<float>();
      auto fast_acc = random_array({dk}, 34).to_vector<float>();
      auto ref_acc = fast_acc;
      lamina::kernels::attention_accumulate_row(p.data(), n, v.data(), ld, dk, fast_acc.data());
      lamina::kernels::attention_accumulate_row(p.data(), n, v.data(), ld, dk, ref_acc.data(),
                                                Isa::scalar);
      for (int64_t d = 0; d < dk; ++d) EXPECT_NEAR(fast_acc[d], ref_acc[d], 1e-5);
    }
  }
}

TEST(Attention, HalfTypeVjpFollowsFloat32Vjp) {
  const Qkv in = random_qkv(1, 4, 2, 6, 6, 16, 40);
  auto loss = [](const std::vector<Array>& p) {
    Array out = fast::scaled_dot_product_attention(p[0], p[1], p[2], 0.25f, "causal");
    return sum(square(astype(out, Dtype::float32)));
  };
  auto g32 = grad(loss, {in.q, in.k, in.v});
  const Dtype t = Dtype::bfloat16;
  auto g16 = grad(loss, {astype(in.q, t), astype(in.k, t), astype(in.v, t)});
  for (int a = 0; a < 3; ++a) {
    EXPECT_EQ(g16[a].dtype(), t);
    expect_arrays_close(astype(g16[a], Dtype::float32), g32[a], 5e-2, 5e-2);
  }
}

TEST(Attention, RejectsBadArguments) {
  auto [q, k, v] = random_qkv(1, 4, 2, 3, 5, 8, 21);
  EXPECT_THROW(fast::scaled_dot_product_attention(q, k, v, 1.0f, "sliding"), lamina::Error);
  auto [q3, k3, v3] = random_qkv(1, 3, 2, 3, 5, 8, 22);  // 3 query heads over 2 K/V heads
  EXPECT_THROW(fast::scaled_dot_product_attention(q3, k3, v3, 1.0f), lamina::Error);
  EXPECT_THROW(fast::scaled_dot_product_attention(q, random_array({1, 2, 5, 4}, 1), v, 1.0f),
               lamina::Error);  // key head dim differs from the query's
  EXPECT_THROW(fast::scaled_dot_product_attention(q, k, random_array({1, 2, 6, 8}, 1), 1.0f),
               lamina::Error);  // value length differs from the key's
  EXPECT_THROW(fast::scaled_dot_product_attention(reshape(q, {4, 3, 8}), k, v, 1.0f),
               lamina::Error);
  EXPECT_THROW(fast::scaled_dot_product_attention(q, k, v, 1.0f, random_array({4, 5}, 1)),
               lamina::Error);  // mask does not broadcast
  EXPECT_THROW(fast::scaled_dot_product_attention(q, k, v, 1.0f,
                                                  Array(std::vector<int>{1, 0, 1, 1, 0}, {5})),
               lamina::Error);  // integer mask
}
