// Quantized matrix products without dequantizing whole matrices: a direct kernel for a
// few input rows (decode: every weight is unpacked once and used for up to 4 rows) and
// a row-panel dequantizer for larger products (prefill: panels go through sgemm). Each
// has a scalar reference path and AVX2 / AVX-512 paths picked at run time. Leaf code.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/quantized_pack.h"

namespace lamina::kernels {

enum class QuantIsa { scalar, avx2, avx512 };

// The best instruction set for the quantized kernels: avx512 (F, BW, VL) when the CPU has
// it, else best_isa()'s choice. LAMINA_CPU_ISA=scalar or =avx2 caps it.
QuantIsa best_quant_isa();
const char* quant_isa_name(QuantIsa isa);

// A packed affine-quantized matrix W [rows, cols], groups of group_size along cols:
// row r's codes are weight[r * cols * bits / 32 ...], its scales/biases at r * cols / group_size.
struct QuantizedMatrixView {
  const uint32_t* weight = nullptr;
  const void* scales = nullptr;
  const void* biases = nullptr;
  QuantScaleType scale_type = QuantScaleType::float32;
  int64_t rows = 0, cols = 0;
  int group_size = 64, bits = 4;
};

// M input rows of length K laid out for one isa's unpack order, with the sum of each group
// of each row (the bias term of a group is bias * sum(x over the group)).
struct QuantizedInput {
  std::vector<float> values;      // [M, K], permuted within blocks as the kernel unpacks
  std::vector<float> group_sums;  // [M, K / group_size]
  int64_t rows = 0, cols = 0;
  int group_size = 64;
};

// Prepares x (M rows of K floats, row stride ldx) for quantized_matvec with a matrix of this
// group size and bit width.
QuantizedInput prepare_quantized_input(const float* x, int64_t ldx, int64_t M, int64_t K,
                                       int group_size, int bits, QuantIsa isa = best_quant_isa());

// out[m * ldo + n] = sum_k x[m, k] * W[n, k] for every prepared row m and n in
// [n_begin, n_end), with W[n, k] = scale * code + bias; accumulates in float32.
// `x` must have been prepared for the same isa.
void quantized_matvec(const QuantizedMatrixView& w, const QuantizedInput& x, int64_t n_begin,
                      int64_t n_end, float* out, int64_t ldo, QuantIsa isa = best_quant_isa());

// dst[(n - n_begin) * ld + k] = W[n, k] (scale * code + bias in float32) for n in
// [n_begin, n_end) and every k.
void quantized_dequantize_rows(const QuantizedMatrixView& w, int64_t n_begin, int64_t n_end,
                               float* dst, int64_t ld, QuantIsa isa = best_quant_isa());

}  // namespace lamina::kernels
