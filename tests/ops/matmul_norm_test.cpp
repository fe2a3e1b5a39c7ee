// The rms_norm before a product folded into it (fold_norm): matmul(rms_norm(x, w), b) and
// quantized_matmul(rms_norm(x, w), ...) build one Matmul / QuantizedMatmul taking x and w
// only for a pending norm with a weight of x's dtype and no residual, and compose with a
// folded addend; values against a double-precision loop (norm, product, addend; an
// independent 4-bit dequantization for the quantized weight); vjps for x, w and b against
// central differences.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libcore/ops/fast_primitives.h"
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

// y is a product with a folded norm whose inputs are {x, ..., w, [c]}.
bool folds_norm(const Array& y, const Array& x, const Array& w) {
  const Primitive* p = y.primitive().get();
  const auto* m = dynamic_cast<const Matmul*>(p);
  const auto* q = dynamic_cast<const QuantizedMatmul*>(p);
  const bool addend = m ? m->addend() : q && q->addend();
  const bool norm = m ? m->norm_eps().has_value() : q && q->norm_eps().has_value();
  const size_t w_at = (m ? 2 : 4);
  return norm && y.inputs().size() == w_at + 1 + (addend ? 1 : 0) && y.inputs()[0].id() == x.id() &&
         y.inputs()[w_at].id() == w.id();
}
bool takes_norm_node(const Array& y) {
  return dynamic_cast<const RmsNorm*>(y.inputs()[0].primitive().get()) != nullptr;
}

// rms_norm(x [rows, K], w) @ W[N, K]^T (+ c [rows, N]), all in double.
std::vector<double> reference(const Array& x, const Array& w, const std::vector<double>& W,
                              const std::optional<Array>& c, int64_t N) {
  auto xv = x.to_vector<double>(), wv = w.to_vector<double>();
  auto cv = c ? c->to_vector<double>() : std::vector<double>{};
  const int64_t K = x.shape().back(), rows = x.size() / K;
  std::vector<double> out(static_cast<size_t>(rows * N));
  for (int64_t m = 0; m < rows; ++m) {
    double sum_sq = 0;
    for (int64_t k = 0; k < K; ++k) sum_sq += xv[m * K + k] * xv[m * K + k];
    const double r = 1.0 / std::sqrt(sum_sq / static_cast<double>(K) + kEps);
    for (int64_t n = 0; n < N; ++n) {
      double sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += xv[m * K + k] * r * wv[k] * W[n * K + k];
      out[m * N + n] = sum + (c ? cv[m * N + n] : 0.0);
    }
  }
  return out;
}

}  // namespace

TEST(MatmulNorm, FusedNodeComposesWithTheAddend) {
  Array x = random_array({2, 1, 8}, 1), w = random_array({8}, 2), b = random_array({6, 8}, 3);
  Array y = matmul(fast::rms_norm(x, w, kEps), transpose(b));
  EXPECT_TRUE(folds_norm(y, x, w));
  EXPECT_EQ(y.shape(), (Shape{2, 1, 6}));
  EXPECT_EQ(node_name(y), "Matmul(rms_norm)");
  Array c = random_array({2, 1, 6}, 4);
  Array yc = add(c, matmul(fast::rms_norm(x, w, kEps), transpose(b)));
  EXPECT_TRUE(folds_norm(yc, x, w));
  EXPECT_EQ(node_name(yc), "Matmul(rms_norm, +c)");
  EXPECT_EQ(yc.inputs().back().id(), c.id());

  auto q = quantize(random_array({6, 64}, 5), 64, 4);
  Array xq = random_array({3, 64}, 6), wq = random_array({64}, 7), cq = random_array({3, 6}, 8);
  Array z = quantized_matmul(fast::rms_norm(xq, wq, kEps), q.weight, q.scales, q.biases);
  EXPECT_TRUE(folds_norm(z, xq, wq));
  EXPECT_EQ(node_name(z), "QuantizedMatmul(group_size=64, bits=4, transpose, rms_norm)");
  Array zc = quantized_matmul(fast::rms_norm(xq, wq, kEps), q.weight, q.scales, q.biases) + cq;
  EXPECT_TRUE(folds_norm(zc, xq, wq));
  EXPECT_EQ(node_name(zc), "QuantizedMatmul(group_size=64, bits=4, transpose, rms_norm, +c)");
}

TEST(MatmulNorm, NoFusionOtherwise) {
  Array x = random_array({3, 8}, 1), w = random_array({8}, 2), b = random_array({8, 5}, 3);
  // evaluated.
  Array done = fast::rms_norm(x, w, kEps);
  done.eval();
  EXPECT_EQ(matmul(done, b).inputs()[0].id(), done.id());
  // no weight, a residual (the norm of a pending sum), a weight of another dtype.
  EXPECT_TRUE(takes_norm_node(matmul(fast::rms_norm(x, std::nullopt, kEps), b)));
  Array residual = fast::rms_norm(x + random_array({3, 8}, 4), w, kEps);
  ASSERT_TRUE(dynamic_cast<const RmsNorm&>(*residual.primitive()).has_residual());
  EXPECT_TRUE(takes_norm_node(matmul(residual, b)));
  Array half_w = astype(w, Dtype::float16);
  half_w.eval();
  EXPECT_TRUE(takes_norm_node(matmul(fast::rms_norm(x, half_w, kEps), b)));
  // quantized: the same rules.
  auto q = quantize(random_array({5, 64}, 5), 64, 4);
  Array xq = random_array({3, 64}, 6), wq = random_array({64}, 7);
  auto qmm = [&](const Array& a) { return quantized_matmul(a, q.weight, q.scales, q.biases); };
  Array qdone = fast::rms_norm(xq, wq, kEps);
  qdone.eval();
  EXPECT_FALSE(folds_norm(qmm(qdone), xq, wq));
  EXPECT_TRUE(takes_norm_node(qmm(fast::rms_norm(xq, std::nullopt, kEps))));
  EXPECT_TRUE(takes_norm_node(qmm(fast::rms_norm(xq + random_array({3, 64}, 8), wq, kEps))));
  Array half_wq = astype(wq, Dtype::float16);
  half_wq.eval();
  EXPECT_TRUE(takes_norm_node(qmm(fast::rms_norm(xq, half_wq, kEps))));
  // more rows than a decode step (a prompt): the norm stays one node for every product.
  const int64_t many = kFoldNormMaxRows + 1;
  EXPECT_TRUE(takes_norm_node(matmul(fast::rms_norm(random_array({1, many, 8}, 9), w, kEps), b)));
  EXPECT_TRUE(takes_norm_node(qmm(fast::rms_norm(random_array({many, 64}, 10), wq, kEps))));
}

TEST(MatmulNorm, FloatValuesMatchDoubleReference) {
  struct Case {
    int64_t batch, rows, K, N;
  };
  // A matvec (1 row, with a batch), a few rows, up to kFoldNormMaxRows.
  for (const Case s : {Case{1, 1, 64, 40}, Case{2, 1, 24, 9}, Case{1, 3, 48, 20}, Case{2, 2, 96, 80}}) {
    for (Dtype dtype : {Dtype::float32, Dtype::float16}) {
      for (bool with_c : {false, true}) {
        SCOPED_TRACE(std::to_string(s.batch) + "x" + std::to_string(s.rows) + "x" + std::to_string(s.K) + "x" +
                     std::to_string(s.N) + " " + dtype_name(dtype) + (with_c ? " + c" : ""));
        Array x = astype(random_array({s.batch * s.rows, s.K}, 21, -3.0f, 3.0f), dtype);
        Array w = astype(random_array({s.K}, 22), dtype);
        Array b = astype(random_array({s.N, s.K}, 23), dtype);
        Array c = astype(random_array({s.batch * s.rows, s.N}, 24, -4.0f, 4.0f), dtype);
        Array x3 = reshape(x, {s.batch, s.rows, s.K});
        Array y = matmul(fast::rms_norm(x3, w, kEps), transpose(b));
        if (with_c) y = y + reshape(c, {s.batch, s.rows, s.N});
        ASSERT_TRUE(folds_norm(y, x3, w));
        const double tol = dtype == Dtype::float32 ? 1e-5 : 1e-2;
        const std::optional<Array> addend = with_c ? std::optional(c) : std::nullopt;
        lamina::test::expect_close(y, reference(x, w, b.to_vector<double>(), addend, s.N), tol, tol / 4);
      }
    }
  }
}

TEST(MatmulNorm, QuantizedValuesMatchDoubleReference) {
  const int64_t N = 40, K = 128;
  const int group = 64;
  for (Dtype dtype : {Dtype::float32, Dtype::float16}) {
    auto q = quantize(astype(random_array({N, K}, 31), dtype), group, 4);
    const std::vector<double> W = dequantize_4bit(q, N, K, group);
    for (int64_t rows : {1, 3, 4}) {
      for (bool with_c : {false, true}) {
        SCOPED_TRACE(std::to_string(rows) + " rows, " + dtype_name(dtype) + (with_c ? " + c" : ""));
        Array x = astype(random_array({rows, K}, 32, -3.0f, 3.0f), dtype);
        Array w = astype(random_array({K}, 33), dtype);
        Array c = astype(random_array({rows, N}, 34, -4.0f, 4.0f), dtype);
        Array y = quantized_matmul(fast::rms_norm(x, w, kEps), q.weight, q.scales, q.biases, true, group, 4);
        if (with_c) y = add(c, y);
        ASSERT_TRUE(folds_norm(y, x, w));
        const double tol = dtype == Dtype::float32 ? 1e-4 : 1e-2;
        const std::optional<Array> addend = with_c ? std::optional(c) : std::nullopt;
        lamina::test::expect_close(y, reference(x, w, W, addend, N), tol, tol / 4);
      }
    }
  }
}

TEST(MatmulNorm, VjpMatchesFiniteDifferences) {
  // x, w, b and c of rms_norm(x, w) @ b^T + c.
  const std::vector<Array> p{random_array({2, 2, 8}, 41, -2.0f, 2.0f), random_array({8}, 42),
                             random_array({5, 8}, 43), random_array({2, 2, 5}, 44)};
  auto fused = [](const std::vector<Array>& p) {
    return add(p[3], matmul(fast::rms_norm(p[0], p[1], kEps), transpose(p[2])));
  };
  ASSERT_TRUE(folds_norm(fused(p), p[0], p[1]));
  lamina::test::expect_vjp_matches_finite_differences(fused, p, {0, 1, 2, 3});
}

TEST(MatmulNorm, QuantizedVjpMatchesFiniteDifferences) {
  auto q = quantize(random_array({5, 64}, 51), 64, 4);
  auto fused = [&](const std::vector<Array>& p) {
    return quantized_matmul(fast::rms_norm(p[0], p[1], kEps), q.weight, q.scales, q.biases) + p[2];
  };
  const std::vector<Array> p{random_array({3, 64}, 52, -2.0f, 2.0f), random_array({64}, 53), random_array({3, 5}, 54)};
  ASSERT_TRUE(folds_norm(fused(p), p[0], p[1]));
  lamina::test::expect_vjp_matches_finite_differences(fused, p, {0, 1, 2});
}
