// MLX affine quantization: group params, bit packing and dequantization (scalar).
#include "kernels/cpu/quantized_pack.h"

#include <algorithm>
#include <cmath>

#include "libcore/array/half.h"

namespace lamina::kernels {

void affine_group_params(const float* w, int group_size, int bits, float* scale, float* bias) {
  const float n_bins = static_cast<float>((1 << bits) - 1);
  float lo = w[0], hi = w[0];
  for (int i = 1; i < group_size; ++i) {
    lo = std::min(lo, w[i]);
    hi = std::max(hi, w[i]);
  }
  float s = std::max((hi - lo) / n_bins, kQuantMinScale);
  const bool low_edge = std::abs(lo) > std::abs(hi);
  if (!low_edge) s = -s;
  const float edge = low_edge ? lo : hi;
  const float q0 = std::rint(edge / s);
  if (q0 != 0.0f) {
    *scale = edge / q0;
    *bias = edge;
  } else {
    *scale = s;
    *bias = 0.0f;
  }
}

void affine_pack_row(const float* w, int64_t K, int group_size, int bits, const float* params,
                     uint32_t* packed) {
  const float n_bins = static_cast<float>((1 << bits) - 1);
  uint64_t acc = 0;  // bit stream not yet written, LSB first
  int filled = 0;
  int64_t out = 0;
  for (int64_t k = 0; k < K; ++k) {
    const int64_t g = k / group_size;
    const float s = params[2 * g], b = params[2 * g + 1];
    const float q = std::min(std::max(std::rint((w[k] - b) / s), 0.0f), n_bins);
    acc |= static_cast<uint64_t>(static_cast<uint32_t>(q)) << filled;
    filled += bits;
    if (filled >= 32) {
      packed[out++] = static_cast<uint32_t>(acc);
      acc >>= 32;
      filled -= 32;
    }
  }
}

float load_scale(const void* data, QuantScaleType type, int64_t i) {
  switch (type) {
    case QuantScaleType::float32: return static_cast<const float*>(data)[i];
    case QuantScaleType::float16:
      return core::half_bits_to_float(static_cast<const uint16_t*>(data)[i]);
    case QuantScaleType::bfloat16:
      return core::bfloat_bits_to_float(static_cast<const uint16_t*>(data)[i]);
  }
  return 0.0f;
}

namespace {
template <typename T>
void dequantize_row_as(const uint32_t* packed, const void* scales, const void* biases,
                       QuantScaleType type, int64_t K, int group_size, int bits, T* dst) {
  for (int64_t k = 0; k < K; ++k) {
    const int64_t g = k / group_size;
    const float s = load_scale(scales, type, g), b = load_scale(biases, type, g);
    const float q = static_cast<float>(unpack_code(packed, k, bits));
    // Two roundings to T, as MLX computes it in T.
    const T product = static_cast<T>(q * s);
    dst[k] = static_cast<T>(static_cast<float>(product) + b);
  }
}
}  // namespace

void affine_dequantize_row(const uint32_t* packed, const void* scales, const void* biases,
                           QuantScaleType type, int64_t K, int group_size, int bits, void* dst) {
  switch (type) {
    case QuantScaleType::float32:
      return dequantize_row_as(packed, scales, biases, type, K, group_size, bits,
                               static_cast<float*>(dst));
    case QuantScaleType::float16:
      return dequantize_row_as(packed, scales, biases, type, K, group_size, bits,
                               static_cast<core::float16_t*>(dst));
    case QuantScaleType::bfloat16:
      return dequantize_row_as(packed, scales, biases, type, K, group_size, bits,
                               static_cast<core::bfloat16_t*>(dst));
  }
}

}  // namespace lamina::kernels
