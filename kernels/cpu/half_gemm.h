// Blocked GEMM for many rows (prefill) times a float16/bfloat16 weight stored as rows of K
// (a [N, K] Linear weight): x is packed once into register-tile order, and each 32-column
// panel of the weight is converted into an L1-sized float32 block once per K block and
// reused for every row, so a weight element is converted once per call rather than once
// per row. AVX-512 path when the CPU has it, scalar reference path otherwise. Leaf code.
#pragma once

#include <cstdint>

#include "kernels/cpu/half_matmul.h"
#include "kernels/cpu/isa.h"

namespace lamina::kernels {

// Rows per register tile of the packed x (the microkernel computes kHalfGemmRows x 32).
inline constexpr int64_t kHalfGemmRows = 12;
// Columns of K per block (the float32 weight block is kHalfGemmDepth x 32, 32 KiB).
inline constexpr int64_t kHalfGemmDepth = 256;

// Returns the number of floats half_gemm_pack_x writes for M rows of K.
int64_t half_gemm_packed_size(int64_t M, int64_t K);

// Packs row tiles [tile_begin, tile_end) (kHalfGemmRows rows each; rows past M are zero)
// of a float32 [M, K] matrix into `packed` (half_gemm_packed_size floats); x points at row
// tile_begin * kHalfGemmRows, rows ldx floats apart.
void half_gemm_pack_x(const float* x, int64_t ldx, int64_t M, int64_t K, int64_t tile_begin,
                      int64_t tile_end, float* packed);

// out[m * ldo + (n - n_begin)] = sum_k x[m, k] * float(w[n * ldw + k]) for m < M and n in
// [n_begin, n_end), from x packed by half_gemm_pack_x; sums accumulate in float32.
void half_gemm_nt(HalfType type, const float* packed_x, int64_t M, int64_t K, const uint16_t* w,
                  int64_t ldw, int64_t n_begin, int64_t n_end, float* out, int64_t ldo,
                  Isa isa = best_isa());

// True when half_gemm_nt has a vectorized path on this CPU (else the caller may prefer
// another route; the scalar path is the reference).
bool half_gemm_is_fast(Isa isa = best_isa());

}  // namespace lamina::kernels
