// Quantized matvec and row dequantization: scalar reference paths and AVX2 / AVX-512
// paths (target attributes, chosen at run time). A group's contribution to a dot product
// is scale * sum(x * code) + bias * sum(x): the codes are converted to float and
// multiplied into x directly, the scale is applied once per group and the bias through the
// input's precomputed group sums. For 4 bits the vector paths unpack the low nibbles of
// a block, then the high ones, so x is stored permuted the same way once per call.
#include "kernels/cpu/quantized_matmul.h"

#include <cstdlib>
#include <cstring>
#include <type_traits>

#if LAMINA_HAS_X86_KERNELS
// GCC 12's AVX-512 intrinsics pass _mm512_undefined_*() as the unused merge operand, which
// -Wmaybe-uninitialized reports as a use of an uninitialized value (a false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define LAMINA_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#endif

namespace lamina::kernels {

namespace {

QuantIsa detect_quant_isa() {
  if (best_isa() == Isa::scalar) return QuantIsa::scalar;
  const char* env = std::getenv("LAMINA_CPU_ISA");
  if (env && std::strcmp(env, "avx2") == 0) return QuantIsa::avx2;
#if LAMINA_HAS_X86_KERNELS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl")) {
    return QuantIsa::avx512;
  }
#endif
  return QuantIsa::avx2;
}

// Codes per vector block for which the vector path stores x permuted (4 bits), else 0.
int permuted_block(int bits, QuantIsa isa) {
  if (bits != 4) return 0;
  if (isa == QuantIsa::avx512) return 32;
  if (isa == QuantIsa::avx2) return 16;
  return 0;
}

// Scales and biases of one row as float32, interleaved (scale, bias) per group.
void load_row_params(const QuantizedMatrixView& w, int64_t n, float* params) {
  const int64_t groups = w.cols / w.group_size;
  for (int64_t g = 0; g < groups; ++g) {
    params[2 * g] = load_scale(w.scales, w.scale_type, n * groups + g);
    params[2 * g + 1] = load_scale(w.biases, w.scale_type, n * groups + g);
  }
}

const uint32_t* row_words(const QuantizedMatrixView& w, int64_t n) {
  return w.weight + n * (w.cols * w.bits / 32);
}

// ---- scalar reference paths ----

void matvec_scalar(const QuantizedMatrixView& w, const QuantizedInput& x, int64_t nb, int64_t ne,
                   float* out, int64_t ldo) {
  const int64_t K = w.cols, gs = w.group_size, groups = K / gs;
  std::vector<float> params(static_cast<size_t>(2 * groups));
  for (int64_t n = nb; n < ne; ++n) {
    load_row_params(w, n, params.data());
    const uint32_t* row = row_words(w, n);
    for (int64_t m = 0; m < x.rows; ++m) {
      const float* xr = x.values.data() + m * K;
      float total = 0.0f;
      for (int64_t g = 0; g < groups; ++g) {
        float acc = 0.0f;
        for (int64_t k = g * gs; k < (g + 1) * gs; ++k) {
          acc += xr[k] * static_cast<float>(unpack_code(row, k, w.bits));
        }
        total += params[2 * g] * acc + params[2 * g + 1] * x.group_sums[m * groups + g];
      }
      out[m * ldo + n] = total;
    }
  }
}

void dequantize_scalar(const QuantizedMatrixView& w, int64_t nb, int64_t ne, float* dst,
                       int64_t ld) {
  const int64_t K = w.cols, groups = K / w.group_size;
  std::vector<float> params(static_cast<size_t>(2 * groups));
  for (int64_t n = nb; n < ne; ++n) {
    load_row_params(w, n, params.data());
    const uint32_t* row = row_words(w, n);
    float* d = dst + (n - nb) * ld;
    for (int64_t k = 0; k < K; ++k) {
      const int64_t g = k / w.group_size;
      d[k] = params[2 * g] * static_cast<float>(unpack_code(row, k, w.bits)) + params[2 * g + 1];
    }
  }
}

#if LAMINA_HAS_X86_KERNELS

// Row n's scales and biases as float32 (scales[g], biases[g]): float16 through F16C,
// bfloat16 by shifting, 8 at a time (the scalar conversion costs as much as a 4-bit row).
LAMINA_TARGET_AVX2 void convert_params_avx2(const void* src, QuantScaleType type, int64_t offset,
                                            int64_t n, float* dst) {
  if (type == QuantScaleType::float32) {
    std::memcpy(dst, static_cast<const float*>(src) + offset, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  const uint16_t* h = static_cast<const uint16_t*>(src) + offset;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i));
    const __m256 f = type == QuantScaleType::float16
                         ? _mm256_cvtph_ps(v)
                         : _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(v), 16));
    _mm256_storeu_ps(dst + i, f);
  }
  for (; i < n; ++i) dst[i] = load_scale(src, type, offset + i);
}

LAMINA_TARGET_AVX2 void load_row_params_avx2(const QuantizedMatrixView& w, int64_t n, float* scales,
                                             float* biases) {
  const int64_t groups = w.cols / w.group_size;
  convert_params_avx2(w.scales, w.scale_type, n * groups, groups, scales);
  convert_params_avx2(w.biases, w.scale_type, n * groups, groups, biases);
}

// ---- AVX-512 paths (16 lanes) ----

// Byte-gather indices and shifts that put code j of a 16-code block of `bits`-bit codes
// (2 * bits bytes, natural order) into 32-bit lane j.
struct Unpack16 {
  alignas(64) int8_t index[64];
  alignas(64) int32_t shift[16];
  explicit Unpack16(int bits) {
    for (int lane = 0; lane < 4; ++lane) {
      for (int j = 0; j < 4; ++j) {
        const int code = lane * 4 + j;
        const int byte = code * bits / 8;
        int8_t* idx = index + lane * 16 + j * 4;
        idx[0] = static_cast<int8_t>(byte);
        idx[1] = static_cast<int8_t>(byte + 1 < 16 ? byte + 1 : 0x80);
        idx[2] = static_cast<int8_t>(0x80);
        idx[3] = static_cast<int8_t>(0x80);
        shift[code] = code * bits % 8;
      }
    }
  }
};

template <int Bits>
const Unpack16& unpack16() {
  static const Unpack16 u(Bits);
  return u;
}

// Codes of one block as float vectors; Bits = 4 gives the permuted order, others natural.
template <int Bits>
struct Avx512Block {
  static constexpr int kCodes = Bits == 4 ? 32 : 16;
  static constexpr int kVectors = kCodes / 16;
  static constexpr int kBytes = kCodes * Bits / 8;
};

template <int Bits, bool kNatural>
LAMINA_TARGET_AVX512 inline void unpack_avx512(const uint8_t* p, __m512* q, const __m512i& index,
                                               const __m512i& shift) {
  if constexpr (Bits == 8) {
    q[0] = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  } else if constexpr (Bits == 4 && !kNatural) {
    const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    q[0] = _mm512_cvtepi32_ps(_mm512_and_si512(v, _mm512_set1_epi32(0xF)));
    q[1] = _mm512_cvtepi32_ps(_mm512_srli_epi32(v, 4));
  } else {
    constexpr int kBytes = 2 * Bits;  // 16 codes
    const __m128i raw = _mm_maskz_loadu_epi8(static_cast<__mmask16>((1u << kBytes) - 1u), p);
    __m512i v = _mm512_shuffle_epi8(_mm512_broadcast_i32x4(raw), index);
    v = _mm512_and_si512(_mm512_srlv_epi32(v, shift), _mm512_set1_epi32((1 << Bits) - 1));
    q[0] = _mm512_cvtepi32_ps(v);
  }
}

// One group's dot products go into kChains independent accumulators (the group size is a
// template argument so the block loop unrolls and they stay in registers): a single
// accumulator would make every group a chain of dependent FMAs, latency- not port-bound.
template <int Bits, int MR, int GS>
LAMINA_TARGET_AVX512 void matvec_avx512(const QuantizedMatrixView& w, const float* xv,
                                        const float* xsum, int64_t nb, int64_t ne, float* out,
                                        int64_t ldo) {
  using B = Avx512Block<Bits>;
  constexpr int kBlocks = GS / B::kCodes;
  constexpr int kVecs = kBlocks * B::kVectors;
  constexpr int kChains = kVecs < (MR == 1 ? 4 : 2) ? kVecs : (MR == 1 ? 4 : 2);
  const int64_t K = w.cols, groups = K / GS;
  constexpr int64_t kGroupBytes = GS * Bits / 8;
  const Unpack16& u = unpack16<Bits>();
  const __m512i index = _mm512_load_si512(u.index);
  const __m512i shift = _mm512_load_si512(u.shift);
  std::vector<float> params(static_cast<size_t>(2 * groups));
  float* scales = params.data();
  float* biases = params.data() + groups;
  for (int64_t n = nb; n < ne; ++n) {
    load_row_params_avx2(w, n, scales, biases);
    const uint8_t* row = reinterpret_cast<const uint8_t*>(row_words(w, n));
    __m512 total[MR];
    __m512 bias_total[MR];
    for (int m = 0; m < MR; ++m) {
      total[m] = _mm512_setzero_ps();
      bias_total[m] = _mm512_setzero_ps();
    }
    for (int64_t g = 0; g < groups; ++g) {
      const uint8_t* p = row + g * kGroupBytes;
      const float* xg = xv + g * GS;
      __m512 acc[MR][kChains];
      for (int m = 0; m < MR; ++m) {
        for (int c = 0; c < kChains; ++c) acc[m][c] = _mm512_setzero_ps();
      }
#pragma GCC unroll 16
      for (int blk = 0; blk < kBlocks; ++blk) {
        __m512 q[B::kVectors];
        unpack_avx512<Bits, false>(p + blk * B::kBytes, q, index, shift);
#pragma GCC unroll 4
        for (int v = 0; v < B::kVectors; ++v) {
          for (int m = 0; m < MR; ++m) {
            __m512& a = acc[m][(blk * B::kVectors + v) % kChains];
            a = _mm512_fmadd_ps(q[v], _mm512_loadu_ps(xg + m * K + blk * B::kCodes + 16 * v), a);
          }
        }
      }
      const __m512 s = _mm512_set1_ps(scales[g]);
      for (int m = 0; m < MR; ++m) {
        __m512 sum = acc[m][0];
        for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[m][c]);
        total[m] = _mm512_fmadd_ps(sum, s, total[m]);
      }
    }
    // The bias terms: sum over groups of bias * sum(x over the group), 16 groups at a time.
    int64_t g = 0;
    for (; g + 16 <= groups; g += 16) {
      const __m512 b = _mm512_loadu_ps(biases + g);
      for (int m = 0; m < MR; ++m) {
        bias_total[m] = _mm512_fmadd_ps(b, _mm512_loadu_ps(xsum + m * groups + g), bias_total[m]);
      }
    }
    for (int m = 0; m < MR; ++m) {
      float tail = 0.0f;
      for (int64_t t = g; t < groups; ++t) tail += biases[t] * xsum[m * groups + t];
      out[m * ldo + n] = _mm512_reduce_add_ps(_mm512_add_ps(total[m], bias_total[m])) + tail;
    }
  }
}

template <int Bits>
LAMINA_TARGET_AVX512 void dequantize_avx512(const QuantizedMatrixView& w, int64_t nb, int64_t ne,
                                            float* dst, int64_t ld) {
  const int64_t K = w.cols, gs = w.group_size, groups = K / gs;
  const Unpack16& u = unpack16<Bits>();
  const __m512i index = _mm512_load_si512(u.index);
  const __m512i shift = _mm512_load_si512(u.shift);
  std::vector<float> params(static_cast<size_t>(2 * groups));
  float* scales = params.data();
  float* biases = params.data() + groups;
  for (int64_t n = nb; n < ne; ++n) {
    load_row_params_avx2(w, n, scales, biases);
    const uint8_t* p = reinterpret_cast<const uint8_t*>(row_words(w, n));
    float* d = dst + (n - nb) * ld;
    for (int64_t g = 0; g < groups; ++g) {
      const __m512 s = _mm512_set1_ps(scales[g]);
      const __m512 b = _mm512_set1_ps(biases[g]);
      for (int64_t c = 0; c < gs; c += 16, p += 2 * Bits) {
        __m512 q;
        unpack_avx512<Bits, true>(p, &q, index, shift);
        _mm512_storeu_ps(d + g * gs + c, _mm512_fmadd_ps(q, s, b));
      }
    }
  }
}

// ---- AVX2 paths (8 lanes) ----

// Byte-gather indices and shifts that put code j of an 8-code block (bits bytes) in lane j.
struct Unpack8 {
  alignas(32) int8_t index[32];
  alignas(32) int32_t shift[8];
  explicit Unpack8(int bits) {
    for (int code = 0; code < 8; ++code) {
      const int byte = code * bits / 8;
      const int lane_base = code < 4 ? 0 : 16;  // pshufb works within 128-bit halves
      int8_t* idx = index + lane_base + (code % 4) * 4;
      idx[0] = static_cast<int8_t>(byte);
      idx[1] = static_cast<int8_t>(byte + 1 < 8 ? byte + 1 : 0x80);
      idx[2] = static_cast<int8_t>(0x80);
      idx[3] = static_cast<int8_t>(0x80);
      shift[code] = code * bits % 8;
    }
  }
};

template <int Bits>
const Unpack8& unpack8() {
  static const Unpack8 u(Bits);
  return u;
}

template <int Bits>
struct Avx2Block {
  static constexpr int kCodes = Bits == 4 ? 16 : 8;
  static constexpr int kVectors = kCodes / 8;
  static constexpr int kBytes = kCodes * Bits / 8;
};

template <int Bits, bool kNatural>
LAMINA_TARGET_AVX2 inline void unpack_avx2(const uint8_t* p, __m256* q, const __m256i& index,
                                           const __m256i& shift) {
  if constexpr (Bits == 8) {
    q[0] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  } else if constexpr (Bits == 4 && !kNatural) {
    const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    q[0] = _mm256_cvtepi32_ps(_mm256_and_si256(v, _mm256_set1_epi32(0xF)));
    q[1] = _mm256_cvtepi32_ps(_mm256_srli_epi32(v, 4));
  } else {
    uint64_t bytes = 0;
    std::memcpy(&bytes, p, Bits);  // 8 codes take exactly Bits bytes
    const __m128i raw = _mm_cvtsi64_si128(static_cast<long long>(bytes));
    __m256i v = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(raw), index);
    v = _mm256_and_si256(_mm256_srlv_epi32(v, shift), _mm256_set1_epi32((1 << Bits) - 1));
    q[0] = _mm256_cvtepi32_ps(v);
  }
}

LAMINA_TARGET_AVX2 inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <int Bits, int MR, int GS>
LAMINA_TARGET_AVX2 void matvec_avx2(const QuantizedMatrixView& w, const float* xv,
                                    const float* xsum, int64_t nb, int64_t ne, float* out,
                                    int64_t ldo) {
  using B = Avx2Block<Bits>;
  constexpr int kBlocks = GS / B::kCodes;
  constexpr int kVecs = kBlocks * B::kVectors;
  constexpr int kChains = kVecs < (MR == 1 ? 4 : 2) ? kVecs : (MR == 1 ? 4 : 2);
  const int64_t K = w.cols, groups = K / GS;
  constexpr int64_t kGroupBytes = GS * Bits / 8;
  const Unpack8& u = unpack8<Bits>();
  const __m256i index = _mm256_load_si256(reinterpret_cast<const __m256i*>(u.index));
  const __m256i shift = _mm256_load_si256(reinterpret_cast<const __m256i*>(u.shift));
  std::vector<float> params(static_cast<size_t>(2 * groups));
  float* scales = params.data();
  float* biases = params.data() + groups;
  for (int64_t n = nb; n < ne; ++n) {
    load_row_params_avx2(w, n, scales, biases);
    const uint8_t* row = reinterpret_cast<const uint8_t*>(row_words(w, n));
    __m256 total[MR];
    __m256 bias_total[MR];
    for (int m = 0; m < MR; ++m) {
      total[m] = _mm256_setzero_ps();
      bias_total[m] = _mm256_setzero_ps();
    }
    for (int64_t g = 0; g < groups; ++g) {
      const uint8_t* p = row + g * kGroupBytes;
      const float* xg = xv + g * GS;
      __m256 acc[MR][kChains];
      for (int m = 0; m < MR; ++m) {
        for (int c = 0; c < kChains; ++c) acc[m][c] = _mm256_setzero_ps();
      }
#pragma GCC unroll 16
      for (int blk = 0; blk < kBlocks; ++blk) {
        __m256 q[B::kVectors];
        unpack_avx2<Bits, false>(p + blk * B::kBytes, q, index, shift);
#pragma GCC unroll 4
        for (int v = 0; v < B::kVectors; ++v) {
          for (int m = 0; m < MR; ++m) {
            __m256& a = acc[m][(blk * B::kVectors + v) % kChains];
            a = _mm256_fmadd_ps(q[v], _mm256_loadu_ps(xg + m * K + blk * B::kCodes + 8 * v), a);
          }
        }
      }
      const __m256 s = _mm256_set1_ps(scales[g]);
      for (int m = 0; m < MR; ++m) {
        __m256 sum = acc[m][0];
        for (int c = 1; c < kChains; ++c) sum = _mm256_add_ps(sum, acc[m][c]);
        total[m] = _mm256_fmadd_ps(sum, s, total[m]);
      }
    }
    int64_t g = 0;
    for (; g + 8 <= groups; g += 8) {
      const __m256 b = _mm256_loadu_ps(biases + g);
      for (int m = 0; m < MR; ++m) {
        bias_total[m] = _mm256_fmadd_ps(b, _mm256_loadu_ps(xsum + m * groups + g), bias_total[m]);
      }
    }
    for (int m = 0; m < MR; ++m) {
      float tail = 0.0f;
      for (int64_t t = g; t < groups; ++t) tail += biases[t] * xsum[m * groups + t];
      out[m * ldo + n] = hsum256(_mm256_add_ps(total[m], bias_total[m])) + tail;
    }
  }
}

template <int Bits>
LAMINA_TARGET_AVX2 void dequantize_avx2(const QuantizedMatrixView& w, int64_t nb, int64_t ne,
                                        float* dst, int64_t ld) {
  const int64_t K = w.cols, gs = w.group_size, groups = K / gs;
  const Unpack8& u = unpack8<Bits>();
  const __m256i index = _mm256_load_si256(reinterpret_cast<const __m256i*>(u.index));
  const __m256i shift = _mm256_load_si256(reinterpret_cast<const __m256i*>(u.shift));
  std::vector<float> params(static_cast<size_t>(2 * groups));
  float* scales = params.data();
  float* biases = params.data() + groups;
  for (int64_t n = nb; n < ne; ++n) {
    load_row_params_avx2(w, n, scales, biases);
    const uint8_t* p = reinterpret_cast<const uint8_t*>(row_words(w, n));
    float* d = dst + (n - nb) * ld;
    for (int64_t g = 0; g < groups; ++g) {
      const __m256 s = _mm256_set1_ps(scales[g]);
      const __m256 b = _mm256_set1_ps(biases[g]);
      for (int64_t c = 0; c < gs; c += 8, p += Bits) {
        __m256 q;
        unpack_avx2<Bits, true>(p, &q, index, shift);
        _mm256_storeu_ps(d + g * gs + c, _mm256_fmadd_ps(q, s, b));
      }
    }
  }
}

#endif  // LAMINA_HAS_X86_KERNELS

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

template <typename Fn>
void dispatch_group(int group_size, Fn&& fn) {
  switch (group_size) {
    case 32: return fn(std::integral_constant<int, 32>{});
    case 64: return fn(std::integral_constant<int, 64>{});
    case 128: return fn(std::integral_constant<int, 128>{});
    default: return;
  }
}

}  // namespace

QuantIsa best_quant_isa() {
  static const QuantIsa isa = detect_quant_isa();
  return isa;
}

const char* quant_isa_name(QuantIsa isa) {
  switch (isa) {
    case QuantIsa::scalar: return "scalar";
    case QuantIsa::avx2: return "avx2";
    case QuantIsa::avx512: return "avx512";
  }
  return "?";
}

QuantizedInput prepare_quantized_input(const float* x, int64_t ldx, int64_t M, int64_t K,
                                       int group_size, int bits, QuantIsa isa) {
  QuantizedInput in;
  in.rows = M;
  in.cols = K;
  in.group_size = group_size;
  const int64_t groups = K / group_size;
  in.values.resize(static_cast<size_t>(M * K));
  in.group_sums.resize(static_cast<size_t>(M * groups));
  const int block = permuted_block(bits, isa);
  for (int64_t m = 0; m < M; ++m) {
    const float* src = x + m * ldx;
    float* dst = in.values.data() + m * K;
    if (block == 0) {
      std::memcpy(dst, src, static_cast<size_t>(K) * sizeof(float));
    } else {
      // Within each block: the even codes (low nibbles) first, then the odd ones.
      const int half = block / 2;
      for (int64_t b = 0; b < K; b += block) {
        for (int j = 0; j < half; ++j) {
          dst[b + j] = src[b + 2 * j];
          dst[b + half + j] = src[b + 2 * j + 1];
        }
      }
    }
    for (int64_t g = 0; g < groups; ++g) {
      float s = 0.0f;
      for (int64_t k = g * group_size; k < (g + 1) * group_size; ++k) s += src[k];
      in.group_sums[m * groups + g] = s;
    }
  }
  return in;
}

void quantized_matvec(const QuantizedMatrixView& w, const QuantizedInput& x, int64_t n_begin,
                      int64_t n_end, float* out, int64_t ldo, QuantIsa isa) {
  if (n_end <= n_begin || x.rows == 0) return;
#if LAMINA_HAS_X86_KERNELS
  if (isa != QuantIsa::scalar) {
    const int64_t groups = w.cols / w.group_size;
    dispatch_bits(w.bits, [&](auto bits_constant) {
      constexpr int Bits = decltype(bits_constant)::value;
      auto run = [&](auto mr_constant, int64_t m) {
        constexpr int MR = decltype(mr_constant)::value;
        const float* xv = x.values.data() + m * w.cols;
        const float* xs = x.group_sums.data() + m * groups;
        float* o = out + m * ldo;
        dispatch_group(w.group_size, [&](auto gs_constant) {
          constexpr int GS = decltype(gs_constant)::value;
          if (isa == QuantIsa::avx512) matvec_avx512<Bits, MR, GS>(w, xv, xs, n_begin, n_end, o, ldo);
          else matvec_avx2<Bits, MR, GS>(w, xv, xs, n_begin, n_end, o, ldo);
        });
      };
      int64_t m = 0;
      for (; m + 4 <= x.rows; m += 4) run(std::integral_constant<int, 4>{}, m);
      for (; m < x.rows; ++m) run(std::integral_constant<int, 1>{}, m);
    });
    return;
  }
#endif
  matvec_scalar(w, x, n_begin, n_end, out, ldo);
}

void quantized_dequantize_rows(const QuantizedMatrixView& w, int64_t n_begin, int64_t n_end,
                               float* dst, int64_t ld, QuantIsa isa) {
  if (n_end <= n_begin) return;
#if LAMINA_HAS_X86_KERNELS
  if (isa != QuantIsa::scalar) {
    dispatch_bits(w.bits, [&](auto bits_constant) {
      constexpr int Bits = decltype(bits_constant)::value;
      if (isa == QuantIsa::avx512) dequantize_avx512<Bits>(w, n_begin, n_end, dst, ld);
      else dequantize_avx2<Bits>(w, n_begin, n_end, dst, ld);
    });
    return;
  }
#endif
  dequantize_scalar(w, n_begin, n_end, dst, ld);
}

}  // namespace lamina::kernels
