// float16/bfloat16 conversion and small-M matmul kernels: scalar reference paths and
// AVX2+FMA+F16C paths (compiled with a target attribute, chosen at run time).
#include "kernels/cpu/half_matmul.h"

#include <algorithm>
#include <type_traits>

#include "libcore/array/half.h"

#if LAMINA_HAS_X86_KERNELS
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _mm512_undefined_*
// placeholders (GCC bug 105593); the warnings stay on everywhere else.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#endif

namespace lamina::kernels {

namespace {

template <bool kBf16>
inline float to_float(uint16_t h) {
  if constexpr (kBf16) return core::bfloat_bits_to_float(h);
  else return core::half_bits_to_float(h);
}

template <bool kBf16>
inline uint16_t from_float(float f) {
  if constexpr (kBf16) return core::float_to_bfloat_bits(f);
  else return core::float_to_half_bits(f);
}

// ---- scalar reference paths ----

template <bool kBf16>
void nt_scalar(const float* x, int64_t ldx, int64_t M, int64_t K, const uint16_t* w, int64_t ldw,
               int64_t nb, int64_t ne, float* out, int64_t ldo) {
  for (int64_t n = nb; n < ne; ++n) {
    const uint16_t* wr = w + n * ldw;
    for (int64_t m = 0; m < M; ++m) {
      const float* xr = x + m * ldx;
      float acc = 0.0f;
      for (int64_t k = 0; k < K; ++k) acc += xr[k] * to_float<kBf16>(wr[k]);
      out[m * ldo + n] = acc;
    }
  }
}

template <bool kBf16>
void nn_scalar(const float* x, int64_t ldx, int64_t M, int64_t K, const uint16_t* b, int64_t ldb,
               int64_t nb, int64_t ne, float* out, int64_t ldo) {
  for (int64_t m = 0; m < M; ++m) {
    float* o = out + m * ldo;
    for (int64_t n = nb; n < ne; ++n) o[n] = 0.0f;
    for (int64_t k = 0; k < K; ++k) {
      const float xv = x[m * ldx + k];
      const uint16_t* br = b + k * ldb;
      for (int64_t n = nb; n < ne; ++n) o[n] += xv * to_float<kBf16>(br[n]);
    }
  }
}

// ---- AVX2 paths ----
#if LAMINA_HAS_X86_KERNELS

template <bool kBf16>
LAMINA_TARGET_AVX2 inline __m256 load8(const uint16_t* p) {
  __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if constexpr (kBf16) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  } else {
    return _mm256_cvtph_ps(h);
  }
}

LAMINA_TARGET_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <bool kBf16>
LAMINA_TARGET_AVX2 void to_float_avx2(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_ps(dst + i, load8<kBf16>(src + i));
    _mm256_storeu_ps(dst + i + 8, load8<kBf16>(src + i + 8));
  }
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8<kBf16>(src + i));
  for (; i < n; ++i) dst[i] = to_float<kBf16>(src[i]);
}

template <bool kBf16>
LAMINA_TARGET_AVX2 void from_float_avx2(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(src + i);
    __m128i h;
    if constexpr (kBf16) {
      // Round to nearest even: add 0x7fff + lsb of the kept half; NaNs are kept quiet.
      __m256i x = _mm256_castps_si256(v);
      __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
      __m256i r = _mm256_add_epi32(x, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
      __m256i quiet = _mm256_or_si256(x, _mm256_set1_epi32(0x400000));
      __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
      r = _mm256_castps_si256(
          _mm256_blendv_ps(_mm256_castsi256_ps(r), _mm256_castsi256_ps(quiet), nan));
      r = _mm256_srli_epi32(r, 16);
      h = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    } else {
      h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
  }
  for (; i < n; ++i) dst[i] = from_float<kBf16>(src[i]);
}

// One weight row dotted with each x row (tail rows of the 8-row blocks below).
template <bool kBf16>
LAMINA_TARGET_AVX2 void nt_row_avx2(const float* x, int64_t ldx, int64_t M, int64_t K,
                                    const uint16_t* wr, float* out, int64_t ldo) {
  for (int64_t m = 0; m < M; ++m) {
    const float* xr = x + m * ldx;
    __m256 a0 = _mm256_setzero_ps(), c0 = a0;
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
      a0 = _mm256_fmadd_ps(load8<kBf16>(wr + k), _mm256_loadu_ps(xr + k), a0);
      c0 = _mm256_fmadd_ps(load8<kBf16>(wr + k + 8), _mm256_loadu_ps(xr + k + 8), c0);
    }
    for (; k + 8 <= K; k += 8) {
      a0 = _mm256_fmadd_ps(load8<kBf16>(wr + k), _mm256_loadu_ps(xr + k), a0);
    }
    float s = hsum(_mm256_add_ps(a0, c0));
    for (; k < K; ++k) s += xr[k] * to_float<kBf16>(wr[k]);
    out[m * ldo] = s;
  }
}

// kR weight rows times kM x rows with kR * kM accumulators: each converted weight vector
// feeds kM FMAs, each x vector kR.
template <bool kBf16, int kR, int kM>
LAMINA_TARGET_AVX2 inline void nt_block(const float* x, int64_t ldx, int64_t K,
                                        const uint16_t* w, int64_t ldw, float* out, int64_t ldo) {
  const uint16_t* wr[kR];
  for (int r = 0; r < kR; ++r) wr[r] = w + r * ldw;
  __m256 acc[kM][kR];
  for (int m = 0; m < kM; ++m) {
    for (int r = 0; r < kR; ++r) acc[m][r] = _mm256_setzero_ps();
  }
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    __m256 xv[kM];
    for (int m = 0; m < kM; ++m) xv[m] = _mm256_loadu_ps(x + m * ldx + k);
    for (int r = 0; r < kR; ++r) {
      const __m256 wv = load8<kBf16>(wr[r] + k);
      for (int m = 0; m < kM; ++m) acc[m][r] = _mm256_fmadd_ps(wv, xv[m], acc[m][r]);
    }
  }
  for (int m = 0; m < kM; ++m) {
    const float* xr = x + m * ldx;
    for (int r = 0; r < kR; ++r) {
      float s = hsum(acc[m][r]);
      for (int64_t t = k; t < K; ++t) s += xr[t] * to_float<kBf16>(wr[r][t]);
      out[m * ldo + r] = s;
    }
  }
}

// AVX-512 variant of nt_block<kBf16, 8, 1> (decode): sixteen weight values per convert and
// FMA, half the instructions per byte of weight, which matters when cores are shared.
template <bool kBf16>
LAMINA_TARGET_AVX512 void nt_rows8_avx512(const float* x, int64_t K, const uint16_t* w,
                                          int64_t ldw, float* out) {
  __m512 acc[8];
  for (int r = 0; r < 8; ++r) acc[r] = _mm512_setzero_ps();
  // The next eight rows (contiguous with these when ldw == K) are prefetched into L2 while
  // these are read: rows of a few KiB each start a new page, where the hardware prefetcher
  // has to ramp up again (measured ~10% more weight GB/s streaming from memory).
  const char* next = reinterpret_cast<const char*>(w + 8 * ldw);
  const int64_t next_bytes = 8 * ldw * 2;
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    const int64_t line = k / 16 * 4 * 64;
    if (line < next_bytes) {
      _mm_prefetch(next + line, _MM_HINT_T1);
      _mm_prefetch(next + line + 64, _MM_HINT_T1);
      _mm_prefetch(next + line + 128, _MM_HINT_T1);
      _mm_prefetch(next + line + 192, _MM_HINT_T1);
    }
    const __m512 xv = _mm512_loadu_ps(x + k);
    for (int r = 0; r < 8; ++r) {
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + r * ldw + k));
      __m512 wv;
      if constexpr (kBf16) {
        wv = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
      } else {
        wv = _mm512_cvtph_ps(h);
      }
      acc[r] = _mm512_fmadd_ps(wv, xv, acc[r]);
    }
  }
  for (int r = 0; r < 8; ++r) {
    float s = _mm512_reduce_add_ps(acc[r]);
    for (int64_t t = k; t < K; ++t) s += x[t] * to_float<kBf16>(w[r * ldw + t]);
    out[r] = s;
  }
}

// One x row: eight weight rows at a time (eight independent streams keep enough loads in
// flight to approach memory bandwidth; measured ~1.3x faster than four). Several x rows:
// 4 x 2 register blocks, so that each weight vector is converted once per two rows.
template <bool kBf16>
LAMINA_TARGET_AVX2 void nt_avx2(const float* x, int64_t ldx, int64_t M, int64_t K,
                                const uint16_t* w, int64_t ldw, int64_t nb, int64_t ne,
                                float* out, int64_t ldo) {
  int64_t n = nb;
  if (M == 1 && has_avx512()) {
    for (; n + 8 <= ne; n += 8) nt_rows8_avx512<kBf16>(x, K, w + n * ldw, ldw, out + n);
  } else if (M == 1) {
    for (; n + 8 <= ne; n += 8) nt_block<kBf16, 8, 1>(x, ldx, K, w + n * ldw, ldw, out + n, ldo);
  } else {
    for (; n + 4 <= ne; n += 4) {
      int64_t m = 0;
      for (; m + 2 <= M; m += 2) {
        nt_block<kBf16, 4, 2>(x + m * ldx, ldx, K, w + n * ldw, ldw, out + m * ldo + n, ldo);
      }
      if (m < M) nt_block<kBf16, 4, 1>(x + m * ldx, ldx, K, w + n * ldw, ldw, out + m * ldo + n, ldo);
    }
  }
  for (; n < ne; ++n) nt_row_avx2<kBf16>(x, ldx, M, K, w + n * ldw, out + n, ldo);
}

// Columns in chunks whose float32 accumulators (32 KiB for all rows of a group) stay in
// L1/L2; weight rows are read two at a time, as long contiguous runs: short runs from
// thousands of rows a page apart each thrash the TLB (measured 3x slower with 1024).
template <bool kBf16>
LAMINA_TARGET_AVX2 void nn_avx2(const float* x, int64_t ldx, int64_t M, int64_t K,
                                const uint16_t* b, int64_t ldb, int64_t nb, int64_t ne,
                                float* out, int64_t ldo) {
  constexpr int64_t kAccFloats = 8192;
  constexpr int64_t kGroup = 4;  // x rows sharing one pass over the weight
  alignas(32) float acc_buf[kAccFloats];
  for (int64_t m0 = 0; m0 < M; m0 += kGroup) {
    const int64_t mr = std::min(kGroup, M - m0);
    const int64_t chunk = kAccFloats / mr / 8 * 8;
    float* acc[kGroup];
    for (int64_t r = 0; r < mr; ++r) acc[r] = acc_buf + r * chunk;
    for (int64_t c0 = nb; c0 < ne; c0 += chunk) {
      const int64_t width = std::min(chunk, ne - c0);
      const int64_t vec = width / 8 * 8;
      for (int64_t r = 0; r < mr; ++r) std::fill(acc[r], acc[r] + width, 0.0f);
      int64_t k = 0;
      for (; k + 2 <= K; k += 2) {
        const uint16_t* b0 = b + k * ldb + c0;
        const uint16_t* b1 = b0 + ldb;
        for (int64_t r = 0; r < mr; ++r) {
          const float* xr = x + (m0 + r) * ldx + k;
          const __m256 x0 = _mm256_broadcast_ss(xr), x1 = _mm256_broadcast_ss(xr + 1);
          float* a = acc[r];
          for (int64_t j = 0; j < vec; j += 8) {
            __m256 v = _mm256_fmadd_ps(load8<kBf16>(b0 + j), x0, _mm256_load_ps(a + j));
            _mm256_store_ps(a + j, _mm256_fmadd_ps(load8<kBf16>(b1 + j), x1, v));
          }
          for (int64_t j = vec; j < width; ++j) {
            a[j] += xr[0] * to_float<kBf16>(b0[j]) + xr[1] * to_float<kBf16>(b1[j]);
          }
        }
      }
      for (; k < K; ++k) {
        const uint16_t* b0 = b + k * ldb + c0;
        for (int64_t r = 0; r < mr; ++r) {
          const float xv = x[(m0 + r) * ldx + k];
          for (int64_t j = 0; j < width; ++j) acc[r][j] += xv * to_float<kBf16>(b0[j]);
        }
      }
      for (int64_t r = 0; r < mr; ++r) std::copy(acc[r], acc[r] + width, out + (m0 + r) * ldo + c0);
    }
  }
}

#endif  // LAMINA_HAS_X86_KERNELS

template <typename Fn>
void dispatch_half(HalfType type, Fn&& fn) {
  if (type == HalfType::bfloat16) fn(std::true_type{});
  else fn(std::false_type{});
}

}  // namespace

void half_to_float(HalfType type, const uint16_t* src, float* dst, int64_t n, Isa isa) {
  dispatch_half(type, [&](auto bf) {
    constexpr bool kBf16 = decltype(bf)::value;
#if LAMINA_HAS_X86_KERNELS
    if (isa == Isa::avx2) return to_float_avx2<kBf16>(src, dst, n);
#endif
    for (int64_t i = 0; i < n; ++i) dst[i] = to_float<kBf16>(src[i]);
  });
}

void float_to_half(HalfType type, const float* src, uint16_t* dst, int64_t n, Isa isa) {
  dispatch_half(type, [&](auto bf) {
    constexpr bool kBf16 = decltype(bf)::value;
#if LAMINA_HAS_X86_KERNELS
    if (isa == Isa::avx2) return from_float_avx2<kBf16>(src, dst, n);
#endif
    for (int64_t i = 0; i < n; ++i) dst[i] = from_float<kBf16>(src[i]);
  });
}

void half_matmul_nt(HalfType type, const float* x, int64_t ldx, int64_t M, int64_t K,
                    const uint16_t* w, int64_t ldw, int64_t n_begin, int64_t n_end, float* out,
                    int64_t ldo, Isa isa) {
  dispatch_half(type, [&](auto bf) {
    constexpr bool kBf16 = decltype(bf)::value;
#if LAMINA_HAS_X86_KERNELS
    if (isa == Isa::avx2) return nt_avx2<kBf16>(x, ldx, M, K, w, ldw, n_begin, n_end, out, ldo);
#endif
    nt_scalar<kBf16>(x, ldx, M, K, w, ldw, n_begin, n_end, out, ldo);
  });
}

void half_matmul_nn(HalfType type, const float* x, int64_t ldx, int64_t M, int64_t K,
                    const uint16_t* b, int64_t ldb, int64_t n_begin, int64_t n_end, float* out,
                    int64_t ldo, Isa isa) {
  dispatch_half(type, [&](auto bf) {
    constexpr bool kBf16 = decltype(bf)::value;
#if LAMINA_HAS_X86_KERNELS
    if (isa == Isa::avx2) return nn_avx2<kBf16>(x, ldx, M, K, b, ldb, n_begin, n_end, out, ldo);
#endif
    nn_scalar<kBf16>(x, ldx, M, K, b, ldb, n_begin, n_end, out, ldo);
  });
}

}  // namespace lamina::kernels
