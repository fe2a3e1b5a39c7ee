// MLX affine quantization: group params, bit packing and dequantization (scalar).
#include "kernels/cpu/quantized_pack.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/isa.h"
#include "libcore/array/half.h"

#if LAMINA_HAS_X86_KERNELS
#include <immintrin.h>
#endif

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

namespace {

// Appends each code (bits wide) to the row's bit stream.
void pack_codes(const uint8_t* codes, int64_t K, int bits, uint32_t* packed) {
  if (bits == 8 || bits == 4 || bits == 2) {
    const int per_word = 32 / bits;
    for (int64_t w = 0; w < K / per_word; ++w) {
      uint32_t word = 0;
      for (int j = 0; j < per_word; ++j) word |= static_cast<uint32_t>(codes[w * per_word + j]) << (j * bits);
      packed[w] = word;
    }
    return;
  }
  uint64_t acc = 0;
  int filled = 0;
  int64_t out = 0;
  for (int64_t k = 0; k < K; ++k) {
    acc |= static_cast<uint64_t>(codes[k]) << filled;
    filled += bits;
    if (filled >= 32) {
      packed[out++] = static_cast<uint32_t>(acc);
      acc >>= 32;
      filled -= 32;
    }
  }
}

#if LAMINA_HAS_X86_KERNELS
LAMINA_TARGET_AVX2 void codes_avx2(const float* w, int64_t K, int group_size, int bits,
                                   const float* params, uint8_t* codes) {
  const __m256 n_bins = _mm256_set1_ps(static_cast<float>((1 << bits) - 1));
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t g = 0; g < K / group_size; ++g) {
    const __m256 s = _mm256_set1_ps(params[2 * g]);
    const __m256 b = _mm256_set1_ps(params[2 * g + 1]);
    for (int64_t k = g * group_size; k < (g + 1) * group_size; k += 8) {
      __m256 q = _mm256_div_ps(_mm256_sub_ps(_mm256_loadu_ps(w + k), b), s);
      q = _mm256_round_ps(q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      q = _mm256_min_ps(_mm256_max_ps(q, zero), n_bins);
      const __m256i c = _mm256_cvtps_epi32(q);
      // 8 int32 in [0, 255] -> 8 bytes.
      const __m128i c16 = _mm_packus_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(codes + k), _mm_packus_epi16(c16, c16));
    }
  }
}

LAMINA_TARGET_AVX2 void min_max_avx2(const float* w, int n, float* lo, float* hi) {
  __m256 mn = _mm256_loadu_ps(w), mx = mn;
  for (int i = 8; i < n; i += 8) {
    const __m256 v = _mm256_loadu_ps(w + i);
    mn = _mm256_min_ps(mn, v);
    mx = _mm256_max_ps(mx, v);
  }
  alignas(32) float a[8], b[8];
  _mm256_store_ps(a, mn);
  _mm256_store_ps(b, mx);
  *lo = a[0];
  *hi = b[0];
  for (int i = 1; i < 8; ++i) {
    *lo = std::min(*lo, a[i]);
    *hi = std::max(*hi, b[i]);
  }
}
#endif

}  // namespace

void affine_row_params(const float* w, int64_t K, int group_size, int bits, float* params,
                       bool vector) {
  for (int64_t g = 0; g < K / group_size; ++g) {
#if LAMINA_HAS_X86_KERNELS
    if (vector) {
      // min/max of finite floats do not depend on the order they are taken in.
      float lo, hi;
      min_max_avx2(w + g * group_size, group_size, &lo, &hi);
      const float n_bins = static_cast<float>((1 << bits) - 1);
      float s = std::max((hi - lo) / n_bins, kQuantMinScale);
      const bool low_edge = std::abs(lo) > std::abs(hi);
      if (!low_edge) s = -s;
      const float edge = low_edge ? lo : hi;
      const float q0 = std::rint(edge / s);
      params[2 * g] = q0 != 0.0f ? edge / q0 : s;
      params[2 * g + 1] = q0 != 0.0f ? edge : 0.0f;
      continue;
    }
#endif
    affine_group_params(w + g * group_size, group_size, bits, params + 2 * g, params + 2 * g + 1);
  }
}

void affine_pack_row_fast(const float* w, int64_t K, int group_size, int bits, const float* params,
                          uint32_t* packed, bool vector) {
#if LAMINA_HAS_X86_KERNELS
  if (vector) {
    std::vector<uint8_t> codes(static_cast<size_t>(K));
    codes_avx2(w, K, group_size, bits, params, codes.data());
    pack_codes(codes.data(), K, bits, packed);
    return;
  }
#endif
  affine_pack_row(w, K, group_size, bits, params, packed);
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
