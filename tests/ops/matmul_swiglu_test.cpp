// The gate and up products of an MLP as one gated product (fold_swiglu): swiglu(a, b) of two
// pending products of the same x (float Matmul or QuantizedMatmul alike, with the same folded
// norm or none, no addend, a decode step's rows) builds one node; values against a
// double-precision loop (norm, both products, silu(g) * u; an independent 4-bit
// dequantization for the quantized weights); vjps against central differences.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libcore/ops/elementwise_primitives.h"
#include "libcore/ops/matmul_primitive.h"
#include "libcore/ops/ops.h"
#include "quant/quantized_primitives.h"
#include "tests/ops/fast_test_util.h"
#include "tests/test_util.h"

using namespace lamina::core;
using lamina::test::dequantize_4bit;
using lamina::test::node_name;
using lamina::test::random_array;

namespace {

constexpr float kEps = 1e-5f;

bool gated(const Array& y) {
  const Primitive* p = y.primitive().get();
  const auto* m = dynamic_cast<const Matmul*>(p);
  const auto* q = dynamic_cast<const QuantizedMatmul*>(p);
  return (m && m->gated()) || (q && q->gated());
}
bool unfused(const Array& y) { return dynamic_cast<const SiluMultiply*>(y.primitive().get()) != nullptr; }

// silu(g) * u of g = xn @ Wg^T and u = xn @ Wu^T, xn = rms_norm(x, w) with a norm weight
// (else x), x [rows, K], all in double.
std::vector<double> reference(const Array& x, const std::optional<Array>& w, const std::vector<double>& Wg,
                              const std::vector<double>& Wu, int64_t N) {
  const auto xv = x.to_vector<double>();
  const auto wv = w ? w->to_vector<double>() : std::vector<double>{};
  const int64_t K = x.shape().back(), rows = x.size() / K;
  std::vector<double> out(static_cast<size_t>(rows * N));
  for (int64_t m = 0; m < rows; ++m) {
    std::vector<double> xn(xv.begin() + m * K, xv.begin() + (m + 1) * K);
    if (w) {
      double sum_sq = 0;
      for (double v : xn) sum_sq += v * v;
      const double r = 1.0 / std::sqrt(sum_sq / static_cast<double>(K) + kEps);
      for (int64_t k = 0; k < K; ++k) xn[k] *= r * wv[k];
    }
    for (int64_t n = 0; n < N; ++n) {
      double g = 0, u = 0;
      for (int64_t k = 0; k < K; ++k) {
        g += xn[k] * Wg[n * K + k];
        u += xn[k] * Wu[n * K + k];
      }
      out[m * N + n] = g / (1.0 + std::exp(-g)) * u;
    }
  }
  return out;
}

}  // namespace

TEST(MatmulSwiglu, FusedNodeBuilt) {
  Array x = random_array({2, 1, 8}, 1), w = random_array({8}, 2);
  Array bg = random_array({6, 8}, 3), bu = random_array({6, 8}, 4);
  Array y = swiglu(matmul(x, transpose(bg)), matmul(x, transpose(bu)));
  ASSERT_TRUE(gated(y));
  EXPECT_EQ(node_name(y), "Matmul(swiglu)");
  EXPECT_EQ(y.inputs().size(), 3u);
  EXPECT_EQ(y.inputs()[0].id(), x.id());
  Array yn =
      swiglu(matmul(fast::rms_norm(x, w, kEps), transpose(bg)), matmul(fast::rms_norm(x, w, kEps), transpose(bu)));
  ASSERT_TRUE(gated(yn));
  EXPECT_EQ(node_name(yn), "Matmul(rms_norm, swiglu)");
  EXPECT_EQ(yn.inputs().size(), 4u);
  EXPECT_EQ(yn.inputs()[3].id(), w.id());

  auto qg = quantize(random_array({6, 64}, 5), 64, 4), qu = quantize(random_array({6, 64}, 6), 64, 4);
  Array xq = random_array({3, 64}, 7), wq = random_array({64}, 8);
  auto qmm = [](const Array& a, const QuantizedArrays& q) { return quantized_matmul(a, q.weight, q.scales, q.biases); };
  Array z = swiglu(qmm(xq, qg), qmm(xq, qu));
  ASSERT_TRUE(gated(z));
  EXPECT_EQ(node_name(z), "QuantizedMatmul(group_size=64, bits=4, transpose, swiglu)");
  EXPECT_EQ(z.inputs().size(), 7u);
  EXPECT_EQ(z.inputs()[4].id(), qu.weight.id());
  Array zn = swiglu(qmm(fast::rms_norm(xq, wq, kEps), qg), qmm(fast::rms_norm(xq, wq, kEps), qu));
  ASSERT_TRUE(gated(zn));
  EXPECT_EQ(node_name(zn), "QuantizedMatmul(group_size=64, bits=4, transpose, rms_norm, swiglu)");
  EXPECT_EQ(zn.inputs().size(), 8u);
  EXPECT_EQ(zn.inputs()[7].id(), wq.id());
  // A gated product takes no addend.
  EXPECT_FALSE(add(random_array({3, 6}, 9), z).primitive()->name() == std::string("QuantizedMatmul"));
}

TEST(MatmulSwiglu, NoFusionOtherwise) {
  Array x = random_array({1, 8}, 1), w = random_array({8}, 2), w2 = random_array({8}, 3);
  Array bg = random_array({8, 5}, 4), bu = random_array({8, 5}, 5);
  // Either product evaluated.
  Array done = matmul(x, bg);
  done.eval();
  EXPECT_TRUE(unfused(swiglu(done, matmul(x, bu))));
  EXPECT_TRUE(unfused(swiglu(matmul(x, bu), done)));
  // Different x (equal values, another node).
  EXPECT_TRUE(unfused(swiglu(matmul(x, bg), matmul(x + 0.0f, bu))));
  // One with an addend.
  EXPECT_TRUE(unfused(swiglu(add(random_array({1, 5}, 6), matmul(x, bg)), matmul(x, bu))));
  // Different norms: one without, another weight.
  EXPECT_TRUE(unfused(swiglu(matmul(fast::rms_norm(x, w, kEps), bg), matmul(x, bu))));
  EXPECT_TRUE(unfused(swiglu(matmul(fast::rms_norm(x, w, kEps), bg), matmul(fast::rms_norm(x, w2, kEps), bu))));
  EXPECT_TRUE(unfused(swiglu(matmul(fast::rms_norm(x, w, kEps), bg), matmul(fast::rms_norm(x, w, 1e-3f), bu))));
  // Different quantization parameters, or a float and a quantized product.
  Array xq = random_array({2, 64}, 7);
  auto q4 = quantize(random_array({5, 64}, 8), 64, 4), q8 = quantize(random_array({5, 64}, 9), 64, 8);
  auto q32 = quantize(random_array({5, 64}, 10), 32, 4);
  auto qmm = [&](const QuantizedArrays& q, int group, int bits) {
    return quantized_matmul(xq, q.weight, q.scales, q.biases, true, group, bits);
  };
  EXPECT_TRUE(unfused(swiglu(qmm(q4, 64, 4), qmm(q8, 64, 8))));
  EXPECT_TRUE(unfused(swiglu(qmm(q4, 64, 4), qmm(q32, 32, 4))));
  EXPECT_TRUE(unfused(swiglu(qmm(q4, 64, 4), matmul(xq, random_array({64, 5}, 11)))));
  // More rows than a decode step.
  Array many = random_array({kFoldNormMaxRows + 1, 8}, 12);
  EXPECT_TRUE(unfused(swiglu(matmul(many, bg), matmul(many, bu))));
  Array xm = random_array({kFoldNormMaxRows + 1, 64}, 13);
  auto qmm_m = [&](const QuantizedArrays& q) { return quantized_matmul(xm, q.weight, q.scales, q.biases); };
  EXPECT_TRUE(unfused(swiglu(qmm_m(q4), qmm_m(q4))));
  // The fused case of the same operands, for contrast.
  EXPECT_TRUE(gated(swiglu(qmm(q4, 64, 4), qmm(q4, 64, 4))));
}

TEST(MatmulSwiglu, FloatValuesMatchDoubleReference) {
  const int64_t K = 48, N = 20;
  for (Dtype dtype : {Dtype::float32, Dtype::float16}) {
    for (int64_t rows : {1, 3, 4}) {
      for (bool norm : {false, true}) {
        SCOPED_TRACE(std::to_string(rows) + " rows, " + dtype_name(dtype) + (norm ? ", rms_norm" : ""));
        Array x = astype(random_array({rows, K}, 21, -1.5f, 1.5f), dtype);
        Array w = astype(random_array({K}, 22), dtype);
        Array bg = astype(random_array({N, K}, 23, -0.5f, 0.5f), dtype);
        Array bu = astype(random_array({N, K}, 24, -0.5f, 0.5f), dtype);
        Array a = norm ? fast::rms_norm(x, w, kEps) : x;
        Array y = swiglu(matmul(a, transpose(bg)), matmul(a, transpose(bu)));
        ASSERT_TRUE(gated(y));
        const double tol = dtype == Dtype::float32 ? 1e-5 : 1e-2;
        lamina::test::expect_close(
            y, reference(x, norm ? std::optional(w) : std::nullopt, bg.to_vector<double>(), bu.to_vector<double>(), N),
            tol, tol);
      }
    }
  }
}

TEST(MatmulSwiglu, QuantizedValuesMatchDoubleReference) {
  const int64_t N = 40, K = 128;
  const int group = 64;
  for (Dtype dtype : {Dtype::float32, Dtype::float16}) {
    auto qg = quantize(astype(random_array({N, K}, 31, -0.3f, 0.3f), dtype), group, 4);
    auto qu = quantize(astype(random_array({N, K}, 32, -0.3f, 0.3f), dtype), group, 4);
    const std::vector<double> Wg = dequantize_4bit(qg, N, K, group), Wu = dequantize_4bit(qu, N, K, group);
    for (int64_t rows : {1, 3, 4}) {
      for (bool norm : {false, true}) {
        SCOPED_TRACE(std::to_string(rows) + " rows, " + dtype_name(dtype) + (norm ? ", rms_norm" : ""));
        Array x = astype(random_array({rows, K}, 33, -1.5f, 1.5f), dtype);
        Array w = astype(random_array({K}, 34), dtype);
        Array a = norm ? fast::rms_norm(x, w, kEps) : x;
        auto qmm = [&](const QuantizedArrays& q) {
          return quantized_matmul(a, q.weight, q.scales, q.biases, true, group, 4);
        };
        Array y = swiglu(qmm(qg), qmm(qu));
        ASSERT_TRUE(gated(y));
        const double tol = dtype == Dtype::float32 ? 1e-4 : 1e-2;
        lamina::test::expect_close(y, reference(x, norm ? std::optional(w) : std::nullopt, Wg, Wu, N), tol, tol);
      }
    }
  }
}

TEST(MatmulSwiglu, VjpMatchesFiniteDifferences) {
  // x, w, b_gate and b_up of swiglu(rms_norm(x, w) @ bg^T, rms_norm(x, w) @ bu^T); then
  // without the norm.
  const std::vector<Array> p{random_array({2, 1, 8}, 41, -2.0f, 2.0f), random_array({8}, 42),
                             random_array({5, 8}, 43), random_array({5, 8}, 44)};
  auto fused = [](const std::vector<Array>& p) {
    Array a = fast::rms_norm(p[0], p[1], kEps);
    return swiglu(matmul(a, transpose(p[2])), matmul(a, transpose(p[3])));
  };
  ASSERT_TRUE(gated(fused(p)));
  lamina::test::expect_vjp_matches_finite_differences(fused, p, {0, 1, 2, 3});
  auto plain = [](const std::vector<Array>& p) {
    return swiglu(matmul(p[0], transpose(p[2])), matmul(p[0], transpose(p[3])));
  };
  ASSERT_TRUE(gated(plain(p)));
  lamina::test::expect_vjp_matches_finite_differences(plain, p, {0, 2, 3});
}

TEST(MatmulSwiglu, QuantizedVjpMatchesFiniteDifferences) {
  auto qg = quantize(random_array({5, 64}, 51), 64, 4), qu = quantize(random_array({5, 64}, 52), 64, 4);
  auto fused = [&](const std::vector<Array>& p) {
    Array a = fast::rms_norm(p[0], p[1], kEps);
    return swiglu(quantized_matmul(a, qg.weight, qg.scales, qg.biases),
                  quantized_matmul(a, qu.weight, qu.scales, qu.biases));
  };
  const std::vector<Array> p{random_array({3, 64}, 53, -2.0f, 2.0f), random_array({64}, 54)};
  ASSERT_TRUE(gated(fused(p)));
  lamina::test::expect_vjp_matches_finite_differences(fused, p, {0, 1});
}
