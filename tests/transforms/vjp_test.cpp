// Reverse mode: every differentiable primitive of the core families against central
// finite differences, plus grad/value_and_grad/stop_gradient/checkpoint behaviour.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "libcore/ops/ops.h"
#include "tests/test_util.h"

using namespace lamina::core;

namespace {

// Checks grad of sum(f(x) * w) (w fixed random weights) against central differences.
void check_grad(const std::function<Array(const Array&)>& f, const Array& x0, double tol = 2e-3,
                double eps = 1e-3) {
  Array w = lamina::test::random_array(f(x0).shape(), 99);
  auto loss = [&](const std::vector<Array>& xs) { return sum(f(xs[0]) * w); };
  auto grads = grad(loss, {x0});
  auto g = grads[0].to_vector<double>();
  auto base = x0.to_vector<float>();
  ASSERT_EQ(g.size(), base.size());
  for (size_t i = 0; i < base.size(); ++i) {
    auto plus = base, minus = base;
    plus[i] += static_cast<float>(eps);
    minus[i] -= static_cast<float>(eps);
    double lp = loss({Array(plus, x0.shape())}).item<double>();
    double lm = loss({Array(minus, x0.shape())}).item<double>();
    double numeric = (lp - lm) / (2 * eps);
    EXPECT_NEAR(g[i], numeric, tol * (1 + std::abs(numeric))) << "element " << i;
  }
}

Array positive(const Shape& s, uint32_t seed) { return lamina::test::random_array(s, seed, 0.5f, 2.0f); }

}  // namespace

TEST(Vjp, UnaryOps) {
  Array x = lamina::test::random_array({2, 3}, 1, -1.5f, 1.5f);
  Array p = positive({2, 3}, 2);
  check_grad([](const Array& a) { return negative(a); }, x);
  check_grad([](const Array& a) { return abs(a); }, x);
  check_grad([](const Array& a) { return exp(a); }, x);
  check_grad([](const Array& a) { return log(a); }, p);
  check_grad([](const Array& a) { return log1p(a); }, p);
  check_grad([](const Array& a) { return sqrt(a); }, p);
  check_grad([](const Array& a) { return rsqrt(a); }, p);
  check_grad([](const Array& a) { return square(a); }, x);
  check_grad([](const Array& a) { return sin(a); }, x);
  check_grad([](const Array& a) { return cos(a); }, x);
  check_grad([](const Array& a) { return tanh(a); }, x);
  check_grad([](const Array& a) { return sigmoid(a); }, x);
  check_grad([](const Array& a) { return erf(a); }, x);
  check_grad([](const Array& a) { return silu(a); }, x);
  check_grad([](const Array& a) { return gelu(a); }, x);
  check_grad([](const Array& a) { return gelu_tanh(a); }, x);
}

TEST(Vjp, BinaryOpsWithBroadcasting) {
  Array x = lamina::test::random_array({2, 3}, 3);
  Array row = positive({3}, 4);
  Array col = positive({2, 1}, 5);
  check_grad([&](const Array& a) { return a + row; }, x);
  check_grad([&](const Array& a) { return row - a; }, x);
  check_grad([&](const Array& a) { return a * col; }, x);
  check_grad([&](const Array& a) { return a / row; }, x);
  check_grad([&](const Array& r) { return x / r; }, row);  // gradient reduced over the broadcast
  check_grad([&](const Array& c) { return x * c; }, col);
  check_grad([&](const Array& a) { return power(a, row); }, positive({2, 3}, 6));
  check_grad([&](const Array& r) { return power(positive({2, 3}, 6), r); }, row);
  check_grad([&](const Array& a) { return maximum(a, Array(0.1f)); }, x);
  check_grad([&](const Array& a) { return minimum(a, Array(0.1f)); }, x);
  check_grad([&](const Array& a) { return where(greater(a, Array(0.0f)), a * 2.0, a * a); }, x);
}

TEST(Vjp, ViewsAndReductions) {
  Array x = lamina::test::random_array({2, 3, 4}, 7);
  check_grad([](const Array& a) { return reshape(a, {6, 4}); }, x);
  check_grad([](const Array& a) { return transpose(a, {2, 0, 1}); }, x);
  check_grad([](const Array& a) { return slice(a, {0, 1, 0}, {2, 3, 4}, {1, 1, 2}); }, x);
  check_grad([](const Array& a) { return broadcast_to(reshape(a, {2, 1, 3, 4}), {2, 5, 3, 4}); }, x);
  check_grad([](const Array& a) { return astype(a, Dtype::float32) * 1.0; }, x);
  check_grad([](const Array& a) { return sum(a, {1}); }, x);
  check_grad([](const Array& a) { return mean(a, {0, 2}); }, x);
  check_grad([](const Array& a) { return var(a, {2}); }, x);
  check_grad([](const Array& a) { return max(a, {2}); }, x);
  check_grad([](const Array& a) { return min(a, {0}); }, x);
  check_grad([](const Array& a) { return prod(a, {1}); }, x);
  check_grad([](const Array& a) { return logsumexp(a, {2}); }, x);
  check_grad([](const Array& a) { return slice_update(a, square(slice_axis(a, 2, 0, 2)), {0, 0, 2}, {2, 3, 4}); }, x);
}

TEST(Vjp, ValueAndGradAndStopGradient) {
  Array x(std::vector<float>{1, 2, 3}, {3});
  auto [value, grads] = value_and_grad([](const std::vector<Array>& v) { return sum(square(v[0])); }, {x});
  EXPECT_FLOAT_EQ(value.item<float>(), 14.0f);
  lamina::test::expect_close(grads[0], {2, 4, 6});
  auto g2 = grad([](const std::vector<Array>& v) { return sum(v[0] * stop_gradient(v[0])); }, {x});
  lamina::test::expect_close(g2[0], {1, 2, 3});
  // Two primals, one unused.
  auto g3 = grad([](const std::vector<Array>& v) { return sum(v[0] * 3.0); }, {x, x});
  lamina::test::expect_close(g3[1], {0, 0, 0});
  EXPECT_THROW(grad([](const std::vector<Array>& v) { return v[0]; }, {x}), lamina::Error);
}

TEST(Vjp, VjpWithCotangents) {
  Array x(std::vector<float>{1, 2}, {2});
  auto [outs, cts] = vjp([](const std::vector<Array>& v) { return std::vector<Array>{v[0] * v[0], exp(v[0])}; },
                         {x}, {Array(std::vector<float>{1, 0}, {2}), Array(std::vector<float>{0, 1}, {2})});
  lamina::test::expect_close(outs[0], {1, 4});
  lamina::test::expect_close(cts[0], {2, std::exp(2.0)}, 1e-5);
}

TEST(Vjp, CheckpointGivesSameGradientsWithLessMemory) {
  const int64_t n = 1 << 16;
  Array x = lamina::test::random_array({n}, 11);
  auto block = [](const std::vector<Array>& v) {
    Array y = v[0];
    for (int i = 0; i < 10; ++i) y = sin(y) * 1.1;
    return y;
  };
  // Four blocks in sequence, as the layers of a model: without checkpointing every
  // block's intermediates stay alive until the backward pass reaches it.
  auto plain = [&](const std::vector<Array>& v) {
    Array y = v[0];
    for (int b = 0; b < 4; ++b) y = block({y});
    return sum(y);
  };
  auto ckpt_block = checkpoint(block);
  auto ckpt = [&](const std::vector<Array>& v) {
    Array y = v[0];
    for (int b = 0; b < 4; ++b) y = ckpt_block({y});
    return sum(y);
  };
  auto g_plain = grad(plain, {x})[0];
  g_plain.eval();
  allocator::clear_cache();
  allocator::reset_peak();
  size_t base = allocator::active_bytes();
  auto g_ckpt = grad(ckpt, {x})[0];
  g_ckpt.eval();
  size_t peak_ckpt = allocator::peak_bytes() - base;
  lamina::test::expect_arrays_close(g_ckpt, g_plain, 1e-6, 1e-6);
  allocator::reset_peak();
  base = allocator::active_bytes();
  auto g_plain2 = grad(plain, {x})[0];
  g_plain2.eval();
  size_t peak_plain = allocator::peak_bytes() - base;
  EXPECT_LT(peak_ckpt, peak_plain) << "checkpoint " << peak_ckpt << " plain " << peak_plain;
}
