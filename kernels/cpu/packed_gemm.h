// Blocked GEMM for many rows (prefill, training) times a weight: x (float32) is packed once
// into register-tile order, and each 32-column panel of the weight is converted into an
// L1-sized float32 block once per K block and reused for every row, so a weight element is
// converted once per call rather than once per row. Weights: float16/bfloat16 or float32
// stored as rows of K ([N, K], a Linear weight: "nt"), or float32 stored as rows of N
// ([K, N]: "nn"). AVX-512 path when the CPU has it, scalar reference path otherwise.
// Leaf code.
#pragma once

#include <cstdint>

#include "kernels/cpu/half_matmul.h"
#include "kernels/cpu/isa.h"

namespace lamina::kernels {

// Rows per register tile of the packed x (the microkernel computes kPackedGemmRows x 32).
inline constexpr int64_t kPackedGemmRows = 12;
// Columns of K per block (the float32 weight block is kPackedGemmDepth x 32, 32 KiB).
inline constexpr int64_t kPackedGemmDepth = 256;

// Returns the number of floats packed_gemm_pack_x writes for M rows of K.
int64_t packed_gemm_size(int64_t M, int64_t K);

// Packs row tiles [tile_begin, tile_end) (kPackedGemmRows rows each; rows past M are zero)
// of a float32 [M, K] matrix into `packed` (packed_gemm_size floats). Element (m, k) is read
// at x[(m - tile_begin * kPackedGemmRows) * row_stride + k * col_stride].
void packed_gemm_pack_x(const float* x, int64_t row_stride, int64_t col_stride, int64_t M,
                        int64_t K, int64_t tile_begin, int64_t tile_end, float* packed);

// out[m * ldo + (n - n_begin)] = sum_k x[m, k] * float(w[n * ldw + k]) for m < M and n in
// [n_begin, n_end), from x packed by packed_gemm_pack_x; sums accumulate in float32.
void packed_gemm_half_nt(HalfType type, const float* packed_x, int64_t M, int64_t K,
                         const uint16_t* w, int64_t ldw, int64_t n_begin, int64_t n_end,
                         float* out, int64_t ldo, Isa isa = best_isa());
// The same with a float32 weight [N, K] (row stride ldw).
void packed_gemm_float_nt(const float* packed_x, int64_t M, int64_t K, const float* w,
                          int64_t ldw, int64_t n_begin, int64_t n_end, float* out, int64_t ldo,
                          Isa isa = best_isa());
// out[m * ldo + (n - n_begin)] = sum_k x[m, k] * b[k * ldb + n]: a float32 weight [K, N].
void packed_gemm_float_nn(const float* packed_x, int64_t M, int64_t K, const float* b,
                          int64_t ldb, int64_t n_begin, int64_t n_end, float* out, int64_t ldo,
                          Isa isa = best_isa());

// True when the packed GEMM has a vectorized path on this CPU (else callers keep their other
// routes; the scalar path is the reference).
bool packed_gemm_is_fast(Isa isa = best_isa());

}  // namespace lamina::kernels
