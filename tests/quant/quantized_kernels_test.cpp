// The vector paths of the quantized kernels (AVX2 and, where the CPU has it, AVX-512)
// against the scalar reference path, for every bit width and group size, 1 to 9 input rows.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/quantized_matmul.h"
#include "kernels/cpu/quantized_pack.h"
#include "libcore/array/half.h"

using namespace lamina::kernels;

namespace {

struct Matrix {
  std::vector<uint32_t> weight;
  std::vector<uint16_t> scales, biases;  // bfloat16 bits
  QuantizedMatrixView view;
};

// Scales and biases in bfloat16, or in float16 when `half`.
Matrix random_matrix(int64_t rows, int64_t cols, int group, int bits, uint32_t seed, bool half = false) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Matrix m;
  const int64_t groups = cols / group;
  m.weight.resize(static_cast<size_t>(rows * cols * bits / 32));
  for (auto& w : m.weight) w = gen();
  for (int64_t i = 0; i < rows * groups; ++i) {
    const float s = dist(gen) * 0.1f, b = dist(gen);
    m.scales.push_back(half ? lamina::core::float_to_half_bits(s) : lamina::core::float_to_bfloat_bits(s));
    m.biases.push_back(half ? lamina::core::float_to_half_bits(b) : lamina::core::float_to_bfloat_bits(b));
  }
  m.view = {m.weight.data(), m.scales.data(), m.biases.data(),
            half ? QuantScaleType::float16 : QuantScaleType::bfloat16, rows, cols, group, bits};
  return m;
}

std::vector<QuantIsa> vector_isas() {
  std::vector<QuantIsa> isas;
  if (best_quant_isa() == QuantIsa::scalar) return isas;
  isas.push_back(QuantIsa::avx2);
  if (best_quant_isa() == QuantIsa::avx512) isas.push_back(QuantIsa::avx512);
  return isas;
}

TEST(QuantizedKernels, MatvecVectorPathsMatchScalar) {
  if (vector_isas().empty()) GTEST_SKIP() << "no vector path on this CPU";
  const int64_t N = 37, K = 384;
  for (int bits : {2, 3, 4, 5, 6, 8}) {
    for (int group : {32, 64, 128}) {
      Matrix w = random_matrix(N, K, group, bits, static_cast<uint32_t>(bits * 1000 + group), group == 64);
      for (int64_t M : {1, 3, 4, 5, 9}) {
        std::mt19937 gen(static_cast<uint32_t>(M));
        std::normal_distribution<float> dist;
        std::vector<float> x(static_cast<size_t>(M * K));
        for (auto& v : x) v = dist(gen);
        std::vector<float> ref(static_cast<size_t>(M * N)), got(ref.size());
        auto xs = prepare_quantized_input(x.data(), K, M, K, group, bits, QuantIsa::scalar);
        quantized_matvec(w.view, xs, 0, N, ref.data(), N, QuantIsa::scalar);
        for (QuantIsa isa : vector_isas()) {
          SCOPED_TRACE(std::string(quant_isa_name(isa)) + " bits " + std::to_string(bits) +
                       " group " + std::to_string(group) + " M " + std::to_string(M));
          auto xv = prepare_quantized_input(x.data(), K, M, K, group, bits, isa);
          std::fill(got.begin(), got.end(), 0.0f);
          // Two row ranges, as the thread pool splits them.
          quantized_matvec(w.view, xv, 0, 20, got.data(), N, isa);
          quantized_matvec(w.view, xv, 20, N, got.data(), N, isa);
          for (size_t i = 0; i < ref.size(); ++i) {
            ASSERT_NEAR(got[i], ref[i], 2e-4f * (1.0f + std::abs(ref[i]))) << "at " << i;
          }
        }
      }
    }
  }
}

TEST(QuantizedKernels, DequantizeRowsVectorPathsMatchScalar) {
  if (vector_isas().empty()) GTEST_SKIP() << "no vector path on this CPU";
  const int64_t N = 9, K = 256;
  for (int bits : {2, 3, 4, 5, 6, 8}) {
    for (int group : {32, 64, 128}) {
      Matrix w = random_matrix(N, K, group, bits, static_cast<uint32_t>(bits + group));
      std::vector<float> ref(static_cast<size_t>(N * K)), got(ref.size());
      quantized_dequantize_rows(w.view, 0, N, ref.data(), K, QuantIsa::scalar);
      // The scalar path against the unpacked codes directly.
      for (int64_t n = 0; n < N; ++n) {
        for (int64_t k = 0; k < K; ++k) {
          const int64_t g = n * (K / group) + k / group;
          const float s = lamina::core::bfloat_bits_to_float(w.scales[g]);
          const float b = lamina::core::bfloat_bits_to_float(w.biases[g]);
          const uint32_t code = unpack_code(w.weight.data() + n * K * bits / 32, k, bits);
          ASSERT_LT(code, 1u << bits);
          ASSERT_FLOAT_EQ(ref[n * K + k], s * static_cast<float>(code) + b);
        }
      }
      for (QuantIsa isa : vector_isas()) {
        SCOPED_TRACE(std::string(quant_isa_name(isa)) + " bits " + std::to_string(bits));
        quantized_dequantize_rows(w.view, 2, N, got.data(), K, isa);
        for (int64_t i = 0; i < (N - 2) * K; ++i) {
          ASSERT_NEAR(got[i], ref[2 * K + i], 1e-6f * (1.0f + std::abs(ref[2 * K + i])));
        }
      }
    }
  }
}

}  // namespace
