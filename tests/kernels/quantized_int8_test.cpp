// The int8-activation quantized matvec: every vector path (AVX2, AVX-VNNI, AVX-512 VNNI where
// the CPU has them) against the scalar reference path for every bit width and group size,
// 1 to 9 input rows, odd output rows and row lengths that end in a partial vector chunk; and
// the int8 result against the exact product, within the bound the activation rounding gives.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/quantized_int8.h"
#include "kernels/cpu/quantized_pack.h"
#include "libcore/array/half.h"
#include "libcore/ops/ops.h"
#include "libcore/transforms/vjp.h"
#include "quant/quantized_primitives.h"
#include "tests/test_util.h"

using namespace lamina::kernels;

namespace {

struct Matrix {
  std::vector<uint32_t> weight;
  std::vector<uint16_t> scales, biases;  // bfloat16 or float16 bits
  QuantizedMatrixView view;
  // W[n, k] as the kernels see it (scale * code + bias, float32 parameters).
  double at(int64_t n, int64_t k) const {
    const int64_t groups = view.cols / view.group_size, g = n * groups + k / view.group_size;
    return static_cast<double>(load_scale(view.scales, view.scale_type, g)) *
               unpack_code(view.weight + n * view.cols * view.bits / 32, k, view.bits) +
           static_cast<double>(load_scale(view.biases, view.scale_type, g));
  }
};

Matrix random_matrix(int64_t rows, int64_t cols, int group, int bits, uint32_t seed, bool half) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Matrix m;
  m.weight.resize(static_cast<size_t>(rows * cols * bits / 32));
  for (auto& w : m.weight) w = gen();
  for (int64_t i = 0; i < rows * (cols / group); ++i) {
    const float s = dist(gen) * 0.1f, b = dist(gen);
    m.scales.push_back(half ? lamina::core::float_to_half_bits(s) : lamina::core::float_to_bfloat_bits(s));
    m.biases.push_back(half ? lamina::core::float_to_half_bits(b) : lamina::core::float_to_bfloat_bits(b));
  }
  m.view = {m.weight.data(), m.scales.data(), m.biases.data(),
            half ? QuantScaleType::float16 : QuantScaleType::bfloat16, rows, cols, group, bits};
  return m;
}

std::vector<float> random_input(int64_t M, int64_t K, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist;
  std::vector<float> x(static_cast<size_t>(M * K));
  for (auto& v : x) v = dist(gen);
  return x;
}

std::vector<Int8Isa> vector_isas() {
  std::vector<Int8Isa> isas;
  const Int8Isa best = best_int8_isa();
  if (best == Int8Isa::scalar) return isas;
  isas.push_back(Int8Isa::avx2);
  if (has_avx_vnni()) isas.push_back(Int8Isa::avx_vnni);
  if (best == Int8Isa::avx512_vnni) isas.push_back(Int8Isa::avx512_vnni);
  return isas;
}

std::vector<float> run(const Matrix& w, const std::vector<float>& x, int64_t M, Int8Isa isa) {
  const int64_t N = w.view.rows, K = w.view.cols;
  const QuantizedInt8Input in =
      prepare_quantized_int8_input(x.data(), K, M, K, w.view.group_size, w.view.bits, isa);
  std::vector<float> out(static_cast<size_t>(M * N), std::numeric_limits<float>::quiet_NaN());
  // Two calls over halves of the output rows, as the thread pool splits them.
  quantized_matvec_int8(w.view, in, 0, N / 2, out.data(), N);
  quantized_matvec_int8(w.view, in, N / 2, N, out.data(), N);
  return out;
}

// Row lengths per group size: multiples of 32 that leave a partial last chunk for some paths
// (a 2-bit AVX-512 chunk is 256 values, a 4-bit one 128).
std::vector<int64_t> row_lengths(int group) {
  if (group == 32) return {96, 384};
  if (group == 64) return {192, 640};
  return {384, 640};
}

TEST(QuantizedInt8, VectorPathsMatchScalarReference) {
  if (vector_isas().empty()) GTEST_SKIP() << "no vector int8 path on this CPU";
  const int64_t N = 37;
  for (int bits : {2, 3, 4, 5, 6, 8}) {
    for (int group : {32, 64, 128}) {
      for (int64_t K : row_lengths(group)) {
        Matrix w = random_matrix(N, K, group, bits, static_cast<uint32_t>(bits * 1000 + group + K), group == 64);
        for (int64_t M = 1; M <= 9; ++M) {
          const std::vector<float> x = random_input(M, K, static_cast<uint32_t>(M * 7 + K));
          const std::vector<float> ref = run(w, x, M, Int8Isa::scalar);
          for (Int8Isa isa : vector_isas()) {
            if (!int8_path_supported(bits, isa)) {
              EXPECT_TRUE(isa == Int8Isa::avx2 && bits == 8);
              continue;
            }
            SCOPED_TRACE(testing::Message() << int8_isa_name(isa) << " bits=" << bits << " group=" << group
                                            << " K=" << K << " M=" << M);
            const std::vector<float> got = run(w, x, M, isa);
            for (int64_t m = 0; m < M; ++m) {
              for (int64_t n = 0; n < N; ++n) {
                // Same integer sums, other float summation order: relative to the terms' size.
                double magnitude = 0;
                for (int64_t k = 0; k < K; ++k) magnitude += std::fabs(w.at(n, k) * x[m * K + k]);
                const size_t i = static_cast<size_t>(m * N + n);
                ASSERT_NEAR(got[i], ref[i], 1e-5 * magnitude + 1e-6) << "m=" << m << " n=" << n;
              }
            }
          }
        }
      }
    }
  }
}

// The GEMM kernel (kInt8GemmMinRows rows and more) against the scalar reference: every bit
// width and group size, row counts that leave every remainder of a row tile, output row
// counts that end in a partial strip (the two halves run() splits into hold a full strip and
// a partial one), up to 600 rows.
void expect_gemm_matches_scalar(int bits, int group, int64_t N, int64_t K, int64_t M) {
  Matrix w = random_matrix(N, K, group, bits, static_cast<uint32_t>(bits * 977 + group + K + N), group != 64);
  const std::vector<float> x = random_input(M, K, static_cast<uint32_t>(M * 13 + K));
  const std::vector<float> ref = run(w, x, M, Int8Isa::scalar);
  for (Int8Isa isa : vector_isas()) {
    if (!int8_path_supported(bits, isa)) continue;
    SCOPED_TRACE(testing::Message() << int8_isa_name(isa) << " bits=" << bits << " group=" << group
                                    << " N=" << N << " K=" << K << " M=" << M);
    ASSERT_TRUE(prepare_quantized_int8_input(x.data(), K, M, K, group, bits, isa).gemm);
    const std::vector<float> got = run(w, x, M, isa);
    for (int64_t n = 0; n < N; ++n) {
      double magnitude = 0;  // of row 0; rows have the same distribution
      for (int64_t k = 0; k < K; ++k) magnitude += std::fabs(w.at(n, k) * x[static_cast<size_t>(k)]);
      for (int64_t m = 0; m < M; ++m) {
        const size_t i = static_cast<size_t>(m * N + n);
        ASSERT_NEAR(got[i], ref[i], 1e-5 * 4 * magnitude + 1e-6) << "m=" << m << " n=" << n;
      }
    }
  }
}

TEST(QuantizedInt8, GemmMatchesScalarReference) {
  if (vector_isas().empty()) GTEST_SKIP() << "no vector int8 path on this CPU";
  for (int bits : {2, 3, 4, 5, 6, 8}) {
    for (int group : {32, 64, 128}) {
      for (int64_t M : {kInt8GemmMinRows, kInt8GemmMinRows + 1, int64_t{23}, int64_t{70}}) {
        expect_gemm_matches_scalar(bits, group, 70, row_lengths(group)[0], M);
      }
    }
  }
  // Many rows, several strips plus a partial one.
  for (int bits : {4, 8}) {
    for (int group : {32, 64}) expect_gemm_matches_scalar(bits, group, 75, 256, 600);
  }
  expect_gemm_matches_scalar(3, 128, 70, 384, 129);
}

TEST(QuantizedInt8, GemmNonFiniteActivationsGiveNaN) {
  const int64_t N = 40, K = 128, M = kInt8GemmMinRows + 3;
  Matrix w = random_matrix(N, K, 64, 4, 7, false);
  for (float bad : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    std::vector<float> x = random_input(M, K, 3);
    x[static_cast<size_t>(5 * K + 40)] = bad;  // row 5, block 1
    const std::vector<float> got = run(w, x, M, best_int8_isa());
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t n = 0; n < N; ++n) {
        const float v = got[static_cast<size_t>(m * N + n)];
        if (m == 5) EXPECT_TRUE(std::isnan(v)) << "m=" << m << " n=" << n;
        else EXPECT_TRUE(std::isfinite(v)) << "m=" << m << " n=" << n;
      }
    }
  }
}

// |sum_k W[n,k] (x[k] - d q[k])| <= sum over blocks of d / 2 * sum |W[n,k]| (round to
// nearest), plus float32 rounding of the sums.
TEST(QuantizedInt8, WithinActivationRoundingOfExactProduct) {
  std::vector<Int8Isa> isas = vector_isas();
  isas.insert(isas.begin(), Int8Isa::scalar);
  const int64_t N = 21, M = 5;
  for (int bits : {2, 3, 4, 5, 6, 8}) {
    for (int group : {32, 64, 128}) {
      const int64_t K = 640;
      Matrix w = random_matrix(N, K, group, bits, static_cast<uint32_t>(bits + group), group == 128);
      const std::vector<float> x = random_input(M, K, static_cast<uint32_t>(bits * 31 + group));
      for (Int8Isa isa : isas) {
        if (!int8_path_supported(bits, isa)) continue;
        SCOPED_TRACE(testing::Message() << int8_isa_name(isa) << " bits=" << bits << " group=" << group);
        const std::vector<float> got = run(w, x, M, isa);
        double worst_ratio = 0;
        for (int64_t m = 0; m < M; ++m) {
          for (int64_t n = 0; n < N; ++n) {
            double exact = 0, bound = 0, magnitude = 0;
            for (int64_t b = 0; b < K / kInt8BlockSize; ++b) {
              double amax = 0, wsum = 0;
              for (int64_t k = b * kInt8BlockSize; k < (b + 1) * kInt8BlockSize; ++k) {
                const double wk = w.at(n, k), xk = x[m * K + k];
                amax = std::max(amax, std::fabs(xk));
                wsum += std::fabs(wk);
                exact += wk * xk;
                magnitude += std::fabs(wk * xk);
              }
              bound += amax / 127.0 / 2.0 * wsum;
            }
            const double err = std::fabs(got[static_cast<size_t>(m * N + n)] - exact);
            ASSERT_LE(err, bound + 1e-5 * magnitude) << "m=" << m << " n=" << n;
            worst_ratio = std::max(worst_ratio, err / bound);
          }
        }
        // The bound is not vacuous: typical errors are a sizeable fraction of it, far from 0
        // (a float product would be ~1e-6 of it).
        EXPECT_GT(worst_ratio, 1e-3);
      }
    }
  }
}

TEST(QuantizedInt8, NonFiniteActivationsGiveNaN) {
  const int64_t N = 5, K = 128;
  Matrix w = random_matrix(N, K, 64, 4, 7, false);
  for (Int8Isa isa : {Int8Isa::scalar, best_int8_isa()}) {
    for (float bad : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
      std::vector<float> x = random_input(2, K, 3);
      x[K + 40] = bad;  // row 1, block 1
      const std::vector<float> got = run(w, x, 2, isa);
      for (int64_t n = 0; n < N; ++n) {
        EXPECT_TRUE(std::isfinite(got[static_cast<size_t>(n)]));
        EXPECT_TRUE(std::isnan(got[static_cast<size_t>(N + n)]));
      }
    }
  }
}

// The op: int8 activations go through the primitive's attribute, for decode and prefill row
// counts, and stay within the activation rounding of the float32 product; the vjp stays
// exact (float32).
TEST(QuantizedInt8, OpAttributeAndGradient) {
  using namespace lamina::core;
  const Array w = lamina::test::random_array({48, 256}, 11);
  const QuantizedArrays q = quantize(w, 64, 4);
  for (int64_t rows : {1, 7, 33, 150}) {
    const Array x = lamina::test::random_array({rows, 256}, 12);
    const Array exact = quantized_matmul(x, q.weight, q.scales, q.biases, true, 64, 4);
    const Array int8 = quantized_matmul(x, q.weight, q.scales, q.biases, true, 64, 4, QuantizedActivations::int8);
    const auto* p = dynamic_cast<const QuantizedMatmul*>(int8.primitive().get());
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->activations(), QuantizedActivations::int8);
    // |x| <= 1 and |W| <~ 1: the activation rounding is at most 256 * (1 / 254) per output.
    lamina::test::expect_arrays_close(int8, exact, 0.6, 0.0);
    const Array diff = max(abs(int8 - exact));
    EXPECT_GT(diff.item<float>(), 0.0f) << "int8 activations gave the float32 result exactly";
  }
  // The gradient with respect to x is the float32 untransposed product whatever the forward.
  const Array x = lamina::test::random_array({3, 256}, 13);
  auto loss = [&](const std::vector<Array>& a) {
    return sum(quantized_matmul(a[0], q.weight, q.scales, q.biases, true, 64, 4, QuantizedActivations::int8));
  };
  const Array g = grad(loss, {x})[0];
  const Array expected = broadcast_to(sum(dequantize(q.weight, q.scales, q.biases, 64, 4), {0}), {3, 256});
  lamina::test::expect_arrays_close(g, expected, 1e-4, 1e-4);
}

}  // namespace
