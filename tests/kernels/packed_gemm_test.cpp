// The blocked packed GEMM: its vectorized path against its scalar reference path and against
// double-precision sums, for float16/bfloat16/float32 weights stored as rows of K and float32
// stored as rows of N, over shapes with partial row tiles, column panels and K blocks.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "kernels/cpu/packed_gemm.h"
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

// x [M, K] packed in two calls (as the pool does), the second starting mid-way; transposed
// (column-major) when x_transposed.
std::vector<float> pack(const std::vector<float>& x, int64_t M, int64_t K, bool x_transposed) {
  std::vector<float> packed(static_cast<size_t>(packed_gemm_size(M, K)), -1.0f);
  const int64_t tiles = (M + kPackedGemmRows - 1) / kPackedGemmRows;
  const int64_t split = tiles / 2;
  const int64_t rs = x_transposed ? 1 : K, cs = x_transposed ? M : 1;
  packed_gemm_pack_x(x.data(), rs, cs, M, K, 0, split, packed.data());
  packed_gemm_pack_x(x.data() + split * kPackedGemmRows * rs, rs, cs, M, K, split, tiles,
                     packed.data());
  return packed;
}

enum class Weight { float16, bfloat16, float32_rows, float32_cols };

TEST(PackedGemm, VectorAndScalarPathsAgreeWithExactSums) {
  for (Weight kind : {Weight::float16, Weight::bfloat16, Weight::float32_rows, Weight::float32_cols}) {
    for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {13, 33, 255},
                           {25, 70, 257}, {12, 32, 600}, {40, 100, 513}}) {
      const auto x = values(M * K, 1);  // used as [M, K] row-major, or [K, M] when transposed
      auto wf = values(N * K, 2);       // [N, K], or [K, N] for float32_cols
      std::vector<uint16_t> wh(wf.size());
      const HalfType type = kind == Weight::bfloat16 ? HalfType::bfloat16 : HalfType::float16;
      if (kind == Weight::float16 || kind == Weight::bfloat16) {
        for (size_t i = 0; i < wf.size(); ++i) {
          wh[i] = type == HalfType::bfloat16 ? lamina::core::float_to_bfloat_bits(wf[i])
                                             : lamina::core::float_to_half_bits(wf[i]);
          wf[i] = type == HalfType::bfloat16 ? lamina::core::bfloat_bits_to_float(wh[i])
                                             : lamina::core::half_bits_to_float(wh[i]);
        }
      }
      for (bool x_transposed : {false, true}) {
        const auto packed = pack(x, M, K, x_transposed);
        const int64_t n0 = N > 3 ? 3 : 0;  // a column range not starting at 0
        for (Isa isa : {best_isa(), Isa::scalar}) {
          std::vector<float> out(static_cast<size_t>(M * (N - n0)), 7.0f);
          switch (kind) {
            case Weight::float16:
            case Weight::bfloat16:
              packed_gemm_half_nt(type, packed.data(), M, K, wh.data(), K, n0, N, out.data(), N - n0, isa);
              break;
            case Weight::float32_rows:
              packed_gemm_float_nt(packed.data(), M, K, wf.data(), K, n0, N, out.data(), N - n0, isa);
              break;
            case Weight::float32_cols:
              packed_gemm_float_nn(packed.data(), M, K, wf.data(), N, n0, N, out.data(), N - n0, isa);
              break;
          }
          for (int64_t m = 0; m < M; ++m) {
            for (int64_t n = n0; n < N; ++n) {
              double ref = 0;
              for (int64_t k = 0; k < K; ++k) {
                const float xv = x_transposed ? x[k * M + m] : x[m * K + k];
                const float wv = kind == Weight::float32_cols ? wf[k * N + n] : wf[n * K + k];
                ref += static_cast<double>(xv) * wv;
              }
              const float got = out[static_cast<size_t>(m * (N - n0) + (n - n0))];
              ASSERT_NEAR(got, ref, 1e-5 * static_cast<double>(K) + 1e-6)
                  << "kind " << static_cast<int>(kind) << " M=" << M << " N=" << N << " K=" << K
                  << " m=" << m << " n=" << n << " scalar=" << (isa == Isa::scalar);
            }
          }
        }
      }
    }
  }
}

}  // namespace
