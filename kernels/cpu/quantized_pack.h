// MLX affine group quantization of rows of float32 values: per-group scale/bias, packing
// of codes into a little-endian bit stream of uint32 words, and unpacking/dequantizing.
// Scalar reference code (quantizing is I/O bound; the matmul kernels are the hot path).
// Leaf code: raw pointers, no arrays.
#pragma once

#include <cstdint>

namespace lamina::kernels {

// The bit widths and group sizes MLX supports.
inline constexpr int kQuantBits[] = {2, 3, 4, 5, 6, 8};
inline constexpr int kQuantGroupSizes[] = {32, 64, 128};
// The smallest step MLX allows (a constant group would otherwise divide by zero).
inline constexpr float kQuantMinScale = 1e-7f;

// Element types scales and biases may be stored in.
enum class QuantScaleType { float32, float16, bfloat16 };

// MLX's scale and bias of one group of `group_size` values (float32 arithmetic, edge
// trick, round half to even), before they are stored in the weight's dtype.
void affine_group_params(const float* w, int group_size, int bits, float* scale, float* bias);

// Packs the codes of one row of K values (K % group_size == 0) with per-group float32
// params (scale, bias interleaved: params[2 * g], params[2 * g + 1]) into K * bits / 32
// words: code = clamp(rint((w - bias) / scale), 0, 2^bits - 1).
void affine_pack_row(const float* w, int64_t K, int group_size, int bits, const float* params,
                     uint32_t* packed);

// Packs the codes of one row as affine_pack_row does, the codes computed 8 at a time with
// AVX2 when `vector` (bit-identical: IEEE division and round-half-even either way).
void affine_pack_row_fast(const float* w, int64_t K, int group_size, int bits, const float* params,
                          uint32_t* packed, bool vector);
// affine_group_params for every group of a row (params interleaved), min/max with AVX2
// when `vector`.
void affine_row_params(const float* w, int64_t K, int group_size, int bits, float* params,
                       bool vector);

// Returns code `index` of a packed row.
inline uint32_t unpack_code(const uint32_t* packed, int64_t index, int bits) {
  const uint64_t bit = static_cast<uint64_t>(index) * static_cast<uint64_t>(bits);
  const uint64_t word = bit / 32, shift = bit % 32;
  uint64_t v = packed[word];
  if (shift + static_cast<uint64_t>(bits) > 32) v |= static_cast<uint64_t>(packed[word + 1]) << 32;
  return static_cast<uint32_t>((v >> shift) & ((1u << bits) - 1u));
}

// Reads element i of a scales/biases row as float32.
float load_scale(const void* data, QuantScaleType type, int64_t i);

// Dequantizes one row as MLX does: code * scale rounded to the scale type, then + bias
// rounded again (no fused multiply-add). dst holds K values of the scale type.
void affine_dequantize_row(const uint32_t* packed, const void* scales, const void* biases,
                           QuantScaleType type, int64_t K, int group_size, int bits, void* dst);

}  // namespace lamina::kernels
