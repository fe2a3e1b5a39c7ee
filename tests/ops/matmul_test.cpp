// matmul against a scalar double-accumulation reference: many shapes (odd sizes, 1-D
// operands, broadcast batches), transposed/sliced/broadcast views, float16/bfloat16,
// integers and bool, the half kernels' scalar vs AVX2 paths, and vjps against central
// finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <tuple>
#include <vector>

#include "kernels/cpu/half_matmul.h"
#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/matmul.h"
#include "libcore/ops/ops.h"
#include "tests/test_util.h"

using namespace lamina::core;
using lamina::test::random_array;

namespace {

struct Reference {
  Shape shape;
  std::vector<double> values;
};

// numpy.matmul computed in double from the operands' (already rounded) values.
Reference reference_matmul(const Array& a_in, const Array& b_in) {
  Shape as = a_in.shape(), bs = b_in.shape();
  const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  auto av = a_in.to_vector<double>();
  auto bv = b_in.to_vector<double>();
  const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  Shape a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  Shape batch = broadcast_shapes(a_batch, b_batch);
  const int64_t count = shape_size(batch);
  // Batch index -> matrix index in an operand with batch shape `own` (broadcast rules).
  auto matrix_index = [&](int64_t i, const Shape& own) {
    int64_t idx = 0, mul = 1;
    for (int d = static_cast<int>(batch.size()) - 1, o = static_cast<int>(own.size()) - 1; d >= 0;
         --d, --o) {
      int64_t coord = i % batch[d];
      i /= batch[d];
      if (o >= 0) {
        if (own[o] != 1) idx += coord * mul;
        mul *= own[o];
      }
    }
    return idx;
  };
  Reference r;
  r.values.assign(count * M * N, 0.0);
  for (int64_t i = 0; i < count; ++i) {
    const double* pa = av.data() + matrix_index(i, a_batch) * M * K;
    const double* pb = bv.data() + matrix_index(i, b_batch) * K * N;
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t n = 0; n < N; ++n) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += pa[m * K + k] * pb[k * N + n];
        r.values[(i * M + m) * N + n] = acc;
      }
    }
  }
  r.shape = batch;
  if (!a_vec) r.shape.push_back(M);
  if (!b_vec) r.shape.push_back(N);
  return r;
}

// Checks matmul(a, b) against the reference within atol + rtol * |expected|.
void check(const Array& a, const Array& b, double atol = 1e-4, double rtol = 1e-5) {
  SCOPED_TRACE("a " + shape_string(a.shape()) + " " + dtype_name(a.dtype()) + ", b " +
               shape_string(b.shape()) + " " + dtype_name(b.dtype()));
  Array c = matmul(a, b);
  Reference r = reference_matmul(a, b);
  ASSERT_EQ(c.shape(), r.shape);
  auto got = c.to_vector<double>();
  ASSERT_EQ(got.size(), r.values.size());
  int failures = 0;
  for (size_t i = 0; i < got.size() && failures < 5; ++i) {
    double tol = atol + rtol * std::abs(r.values[i]);
    if (!(std::abs(got[i] - r.values[i]) <= tol)) {
      ADD_FAILURE() << "element " << i << ": got " << got[i] << ", expected " << r.values[i];
      ++failures;
    }
  }
}

// float32 tolerance for inner size K: float32 accumulation of K products of |x| < 1.
double f32_atol(int64_t K) { return 1e-6 * (1.0 + static_cast<double>(K)); }

}  // namespace

TEST(Matmul, Float32ManyShapes) {
  const int64_t sizes[] = {1, 2, 3, 7, 16, 17, 33, 64, 65};
  uint32_t seed = 1;
  for (int64_t M : sizes) {
    for (int64_t K : {1, 5, 16, 33, 130}) {
      for (int64_t N : sizes) {
        Array a = random_array({M, K}, seed++);
        check(a, random_array({K, N}, seed++), f32_atol(K));
      }
    }
  }
  check(random_array({300, 257}, 7), random_array({257, 129}, 8), f32_atol(257));
}

TEST(Matmul, OneDimensionalOperands) {
  check(random_array({7}, 1), random_array({7, 5}, 2));
  check(random_array({6, 7}, 3), random_array({7}, 4));
  Array dot = matmul(random_array({9}, 5), random_array({9}, 6));
  EXPECT_EQ(dot.shape(), Shape{});
  check(random_array({9}, 5), random_array({9}, 6));
  check(random_array({4}, 7), random_array({2, 3, 4, 5}, 8));
  check(random_array({2, 3, 5, 4}, 9), random_array({4}, 10));
  check(random_array({1}, 11), random_array({1, 1}, 12));
}

TEST(Matmul, BatchedAndBroadcast) {
  check(random_array({3, 4, 5}, 1), random_array({3, 5, 6}, 2));
  check(random_array({2, 3, 4, 5}, 3), random_array({5, 6}, 4));      // shared weight (folded)
  check(random_array({4, 5}, 5), random_array({2, 3, 5, 6}, 6));       // shared left operand
  check(random_array({2, 1, 4, 5}, 7), random_array({1, 3, 5, 6}, 8)); // both broadcast
  check(random_array({1, 4, 5}, 9), random_array({5, 5, 2}, 10));
  check(random_array({6, 1, 5}, 11), random_array({5, 7}, 12));        // M = 1 batches, folded
  check(random_array({7, 1, 33}, 13), random_array({7, 33, 40}, 14));  // decode-like batches
  check(random_array({3, 80, 90}, 15), random_array({3, 90, 70}, 16), f32_atol(90));  // big batches
  // A batch dim broadcast with stride 0 inside the view.
  Array w = broadcast_to(random_array({1, 5, 6}, 17), {4, 5, 6});
  check(random_array({4, 3, 5}, 18), w);
}

TEST(Matmul, TransposedSlicedAndBroadcastViews) {
  Array a = random_array({40, 30}, 1);
  Array b = random_array({50, 30}, 2);
  check(a, transpose(b), f32_atol(30));                   // weight^T: CblasTrans, no copy
  check(transpose(random_array({30, 40}, 3)), transpose(b), f32_atol(30));
  check(transpose(random_array({30, 1}, 4)), transpose(b));  // row vector from a column
  check(random_array({1, 30}, 5), transpose(b));             // M = 1: gemv on weight^T
  check(random_array({1, 30}, 5), random_array({30, 50}, 6));
  check(a, random_array({30, 1}, 7));                        // N = 1: gemv
  check(transpose(random_array({30, 40}, 8)), random_array({30, 1}, 9));
  Array big = random_array({20, 64}, 10);
  check(slice(big, {0, 0}, {20, 64}, {2, 1}), random_array({64, 9}, 11), f32_atol(64));  // row step
  check(slice(big, {0, 0}, {20, 64}, {1, 2}), random_array({32, 9}, 12), f32_atol(32));  // copied
  check(slice(big, {3, 5}, {17, 40}), slice(random_array({50, 50}, 13), {4, 1}, {39, 12}),
        f32_atol(35));
  // Stride 0 inside the matrix dims (copied) and batched transposes.
  check(broadcast_to(random_array({1, 8}, 14), {6, 8}), random_array({8, 3}, 15));
  check(swapaxes(random_array({2, 8, 6}, 16), 1, 2), swapaxes(random_array({2, 5, 8}, 17), 1, 2));
  // A batch whose rows cannot be stacked (sliced batch) next to a shared weight.
  check(slice(random_array({6, 4, 8}, 18), {0, 0, 0}, {6, 4, 8}, {2, 1, 1}), random_array({8, 5}, 19));
  check(zeros({3, 4}), ones({4, 2}));
}

TEST(Matmul, EmptyAndErrors) {
  Array c = matmul(random_array({3, 0}, 1), random_array({0, 4}, 2));
  EXPECT_EQ(c.shape(), (Shape{3, 4}));
  lamina::test::expect_close(c, std::vector<double>(12, 0.0));
  EXPECT_EQ(matmul(random_array({0, 3}, 3), random_array({3, 4}, 4)).to_vector<float>().size(), 0u);
  EXPECT_THROW(matmul(Array(1.0f), random_array({2}, 5)), lamina::Error);
  EXPECT_THROW(matmul(random_array({2, 3}, 6), random_array({4, 2}, 7)), lamina::Error);
  EXPECT_THROW(matmul(random_array({2, 2, 3}, 6), random_array({3, 3, 2}, 7)), lamina::Error);
}

TEST(Matmul, ThreadCountsAgree) {
  Array a = random_array({4, 33, 70}, 1), b = random_array({70, 65}, 2);
  Array batched_b = random_array({4, 70, 65}, 3);
  const int before = lamina::core::cpu::num_threads();
  for (int threads : {1, 2, 3}) {
    lamina::core::cpu::set_num_threads(threads);
    check(a, b, f32_atol(70));
    check(a, batched_b, f32_atol(70));
    check(astype(a, Dtype::bfloat16), astype(batched_b, Dtype::bfloat16), 1e-3 * 70, 8e-3);
  }
  lamina::core::cpu::set_num_threads(before);
}

// float16/bfloat16: inputs are exact half values, the reference is exact; the result is
// float32 accumulation rounded once to the output type, so the error is about half an
// ulp of the output (2^-11 float16, 2^-8 bfloat16 relative) plus accumulation rounding.
TEST(Matmul, HalfTypes) {
  struct Case {
    Shape a, b;
    bool transpose_b;
  };
  const std::vector<Case> cases = {
      {{1, 64}, {96, 64}, true},     // decode: x @ W^T, direct kernel (nt)
      {{1, 37}, {37, 21}, false},    // direct kernel (nn), odd sizes
      {{3, 130}, {45, 130}, true},   // a few rows
      {{4, 19}, {19, 70}, false},
      {{16, 40}, {21, 40}, true},   // largest direct case
      {{17, 40}, {40, 21}, false},  // smallest blocked case
      {{70, 33}, {65, 33}, true},    // blocked: weight rows converted to float32
      {{70, 33}, {33, 65}, false},   // blocked: weight columns converted
      {{40, 20}, {20, 1}, false},    // N = 1: swapped onto the direct kernel
      {{40, 20}, {3, 20}, true},     // N = 3: swapped
      {{2, 5, 24}, {24, 7}, false},  // folded batch
      {{3, 6, 24}, {3, 24, 7}, false},
      {{5, 1, 32}, {5, 40, 32}, true},  // batched decode (attention-like)
  };
  for (Dtype dtype : {Dtype::float16, Dtype::bfloat16}) {
    const double rtol = dtype == Dtype::float16 ? 1.0 / 1024 : 1.0 / 128;
    uint32_t seed = 100;
    for (const auto& c : cases) {
      Array a = astype(random_array(c.a, seed++), dtype);
      Array b = astype(random_array(c.b, seed++), dtype);
      if (c.transpose_b) b = swapaxes(b, -1, -2);
      const int64_t K = c.a.back();
      Array out = matmul(a, b);
      EXPECT_EQ(out.dtype(), dtype);
      check(a, b, 1e-5 * K, rtol);
    }
    // Transposed left operand in the blocked path (as in dB = A^T g).
    Array at = swapaxes(astype(random_array({33, 70}, seed++), dtype), 0, 1);
    check(at, astype(random_array({33, 50}, seed++), dtype), 1e-5 * 33, rtol);
    // A layout with no unit stride (copied in its own dtype).
    Array sl = slice(astype(random_array({20, 40}, seed++), dtype), {0, 0}, {20, 40}, {2, 2});
    check(sl, astype(random_array({20, 30}, seed++), dtype), 1e-5 * 20, rtol);
  }
  // Mixed float16 @ float32 promotes to float32.
  Array h = astype(random_array({3, 4}, 1), Dtype::float16);
  EXPECT_EQ(matmul(h, random_array({4, 2}, 2)).dtype(), Dtype::float32);
  EXPECT_EQ(matmul(h, astype(random_array({4, 2}, 2), Dtype::bfloat16)).dtype(), Dtype::float32);
}

TEST(Matmul, HalfKernelsScalarAndSimdAgree) {
  using namespace lamina::kernels;
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (HalfType type : {HalfType::float16, HalfType::bfloat16}) {
    const Dtype dtype = type == HalfType::float16 ? Dtype::float16 : Dtype::bfloat16;
    for (auto [M, K, N] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {1, 7, 5},
                           {2, 8, 8}, {3, 15, 9}, {1, 16, 33}, {4, 45, 70}, {2, 100, 37},
                           {5, 37, 13}, {17, 24, 9}}) {
      std::vector<float> x(M * K);
      for (auto& v : x) v = dist(gen);
      Array w = astype(random_array({N, K}, static_cast<uint32_t>(K * N)), dtype);
      Array wt = contiguous(transpose(w));  // [K, N]
      w.eval();
      wt.eval();
      auto wd = w.to_vector<double>();
      std::vector<double> expected(M * N);
      for (int64_t m = 0; m < M; ++m) {
        for (int64_t n = 0; n < N; ++n) {
          double acc = 0;
          for (int64_t k = 0; k < K; ++k) acc += double(x[m * K + k]) * wd[n * K + k];
          expected[m * N + n] = acc;
        }
      }
      for (Isa isa : {Isa::scalar, best_isa()}) {
        std::vector<float> out_nt(M * N, -7.0f), out_nn(M * N, -7.0f);
        half_matmul_nt(type, x.data(), K, M, K, w.data<uint16_t>(), K, 0, N, out_nt.data(), N, isa);
        // The nn kernel on a column range only writes that range.
        half_matmul_nn(type, x.data(), K, M, K, wt.data<uint16_t>(), N, 0, N / 2, out_nn.data(), N,
                       isa);
        half_matmul_nn(type, x.data(), K, M, K, wt.data<uint16_t>(), N, N / 2, N, out_nn.data(), N,
                       isa);
        for (int64_t i = 0; i < M * N; ++i) {
          EXPECT_NEAR(out_nt[i], expected[i], 1e-5 * (K + 1)) << "nt isa " << int(isa) << " at " << i;
          EXPECT_NEAR(out_nn[i], expected[i], 1e-5 * (K + 1)) << "nn isa " << int(isa) << " at " << i;
        }
      }
    }
    // Conversions agree bit for bit with the scalar reference, incl. inf, NaN, subnormals.
    std::vector<float> values = {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 70000.0f, 1e-7f, -3e-6f,
                                 1e-40f, 3.0e38f, INFINITY, -INFINITY, NAN, 0.1f, 1.0f / 3,
                                 1.00048828125f, 1.0009765625f, 1.001953125f, 1.00390625f};
    for (int i = 0; i < 100; ++i) values.push_back(dist(gen) * 1000);
    const int64_t n = static_cast<int64_t>(values.size());
    std::vector<uint16_t> h_scalar(n), h_simd(n);
    float_to_half(type, values.data(), h_scalar.data(), n, Isa::scalar);
    float_to_half(type, values.data(), h_simd.data(), n, best_isa());
    std::vector<float> f_scalar(n), f_simd(n);
    half_to_float(type, h_scalar.data(), f_scalar.data(), n, Isa::scalar);
    half_to_float(type, h_scalar.data(), f_simd.data(), n, best_isa());
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_EQ(h_scalar[i], h_simd[i]) << "value " << values[i];
      if (std::isnan(f_scalar[i])) {
        EXPECT_TRUE(std::isnan(f_simd[i]));
      } else {
        EXPECT_EQ(f_scalar[i], f_simd[i]) << "value " << values[i];
      }
    }
  }
}

TEST(Matmul, IntegersAndBool) {
  std::mt19937 gen(3);
  std::uniform_int_distribution<int> dist(-50, 50);
  auto ints = [&](const Shape& s, Dtype dtype) {
    std::vector<int32_t> v(shape_size(s));
    for (auto& x : v) x = is_unsigned_integral(dtype) ? std::abs(dist(gen)) : dist(gen);
    return Array(v, s, dtype);
  };
  for (Dtype dtype : {Dtype::int32, Dtype::int64, Dtype::int16, Dtype::uint32}) {
    Array a = ints({5, 7}, dtype), b = ints({7, 9}, dtype);
    EXPECT_EQ(matmul(a, b).dtype(), dtype);
    check(a, b, 0, 0);
    check(ints({2, 3, 4}, dtype), ints({4, 5}, dtype), 0, 0);
    check(transpose(ints({6, 3}, dtype)), ints({6, 4}, dtype), 0, 0);
  }
  // int8 wraps as int8 arithmetic does: 100 * 100 * 3 = 30000 = 48 (mod 256).
  Array a8(std::vector<int>{100, 100, 100}, {1, 3}, Dtype::int8);
  Array b8(std::vector<int>{100, 100, 100}, {3, 1}, Dtype::int8);
  EXPECT_EQ(matmul(a8, b8).item<int>(), static_cast<int8_t>(30000));
  Array u8(std::vector<int>{200, 3}, {1, 2}, Dtype::uint8);
  Array v8(std::vector<int>{2, 1}, {2, 1}, Dtype::uint8);
  EXPECT_EQ(matmul(u8, v8).item<int>(), (400 + 3) % 256);
  // bool @ bool is bool: any(a[m, :] & b[:, n]).
  Array p(std::vector<bool>{true, false, false, false}, {2, 2});
  Array q(std::vector<bool>{false, true, true, false}, {2, 2});
  Array pq = matmul(p, q);
  EXPECT_EQ(pq.dtype(), Dtype::bool_);
  lamina::test::expect_close(pq, {0, 1, 0, 0});
  // int32 @ float32 promotes to float32.
  Array mixed = matmul(ints({2, 3}, Dtype::int32), random_array({3, 2}, 4));
  EXPECT_EQ(mixed.dtype(), Dtype::float32);
}

namespace {

// Checks grad of sum(matmul(a, b) * w) against central differences. The loss is linear in
// each operand, so central differences are exact up to float32 rounding.
void check_matmul_grad(const Shape& as, const Shape& bs) {
  SCOPED_TRACE("a " + shape_string(as) + ", b " + shape_string(bs));
  Array a0 = random_array(as, 21), b0 = random_array(bs, 22);
  Array w = random_array(matmul(a0, b0).shape(), 23);
  auto loss = [&](const std::vector<Array>& x) { return sum(matmul(x[0], x[1]) * w); };
  auto grads = grad(loss, {a0, b0});
  ASSERT_EQ(grads[0].shape(), as);
  ASSERT_EQ(grads[1].shape(), bs);
  const float eps = 0.25f;
  for (int which = 0; which < 2; ++which) {
    auto base = (which == 0 ? a0 : b0).to_vector<float>();
    auto g = grads[which].to_vector<double>();
    for (size_t i = 0; i < base.size(); ++i) {
      auto plus = base, minus = base;
      plus[i] += eps;
      minus[i] -= eps;
      const Shape& s = which == 0 ? as : bs;
      Array ap = which == 0 ? Array(plus, s) : a0, am = which == 0 ? Array(minus, s) : a0;
      Array bp = which == 1 ? Array(plus, s) : b0, bm = which == 1 ? Array(minus, s) : b0;
      double numeric = (loss({ap, bp}).item<double>() - loss({am, bm}).item<double>()) / (2 * eps);
      EXPECT_NEAR(g[i], numeric, 1e-4 * (1 + std::abs(numeric))) << "operand " << which << " at " << i;
    }
  }
}

}  // namespace

TEST(Matmul, VjpMatchesFiniteDifferences) {
  check_matmul_grad({3, 4}, {4, 5});
  check_matmul_grad({4}, {4, 3});
  check_matmul_grad({3, 4}, {4});
  check_matmul_grad({5}, {5});
  check_matmul_grad({2, 3, 4}, {4, 5});        // shared weight: one GEMM for dB
  check_matmul_grad({3, 4}, {2, 4, 5});        // shared left operand
  check_matmul_grad({2, 1, 3, 4}, {3, 4, 2});  // both broadcast
  check_matmul_grad({1, 3, 4}, {2, 4, 2});
  check_matmul_grad({2, 3, 4}, {2, 4, 1});
}

TEST(Matmul, VjpThroughTransposedWeight) {
  // Linear layer: y = x @ W^T, gradient for W is g^T @ x.
  Array x = random_array({2, 3, 4}, 1), W = random_array({5, 4}, 2);
  Array w = random_array({2, 3, 5}, 3);
  auto loss = [&](const std::vector<Array>& p) { return sum(matmul(p[0], transpose(p[1])) * w); };
  auto grads = grad(loss, {x, W});
  Reference dW = reference_matmul(transpose(reshape(w, {6, 5})), reshape(x, {6, 4}));
  lamina::test::expect_close(grads[1], dW.values, 1e-5, 1e-5);
  Reference dx = reference_matmul(w, W);
  lamina::test::expect_close(grads[0], dx.values, 1e-5, 1e-5);
}
