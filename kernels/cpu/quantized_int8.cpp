// Int8-activation quantized matvec: activation quantization and layout, the scalar reference
// path, and the AVX2 / AVX-VNNI / AVX-512 VNNI paths, which share one kernel body
// (quantized_int8_kernel.inc) compiled once per instruction set.
#include "kernels/cpu/quantized_int8.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <type_traits>

#if LAMINA_HAS_X86_KERNELS
// GCC 12's AVX-512 intrinsics pass _mm512_undefined_*() as the unused merge operand, which
// -Wmaybe-uninitialized reports as a use of an uninitialized value (a false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

namespace lamina::kernels {

namespace {

// What the vector kernels read of a QuantizedInt8Input: plain pointers, so that the kernel
// body (compiled under target pragmas) instantiates no standard-library template.
struct PreparedRows {
  const int8_t* values;
  const float* lane_scales;
  const float* group_sums;
  int64_t rows, padded_cols;
  int lane_values;
};

PreparedRows rows_of(const QuantizedInt8Input& x) {
  return {x.values.data(), x.lane_scales.data(), x.group_sums.data(), x.rows, x.padded_cols,
          x.lane_values};
}

Int8Isa detect_int8_isa() {
  if (best_isa() == Isa::scalar) return Int8Isa::scalar;
  if (has_avx512_vnni()) return Int8Isa::avx512_vnni;
  if (has_avx_vnni()) return Int8Isa::avx_vnni;
  return Int8Isa::avx2;
}

// Bytes per vector of an isa's kernel (the scalar path keeps one lane per block).
int vector_bytes(Int8Isa isa) {
  switch (isa) {
    case Int8Isa::avx512_vnni: return 64;
    case Int8Isa::avx2:
    case Int8Isa::avx_vnni: return 32;
    case Int8Isa::scalar: return 0;
  }
  return 0;
}

constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23

// Codes per byte in the kernel's layout: 3/5/6-bit rows are unpacked to one code per byte.
int codes_per_byte(int bits) { return bits == 2 ? 4 : bits == 4 ? 2 : 1; }

// ---- scalar reference path (natural order, one lane per activation block) ----

void matvec_scalar(const QuantizedMatrixView& w, const QuantizedInt8Input& x, int64_t nb,
                   int64_t ne, float* out, int64_t ldo) {
  const int64_t K = w.cols, gs = w.group_size, groups = K / gs;
  const int64_t blocks_per_row = x.padded_cols / kInt8BlockSize;
  const int64_t words_per_row = K * w.bits / 32;
  for (int64_t n = nb; n < ne; ++n) {
    const uint32_t* row = w.weight + n * words_per_row;
    for (int64_t m = 0; m < x.rows; ++m) {
      const int8_t* q = x.values.data() + m * x.padded_cols;
      const float* d = x.lane_scales.data() + m * blocks_per_row;
      float total = 0.0f;
      for (int64_t g = 0; g < groups; ++g) {
        float group = 0.0f;
        for (int64_t b = g * gs / kInt8BlockSize; b < (g + 1) * gs / kInt8BlockSize; ++b) {
          int32_t dot = 0;
          for (int64_t k = b * kInt8BlockSize; k < (b + 1) * kInt8BlockSize; ++k) {
            dot += static_cast<int32_t>(unpack_code(row, k, w.bits)) * q[k];
          }
          group += d[b] * static_cast<float>(dot);
        }
        total += load_scale(w.scales, w.scale_type, n * groups + g) * group +
                 load_scale(w.biases, w.scale_type, n * groups + g) * x.group_sums[m * groups + g];
      }
      out[m * ldo + n] = total;
    }
  }
}

}  // namespace

#if LAMINA_HAS_X86_KERNELS

// Always inlined, so that a helper of one instruction set never stays an out-of-line call.
#define LAMINA_INT8_INLINE inline __attribute__((always_inline))

// ---- AVX2: 32-byte vectors, vpmaddubsw (u8 x s8 -> int16 pairs) + vpmaddwd ----
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,bmi2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,bmi2")
#endif
namespace int8_avx2 {
namespace {
struct Vec {
  using I = __m256i;
  using F = __m256;
  static constexpr int kBytes = 32, kLanes = 8;
  static LAMINA_INT8_INLINE I load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
  static LAMINA_INT8_INLINE I zero() { return _mm256_setzero_si256(); }
  static LAMINA_INT8_INLINE I set1_8(int v) { return _mm256_set1_epi8(static_cast<char>(v)); }
  static LAMINA_INT8_INLINE I and_(I a, I b) { return _mm256_and_si256(a, b); }
  static LAMINA_INT8_INLINE I srl16(I a, int n) { return _mm256_srl_epi16(a, _mm_cvtsi32_si128(n)); }
  // Two u8 x s8 products summed into int16 saturate beyond 32767: exact for codes <= 63
  // (2 * 63 * 128 < 32768), so this path takes no 8-bit codes.
  static LAMINA_INT8_INLINE I dot(I acc, I u, I s) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
  }
  static LAMINA_INT8_INLINE F cvt(I a) { return _mm256_cvtepi32_ps(a); }
  static LAMINA_INT8_INLINE F loadf(const float* p) { return _mm256_loadu_ps(p); }
  static LAMINA_INT8_INLINE F zerof() { return _mm256_setzero_ps(); }
  static LAMINA_INT8_INLINE F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static LAMINA_INT8_INLINE F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static LAMINA_INT8_INLINE F permute(F v, I index) { return _mm256_permutevar8x32_ps(v, index); }
  static LAMINA_INT8_INLINE I set1_32(int32_t v) { return _mm256_set1_epi32(v); }
  static LAMINA_INT8_INLINE F set1f(float v) { return _mm256_set1_ps(v); }
  static LAMINA_INT8_INLINE void storef(float* p, F v) { _mm256_storeu_ps(p, v); }
  static LAMINA_INT8_INLINE float hsum(F v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};
#include "kernels/cpu/quantized_int8_kernel.inc"
// No fast strip packer on 256-bit vectors: the generic pdep loop runs.
template <int Bits>
LAMINA_INT8_INLINE bool pack_codes_fast(const uint8_t*, int64_t, int64_t, int64_t, int64_t, uint8_t*) {
  return false;
}
// 16 columns x 2 rows: 4 int32 + 4 float accumulators of the 16 ymm registers.
constexpr int kGemmVectors = 2, kGemmRows = 2;
#include "kernels/cpu/quantized_int8_gemm_kernel.inc"
}  // namespace
}  // namespace int8_avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

// ---- AVX-VNNI: the AVX2 vectors with vpdpbusd (u8 x s8, four products into int32) ----
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,bmi2,avxvnni"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,bmi2,avxvnni")
#endif
namespace int8_avx_vnni {
namespace {
struct Vec : int8_avx2::Vec {
  static LAMINA_INT8_INLINE I dot(I acc, I u, I s) { return _mm256_dpbusd_avx_epi32(acc, u, s); }
};
#include "kernels/cpu/quantized_int8_kernel.inc"
// No fast strip packer on 256-bit vectors: the generic pdep loop runs.
template <int Bits>
LAMINA_INT8_INLINE bool pack_codes_fast(const uint8_t*, int64_t, int64_t, int64_t, int64_t, uint8_t*) {
  return false;
}
constexpr int kGemmVectors = 2, kGemmRows = 2;
#include "kernels/cpu/quantized_int8_gemm_kernel.inc"
}  // namespace
}  // namespace int8_avx_vnni
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

// ---- AVX-512 VNNI: 64-byte vectors, vpdpbusd ----
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c,bmi2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c,bmi2")
#endif
namespace int8_avx512_vnni {
namespace {
struct Vec {
  using I = __m512i;
  using F = __m512;
  static constexpr int kBytes = 64, kLanes = 16;
  static LAMINA_INT8_INLINE I load(const void* p) { return _mm512_loadu_si512(p); }
  static LAMINA_INT8_INLINE I zero() { return _mm512_setzero_si512(); }
  static LAMINA_INT8_INLINE I set1_8(int v) { return _mm512_set1_epi8(static_cast<char>(v)); }
  static LAMINA_INT8_INLINE I and_(I a, I b) { return _mm512_and_si512(a, b); }
  static LAMINA_INT8_INLINE I srl16(I a, int n) { return _mm512_srl_epi16(a, _mm_cvtsi32_si128(n)); }
  static LAMINA_INT8_INLINE I dot(I acc, I u, I s) { return _mm512_dpbusd_epi32(acc, u, s); }
  static LAMINA_INT8_INLINE F cvt(I a) { return _mm512_cvtepi32_ps(a); }
  static LAMINA_INT8_INLINE F loadf(const float* p) { return _mm512_loadu_ps(p); }
  static LAMINA_INT8_INLINE F zerof() { return _mm512_setzero_ps(); }
  static LAMINA_INT8_INLINE F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static LAMINA_INT8_INLINE F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static LAMINA_INT8_INLINE F permute(F v, I index) { return _mm512_permutexvar_ps(index, v); }
  static LAMINA_INT8_INLINE I set1_32(int32_t v) { return _mm512_set1_epi32(v); }
  static LAMINA_INT8_INLINE F set1f(float v) { return _mm512_set1_ps(v); }
  static LAMINA_INT8_INLINE void storef(float* p, F v) { _mm512_storeu_ps(p, v); }
  static LAMINA_INT8_INLINE float hsum(F v) { return _mm512_reduce_add_ps(v); }
};
#include "kernels/cpu/quantized_int8_kernel.inc"
// 32 columns x 4 rows: 8 int32 + 8 float accumulators of the 32 zmm registers.
// Packs a full strip of 4- or 8-bit codes 16 columns at a time: each gather reads 4 bytes
// (8 or 4 codes) of 16 weight rows. Other widths and partial strips return false (the
// generic pdep loop runs).
template <int Bits>
LAMINA_INT8_INLINE bool pack_codes_fast(const uint8_t* weights, int64_t row_bytes, int64_t n0,
                                        int64_t count, int64_t K, uint8_t* codes) {
  if constexpr (Bits != 4 && Bits != 8) {
    return false;
  } else {
    constexpr int64_t kStride = kGemmStripColumns * 4;  // bytes per 4-code step of a strip
    if (count != kGemmStripColumns || row_bytes * 16 > (int64_t{1} << 30)) return false;
    const __m512i offsets = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(static_cast<int32_t>(row_bytes)));
    // 4 bits: after unpacklo/hi, dword 4L + r of a (b) holds codes 4r'..4r'+3 of column 4L
    // + r / 2 (+ 2) with r' = r % 2; these pick steps 0 (index) and 1 (index + 1) per column.
    const __m512i even = _mm512_setr_epi32(0, 2, 16, 18, 4, 6, 20, 22, 8, 10, 24, 26, 12, 14, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i nibbles = _mm512_set1_epi8(0x0F);
    for (int64_t c = 0; c < count; c += 16) {
      const uint8_t* base = weights + (n0 + c) * row_bytes;
      uint8_t* dst = codes + c * 4;
      if constexpr (Bits == 8) {
        for (int64_t k4 = 0; k4 < K / 4; ++k4) {
          _mm512_storeu_si512(dst + k4 * kStride, _mm512_i32gather_epi32(offsets, base + 4 * k4, 1));
        }
      } else {
        for (int64_t k8 = 0; k8 < K / 8; ++k8) {
          const __m512i x = _mm512_i32gather_epi32(offsets, base + 4 * k8, 1);
          const __m512i lo = _mm512_and_si512(x, nibbles);
          const __m512i hi = _mm512_and_si512(_mm512_srli_epi32(x, 4), nibbles);
          const __m512i a = _mm512_unpacklo_epi8(lo, hi), b = _mm512_unpackhi_epi8(lo, hi);
          _mm512_storeu_si512(dst + 2 * k8 * kStride, _mm512_permutex2var_epi32(a, even, b));
          _mm512_storeu_si512(dst + (2 * k8 + 1) * kStride, _mm512_permutex2var_epi32(a, odd, b));
        }
      }
    }
    return true;
  }
}
constexpr int kGemmVectors = 2, kGemmRows = 4;
#include "kernels/cpu/quantized_int8_gemm_kernel.inc"
}  // namespace
}  // namespace int8_avx512_vnni
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#undef LAMINA_INT8_INLINE

namespace {

// Calls fn(std::integral_constant<int, bits>) for a supported bit width.
template <typename Fn>
void dispatch_bits(int bits, Fn&& fn) {
  switch (bits) {
    case 2: return fn(std::integral_constant<int, 2>{});
    case 3: return fn(std::integral_constant<int, 3>{});
    case 4: return fn(std::integral_constant<int, 4>{});
    case 5: return fn(std::integral_constant<int, 5>{});
    case 6: return fn(std::integral_constant<int, 6>{});
    case 8: return fn(std::integral_constant<int, 8>{});
    default: return;
  }
}

void gemm_vector(const QuantizedMatrixView& w, const QuantizedInt8Input& x, int64_t nb,
                 int64_t ne, float* out, int64_t ldo) {
  const int64_t groups = w.cols / w.group_size;
  std::vector<uint8_t> codes(static_cast<size_t>(w.cols * kGemmStripColumns));
  std::vector<float> params(static_cast<size_t>(2 * groups * kGemmStripColumns + 2 * groups));
  const PreparedRows rows = rows_of(x);
  dispatch_bits(w.bits, [&](auto bits_constant) {
    constexpr int Bits = decltype(bits_constant)::value;
    float* biases = params.data() + groups * kGemmStripColumns;
    switch (x.isa) {
      case Int8Isa::avx512_vnni:
        return int8_avx512_vnni::gemm<Bits>(w, rows, nb, ne, out, ldo, {codes.data(), params.data(), biases, biases + groups * kGemmStripColumns});
      case Int8Isa::avx_vnni:
        return int8_avx_vnni::gemm<Bits>(w, rows, nb, ne, out, ldo, {codes.data(), params.data(), biases, biases + groups * kGemmStripColumns});
      case Int8Isa::avx2:
        if constexpr (Bits != 8) return int8_avx2::gemm<Bits>(w, rows, nb, ne, out, ldo, {codes.data(), params.data(), biases, biases + groups * kGemmStripColumns});
        return;
      case Int8Isa::scalar: return;
    }
  });
}

void matvec_vector(const QuantizedMatrixView& w, const QuantizedInt8Input& x, int64_t nb,
                   int64_t ne, float* out, int64_t ldo) {
  const int64_t groups = w.cols / w.group_size;
  std::vector<float> params(static_cast<size_t>(2 * groups + 16), 0.0f);
  std::vector<uint8_t> codes(static_cast<size_t>(x.padded_cols + 64), 0);
  alignas(64) uint8_t tail[64];
  const PreparedRows rows = rows_of(x);
  dispatch_bits(w.bits, [&](auto bits_constant) {
    constexpr int Bits = decltype(bits_constant)::value;
    switch (x.isa) {
      case Int8Isa::avx512_vnni: {
        const int8_avx512_vnni::RowScratch s{params.data(), params.data() + groups + 16, codes.data(), tail};
        return int8_avx512_vnni::matvec<Bits>(w, rows, nb, ne, out, ldo, s);
      }
      case Int8Isa::avx_vnni: {
        const int8_avx_vnni::RowScratch s{params.data(), params.data() + groups + 16, codes.data(), tail};
        return int8_avx_vnni::matvec<Bits>(w, rows, nb, ne, out, ldo, s);
      }
      case Int8Isa::avx2:
        if constexpr (Bits != 8) {
          const int8_avx2::RowScratch s{params.data(), params.data() + groups + 16, codes.data(), tail};
          return int8_avx2::matvec<Bits>(w, rows, nb, ne, out, ldo, s);
        }
        return;
      case Int8Isa::scalar: return;
    }
  });
}

}  // namespace

#endif  // LAMINA_HAS_X86_KERNELS

Int8Isa best_int8_isa() {
  static const Int8Isa isa = detect_int8_isa();
  return isa;
}

const char* int8_isa_name(Int8Isa isa) {
  switch (isa) {
    case Int8Isa::scalar: return "scalar";
    case Int8Isa::avx2: return "avx2";
    case Int8Isa::avx_vnni: return "avx-vnni";
    case Int8Isa::avx512_vnni: return "avx512-vnni";
  }
  return "?";
}

bool int8_path_supported(int bits, Int8Isa isa) {
  if (bits != 2 && bits != 3 && bits != 4 && bits != 5 && bits != 6 && bits != 8) return false;
#if !LAMINA_HAS_X86_KERNELS
  if (isa != Int8Isa::scalar) return false;
#endif
  return !(isa == Int8Isa::avx2 && bits == 8);
}

QuantizedInt8Input allocate_quantized_int8_input(int64_t M, int64_t K, int group_size, int bits,
                                                 Int8Isa isa) {
  QuantizedInt8Input in;
  in.rows = M;
  in.cols = K;
  in.group_size = group_size;
  in.bits = bits;
  in.isa = isa;
  in.gemm = isa != Int8Isa::scalar && M >= kInt8GemmMinRows && int8_path_supported(bits, isa);
  // The scalar path and the GEMM read natural order, one scale per block.
  const bool natural_order = isa == Int8Isa::scalar || in.gemm;
  const int per_byte = natural_order ? 1 : codes_per_byte(bits);
  // A vector chunk holds vector_bytes * per_byte values; an int32 lane sums 4 bytes of each
  // of the per_byte sub-vectors, i.e. 4 * per_byte consecutive values.
  const int64_t chunk = natural_order ? kInt8BlockSize : int64_t{vector_bytes(isa)} * per_byte;
  in.lane_values = natural_order ? kInt8BlockSize : 4 * per_byte;
  in.padded_cols = (K + chunk - 1) / chunk * chunk;
  const int64_t groups = K / group_size, lanes = in.padded_cols / in.lane_values;
  in.values.assign(static_cast<size_t>(M * in.padded_cols), 0);
  in.lane_scales.assign(static_cast<size_t>(M * lanes), 0.0f);
  in.group_sums.resize(static_cast<size_t>(M * groups));
  return in;
}

void quantize_int8_rows(const float* x, int64_t ldx, int64_t m_begin, int64_t m_end,
                        QuantizedInt8Input& in) {
  const int64_t K = in.cols, group_size = in.group_size;
  const bool natural_order = in.lane_values == kInt8BlockSize;
  const int per_byte = natural_order ? 1 : codes_per_byte(in.bits);
  const int64_t chunk = natural_order ? kInt8BlockSize : int64_t{vector_bytes(in.isa)} * per_byte;
  const int64_t groups = K / group_size, lanes = in.padded_cols / in.lane_values;
  std::vector<int8_t> natural(natural_order ? 0 : static_cast<size_t>(in.padded_cols));
  std::vector<float> block_scales(static_cast<size_t>(K / kInt8BlockSize));
  for (int64_t m = m_begin; m < m_end; ++m) {
    const float* src = x + m * ldx;
    // Natural order: the codes go straight into the row (zero padded already).
    int8_t* codes = natural_order ? in.values.data() + m * in.padded_cols : natural.data();
    if (!natural_order) std::fill(natural.begin(), natural.end(), int8_t{0});
    for (int64_t b = 0; b < K / kInt8BlockSize; ++b) {
      const float* xb = src + b * kInt8BlockSize;
      float amax = 0.0f;
      bool finite = true;  // std::max drops a NaN, so it is looked for separately
      for (int i = 0; i < kInt8BlockSize; ++i) {
        const float a = std::fabs(xb[i]);
        amax = std::max(amax, a);
        finite &= a <= std::numeric_limits<float>::max();
      }
      if (!finite) {
        // NaN * 0 is NaN: the codes stay 0 and the NaN scale carries the non-finite value.
        block_scales[static_cast<size_t>(b)] = std::numeric_limits<float>::quiet_NaN();
        std::fill(codes + b * kInt8BlockSize, codes + (b + 1) * kInt8BlockSize, int8_t{0});
        continue;
      }
      const float d = amax / 127.0f;
      const float inverse = d > 0.0f ? 1.0f / d : 0.0f;
      block_scales[static_cast<size_t>(b)] = d;
      for (int i = 0; i < kInt8BlockSize; ++i) {
        // |x * inverse| <= 127 up to rounding; the clamp keeps 127.00001 in range. Adding and
        // subtracting 1.5 * 2^23 rounds to nearest even (|v| < 2^22) without a libm call per
        // value (std::nearbyint is one on baseline x86-64), and the loop vectorizes.
        const float v = std::clamp(xb[i] * inverse, -127.0f, 127.0f);
        const float q = (v + kRoundMagic) - kRoundMagic;
        codes[b * kInt8BlockSize + i] = static_cast<int8_t>(q);
      }
    }
    if (!natural_order) {
      // Within each chunk, sub-vector v byte k takes value per_byte * k + v (the codes of
      // byte k of the packed weight chunk, low bits first).
      int8_t* dst = in.values.data() + m * in.padded_cols;
      const int64_t sub = chunk / per_byte;
      for (int64_t c = 0; c < in.padded_cols; c += chunk) {
        for (int v = 0; v < per_byte; ++v) {
          for (int64_t k = 0; k < sub; ++k) dst[c + v * sub + k] = natural[static_cast<size_t>(c + per_byte * k + v)];
        }
      }
    }
    float* lane_d = in.lane_scales.data() + m * lanes;
    for (int64_t l = 0; l < lanes; ++l) {
      const int64_t first = l * in.lane_values;
      if (first < K) lane_d[l] = block_scales[static_cast<size_t>(first / kInt8BlockSize)];
    }
    // Eight interleaved partial sums (a single chain is one dependent add per value; group
    // sizes are multiples of 8), added pairwise.
    for (int64_t g = 0; g < groups; ++g) {
      float part[8] = {};
      for (int64_t k = g * group_size; k < (g + 1) * group_size; k += 8) {
        for (int j = 0; j < 8; ++j) part[j] += src[k + j];
      }
      in.group_sums[static_cast<size_t>(m * groups + g)] =
          ((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7]));
    }
  }
}

QuantizedInt8Input prepare_quantized_int8_input(const float* x, int64_t ldx, int64_t M, int64_t K,
                                                int group_size, int bits, Int8Isa isa) {
  QuantizedInt8Input in = allocate_quantized_int8_input(M, K, group_size, bits, isa);
  quantize_int8_rows(x, ldx, 0, M, in);
  return in;
}

void quantized_matvec_int8(const QuantizedMatrixView& w, const QuantizedInt8Input& x,
                           int64_t n_begin, int64_t n_end, float* out, int64_t ldo) {
  if (n_end <= n_begin || x.rows == 0) return;
#if LAMINA_HAS_X86_KERNELS
  if (x.isa != Int8Isa::scalar && int8_path_supported(w.bits, x.isa)) {
    if (x.gemm) gemm_vector(w, x, n_begin, n_end, out, ldo);
    else matvec_vector(w, x, n_begin, n_end, out, ldo);
    return;
  }
#endif
  matvec_scalar(w, x, n_begin, n_end, out, ldo);
}

}  // namespace lamina::kernels
