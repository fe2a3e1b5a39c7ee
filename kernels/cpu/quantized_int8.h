// Quantized matrix products with int8 activations (llama.cpp's Q8 scheme): each input row
// is quantized to int8 in blocks of 32 (absmax scale), and the packed weight codes are
// multiplied into it with integer dot products (AVX-512 VNNI, AVX-VNNI or AVX2 vpmaddubsw),
// so the kernel streams weights at memory speed instead of converting codes to float.
// Results differ from the float32 kernel by the activation rounding (|error| of one term
// <= |w| * d / 2, d = the block's absmax / 127). Leaf code.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/cpu/quantized_matmul.h"

namespace lamina::kernels {

// Activation values share one int8 scale per block of this many consecutive values.
inline constexpr int kInt8BlockSize = 32;

// From this many input rows on, a vector path prepares x for the GEMM kernel (weights
// unpacked once per strip of kGemmStripColumns output columns and reused by every row)
// instead of the matvec kernel (each weight unpacked per tile of 4 rows).
inline constexpr int64_t kInt8GemmMinRows = 16;
// Output columns of one GEMM strip: callers splitting [0, N) should cut at multiples of it.
inline constexpr int64_t kGemmStripColumns = 32;

// The integer dot-product paths, slowest first.
enum class Int8Isa { scalar, avx2, avx_vnni, avx512_vnni };

// The fastest path this CPU has: avx512_vnni (needs has_avx512()), avx_vnni, avx2 (vpmaddubsw)
// or the scalar reference. LAMINA_CPU_ISA=scalar / =avx2 caps it like the other kernels.
Int8Isa best_int8_isa();
const char* int8_isa_name(Int8Isa isa);

// True when `isa` has an int8 path for `bits`-bit codes. avx2 (no VNNI) multiplies byte pairs
// into int16 with saturation, exact only for codes <= 63: it has no 8-bit path.
bool int8_path_supported(int bits, Int8Isa isa);

// M input rows of K values quantized to int8 and laid out for one isa and bit width.
struct QuantizedInt8Input {
  std::vector<int8_t> values;      // [rows, padded_cols]: round(x / d), permuted within vector
                                   // chunks as the kernel unpacks codes; zero padding
  std::vector<float> lane_scales;  // [rows, padded_cols / lane_values]: d of each 32-bit
                                   // dot-product lane's block (zero padding)
  std::vector<float> group_sums;   // [rows, cols / group_size]: float32 sums of x
  int64_t rows = 0, cols = 0, padded_cols = 0;
  int group_size = 64, bits = 4;
  int lane_values = kInt8BlockSize;  // values of one row summed into one int32 lane
  Int8Isa isa = Int8Isa::scalar;
  bool gemm = false;  // natural order, one lane per block, for the GEMM kernel
};

// Quantizes x (M rows of K floats, row stride ldx; K a multiple of group_size) for
// quantized_matvec_int8 with a matrix of this group size and bit width on `isa`
// (int8_path_supported(bits, isa) must hold). A row block holding a NaN or infinity gets a
// NaN scale, so the products it touches come out NaN as in float arithmetic. With at least
// kInt8GemmMinRows rows on a vector isa, x is laid out for the GEMM kernel.
QuantizedInt8Input prepare_quantized_int8_input(const float* x, int64_t ldx, int64_t M, int64_t K,
                                                int group_size, int bits,
                                                Int8Isa isa = best_int8_isa());

// prepare_quantized_int8_input in two steps, so that rows can be quantized in parallel: the
// input laid out for M rows (values zero), then quantize_int8_rows fills rows
// [m_begin, m_end) of it from x (disjoint row ranges may run concurrently).
QuantizedInt8Input allocate_quantized_int8_input(int64_t M, int64_t K, int group_size, int bits,
                                                 Int8Isa isa = best_int8_isa());
void quantize_int8_rows(const float* x, int64_t ldx, int64_t m_begin, int64_t m_end,
                        QuantizedInt8Input& in);

// out[m * ldo + n] = sum_k x[m, k] * W[n, k] for every prepared row m and n in
// [n_begin, n_end), W[n, k] = scale * code + bias: per group, scale * sum(code * d * q) +
// bias * (float32 sum of x), with integer dot products on x's isa (a register-blocked GEMM
// when x was prepared for it).
void quantized_matvec_int8(const QuantizedMatrixView& w, const QuantizedInt8Input& x,
                           int64_t n_begin, int64_t n_end, float* out, int64_t ldo);

}  // namespace lamina::kernels
