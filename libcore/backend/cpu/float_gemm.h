// One float32 GEMM for the CPU kernels that build float panels themselves (the quantized
// products dequantize weight panels): OpenBLAS, or lamina's packed AVX-512 GEMM where
// OpenBLAS runs without the CPU's AVX-512 (Debian's 0.3.21 does not know recent Xeons and
// picks SSE3 kernels, 4-5x slower). Implemented in matmul.cpp beside Matmul's own routes.
#pragma once

#include <cstdint>

namespace lamina::core::cpu {

// C[M, N] = A[M, K] @ B, all row-major float32 with the given row strides; B is [K, N], or
// with b_transposed [N, K] used as its transpose. parallel: split over the thread pool and
// OpenBLAS's threads; else on the calling thread alone (for callers that are themselves
// inside a parallel region, with OpenBLAS set to one thread).
void float_gemm(const float* A, int64_t lda, const float* B, int64_t ldb, bool b_transposed, int64_t M,
                int64_t N, int64_t K, float* C, int64_t ldc, bool parallel);

}  // namespace lamina::core::cpu
