// The residual add folded into the product before it (fold_addend): add(c, matmul) and
// add(c, quantized_matmul) build one Matmul / QuantizedMatmul with an addend only for a
// pending product and a c of its exact shape and floating dtype; values against a
// double-precision loop (an independent 4-bit dequantization for the quantized weight);
// vjps against central differences.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "libcore/ops/elementwise_primitives.h"
#include "libcore/ops/matmul_primitive.h"
#include "libcore/ops/ops.h"
#include "quant/quantized_primitives.h"
#include "tests/test_util.h"

using namespace lamina::core;
using lamina::test::dequantize_4bit;
using lamina::test::node_name;
using lamina::test::random_array;

namespace {

bool fused_matmul(const Array& y) {
  const auto* m = dynamic_cast<const Matmul*>(y.primitive().get());
  return m && m->addend() && y.inputs().size() == 3;
}
bool fused_quantized(const Array& y) {
  const auto* q = dynamic_cast<const QuantizedMatmul*>(y.primitive().get());
  return q && q->addend() && y.inputs().size() == 5;
}
bool plain_add(const Array& y) { return dynamic_cast<const Add*>(y.primitive().get()) != nullptr; }

// x [rows, K] @ w[N, K]^T + c [rows, N], all in double.
std::vector<double> reference(const Array& x, const std::vector<double>& w, const Array& c, int64_t N) {
  auto xv = x.to_vector<double>(), cv = c.to_vector<double>();
  const int64_t K = x.shape().back(), rows = x.size() / K;
  std::vector<double> out(static_cast<size_t>(rows * N));
  for (int64_t m = 0; m < rows; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      double sum = cv[m * N + n];
      for (int64_t k = 0; k < K; ++k) sum += xv[m * K + k] * w[n * K + k];
      out[m * N + n] = sum;
    }
  }
  return out;
}

}  // namespace

TEST(MatmulAddend, FusedNodeForEitherOrder) {
  Array a = random_array({2, 1, 8}, 1), w = random_array({6, 8}, 2), c = random_array({2, 1, 6}, 3);
  Array y1 = add(c, matmul(a, transpose(w)));
  Array y2 = matmul(a, transpose(w)) + c;
  for (const Array& y : {y1, y2}) {
    EXPECT_TRUE(fused_matmul(y));
    EXPECT_EQ(y.shape(), (Shape{2, 1, 6}));
    EXPECT_EQ(node_name(y), "Matmul(+c)");
    EXPECT_EQ(y.inputs()[2].id(), c.id());
  }
  auto q = quantize(random_array({6, 64}, 4), 64, 4);
  Array x = random_array({3, 64}, 5), cq = random_array({3, 6}, 6);
  Array z1 = add(cq, quantized_matmul(x, q.weight, q.scales, q.biases));
  Array z2 = add(quantized_matmul(x, q.weight, q.scales, q.biases), cq);
  for (const Array& z : {z1, z2}) {
    EXPECT_TRUE(fused_quantized(z));
    EXPECT_EQ(node_name(z), "QuantizedMatmul(group_size=64, bits=4, transpose, +c)");
  }
}

TEST(MatmulAddend, NoFusionOtherwise) {
  Array a = random_array({3, 8}, 1), b = random_array({8, 5}, 2);
  // c broadcast against the product, either way.
  EXPECT_TRUE(plain_add(add(random_array({5}, 3), matmul(a, b))));
  EXPECT_TRUE(plain_add(add(matmul(a, random_array({8, 1}, 4)), random_array({3, 5}, 5))));
  // dtypes differ (the sum would be promoted or the product cast).
  EXPECT_TRUE(plain_add(add(astype(random_array({3, 5}, 6), Dtype::float16), matmul(a, b))));
  Array half = matmul(astype(a, Dtype::float16), astype(b, Dtype::float16));
  EXPECT_TRUE(plain_add(add(random_array({3, 5}, 7), half)));
  // integers.
  Array ia = astype(a * 4.0, Dtype::int32), ib = astype(b * 4.0, Dtype::int32);
  EXPECT_TRUE(plain_add(add(astype(random_array({3, 5}, 8), Dtype::int32), matmul(ia, ib))));
  // the product already evaluated.
  Array p = matmul(a, b);
  p.eval();
  EXPECT_TRUE(plain_add(add(random_array({3, 5}, 9), p)));
  // a product that already has an addend takes no second one.
  Array once = add(random_array({3, 5}, 10), matmul(a, b));
  ASSERT_TRUE(fused_matmul(once));
  EXPECT_TRUE(plain_add(add(random_array({3, 5}, 11), once)));
  // not a product.
  EXPECT_TRUE(plain_add(add(random_array({3, 5}, 12), exp(random_array({3, 5}, 13)))));
  // quantized: broadcast c, evaluated product.
  auto q = quantize(random_array({5, 64}, 14), 64, 4);
  Array x = random_array({3, 64}, 15);
  EXPECT_TRUE(plain_add(add(random_array({5}, 16), quantized_matmul(x, q.weight, q.scales, q.biases))));
  Array qp = quantized_matmul(x, q.weight, q.scales, q.biases);
  qp.eval();
  EXPECT_TRUE(plain_add(add(qp, random_array({3, 5}, 17))));
}

TEST(MatmulAddend, FloatValuesMatchDoubleReference) {
  struct Case {
    int64_t batch, rows, K, N;
  };
  // A matvec (1 row, with a batch), a few rows, and a tile shape (70x96x80).
  for (const Case s : {Case{1, 1, 64, 40}, Case{2, 1, 24, 9}, Case{1, 3, 48, 20}, Case{1, 70, 96, 80}}) {
    for (Dtype dtype : {Dtype::float32, Dtype::float16}) {
      for (bool strided_c : {false, true}) {
        SCOPED_TRACE(std::to_string(s.rows) + "x" + std::to_string(s.K) + "x" + std::to_string(s.N) + " " +
                     dtype_name(dtype) + (strided_c ? " strided c" : ""));
        Array a = astype(random_array({s.batch * s.rows, s.K}, 21), dtype);
        Array w = astype(random_array({s.N, s.K}, 22), dtype);
        Array c = astype(random_array({s.batch * s.rows, s.N}, 23, -4.0f, 4.0f), dtype);
        if (strided_c) c = transpose(astype(random_array({s.N, s.batch * s.rows}, 24, -4.0f, 4.0f), dtype));
        Array a3 = reshape(a, {s.batch, s.rows, s.K}), c3 = reshape(c, {s.batch, s.rows, s.N});
        Array y = add(c3, matmul(a3, transpose(w)));
        ASSERT_TRUE(fused_matmul(y));
        const double tol = dtype == Dtype::float32 ? 1e-5 : 1e-2;
        lamina::test::expect_close(y, reference(a, w.to_vector<double>(), c, s.N), tol, tol / 4);
      }
    }
  }
}

TEST(MatmulAddend, QuantizedValuesMatchDoubleReference) {
  const int64_t N = 40, K = 128;
  const int group = 64;
  for (Dtype dtype : {Dtype::float32, Dtype::float16}) {
    auto q = quantize(astype(random_array({N, K}, 31), dtype), group, 4);
    const std::vector<double> w = dequantize_4bit(q, N, K, group);
    for (int64_t rows : {1, 3, 70}) {
      SCOPED_TRACE(std::to_string(rows) + " rows, " + dtype_name(dtype));
      Array x = astype(random_array({rows, K}, 32), dtype);
      Array c = astype(random_array({rows, N}, 33, -4.0f, 4.0f), dtype);
      Array y = add(c, quantized_matmul(x, q.weight, q.scales, q.biases, true, group, 4));
      ASSERT_TRUE(fused_quantized(y));
      const double tol = dtype == Dtype::float32 ? 1e-4 : 1e-2;
      lamina::test::expect_close(y, reference(x, w, c, N), tol, tol / 4);
    }
  }
}

namespace {

// Central differences of loss at p[which][i] (float32; the loss is linear in each input, so
// they are exact up to rounding).
double numeric_grad(const std::function<Array(const std::vector<Array>&)>& loss, std::vector<Array> p,
                    size_t which, size_t i) {
  const float eps = 0.25f;
  auto base = p[which].to_vector<float>();
  auto at = [&](float delta) {
    auto v = base;
    v[i] += delta;
    p[which] = Array(v, p[which].shape());
    return loss(p).item<double>();
  };
  return (at(eps) - at(-eps)) / (2 * eps);
}

void expect_grads_match(const std::function<Array(const std::vector<Array>&)>& loss,
                        const std::vector<Array>& p) {
  auto grads = grad(loss, p);
  ASSERT_EQ(grads.size(), p.size());
  for (size_t which = 0; which < p.size(); ++which) {
    ASSERT_EQ(grads[which].shape(), p[which].shape());
    auto g = grads[which].to_vector<double>();
    for (size_t i = 0; i < g.size(); ++i) {
      double numeric = numeric_grad(loss, p, which, i);
      EXPECT_NEAR(g[i], numeric, 1e-4 * (1 + std::abs(numeric))) << "input " << which << " at " << i;
    }
  }
}

}  // namespace

TEST(MatmulAddend, VjpMatchesFiniteDifferences) {
  Array weights = random_array({2, 3, 5}, 41);
  auto loss = [&](const std::vector<Array>& p) { return sum(add(p[2], matmul(p[0], transpose(p[1]))) * weights); };
  const std::vector<Array> p{random_array({2, 3, 4}, 42), random_array({5, 4}, 43), random_array({2, 3, 5}, 44)};
  ASSERT_TRUE(fused_matmul(add(p[2], matmul(p[0], transpose(p[1])))));
  expect_grads_match(loss, p);
}

TEST(MatmulAddend, QuantizedVjpMatchesFiniteDifferences) {
  auto q = quantize(random_array({5, 64}, 51), 64, 4);
  Array weights = random_array({3, 5}, 52);
  auto loss = [&](const std::vector<Array>& p) {
    return sum(add(quantized_matmul(p[0], q.weight, q.scales, q.biases), p[1]) * weights);
  };
  expect_grads_match(loss, {random_array({3, 64}, 53), random_array({3, 5}, 54)});
}
