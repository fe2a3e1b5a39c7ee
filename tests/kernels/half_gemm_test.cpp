// The blocked half-weight GEMM: its vectorized path against its scalar reference path and
// against plain float32 sums, over shapes with partial row tiles, column panels and K blocks.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/half_gemm.h"
#include "libcore/array/half.h"

namespace {

using namespace lamina::kernels;

std::vector<float> values(int64_t n, uint32_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>(seed >> 8) / 16777216.0f - 0.5f;
  }
  return v;
}

std::vector<float> run_gemm(HalfType type, const std::vector<float>& x, int64_t M, int64_t K,
                            const std::vector<uint16_t>& w, int64_t n0, int64_t n1, Isa isa) {
  std::vector<float> packed(static_cast<size_t>(half_gemm_packed_size(M, K)), -1.0f);
  const int64_t tiles = (M + kHalfGemmRows - 1) / kHalfGemmRows;
  // Packed in two calls (as the pool does), the second starting mid-way.
  const int64_t split = tiles / 2;
  half_gemm_pack_x(x.data(), K, M, K, 0, split, packed.data());
  half_gemm_pack_x(x.data() + split * kHalfGemmRows * K, K, M, K, split, tiles, packed.data());
  std::vector<float> out(static_cast<size_t>(M * (n1 - n0)), 7.0f);
  half_gemm_nt(type, packed.data(), M, K, w.data(), K, n0, n1, out.data(), n1 - n0, isa);
  return out;
}

TEST(HalfGemm, VectorAndScalarPathsAgreeWithFloatSums) {
  for (HalfType type : {HalfType::float16, HalfType::bfloat16}) {
    for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {13, 33, 255},
                           {25, 70, 257}, {12, 32, 600}, {40, 100, 513}}) {
      const auto x = values(M * K, 1);
      const auto wf = values(N * K, 2);
      std::vector<uint16_t> w(wf.size());
      for (size_t i = 0; i < w.size(); ++i) {
        w[i] = type == HalfType::bfloat16 ? lamina::core::float_to_bfloat_bits(wf[i])
                                          : lamina::core::float_to_half_bits(wf[i]);
      }
      const int64_t n0 = N > 3 ? 3 : 0;  // a column range not starting at 0
      const auto fast = run_gemm(type, x, M, K, w, n0, N, best_isa());
      const auto scalar = run_gemm(type, x, M, K, w, n0, N, Isa::scalar);
      for (int64_t m = 0; m < M; ++m) {
        for (int64_t n = n0; n < N; ++n) {
          double ref = 0;
          for (int64_t k = 0; k < K; ++k) {
            const uint16_t h = w[n * K + k];
            const float wv = type == HalfType::bfloat16 ? lamina::core::bfloat_bits_to_float(h)
                                                        : lamina::core::half_bits_to_float(h);
            ref += static_cast<double>(x[m * K + k]) * wv;
          }
          const size_t i = static_cast<size_t>(m * (N - n0) + (n - n0));
          const double tol = 1e-5 * static_cast<double>(K) + 1e-6;
          ASSERT_NEAR(fast[i], ref, tol) << "M=" << M << " N=" << N << " K=" << K << " m=" << m << " n=" << n;
          ASSERT_NEAR(scalar[i], ref, tol) << "M=" << M << " N=" << N << " K=" << K;
        }
      }
    }
  }
}

}  // namespace
