// Blocked half-weight GEMM: packing of x, the scalar reference path, and the AVX-512
// path (a 12 x 32 register tile: 24 accumulators, each broadcast x value feeding two FMAs).
#include "kernels/cpu/half_gemm.h"

#include <algorithm>
#include <memory>

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

constexpr int64_t kMR = kHalfGemmRows;
constexpr int64_t kKC = kHalfGemmDepth;
constexpr int64_t kNR = 32;  // weight rows (output columns) per panel

int64_t tiles_of(int64_t M) { return (M + kMR - 1) / kMR; }

// Offset of x[tile * kMR + r, k] in the packed layout: K blocks of kKC, inside each block
// the tiles one after another, inside a tile [k][r].
inline int64_t packed_index(int64_t tiles, int64_t K, int64_t tile, int64_t r, int64_t k) {
  const int64_t k0 = k / kKC * kKC;
  const int64_t kc = std::min(kKC, K - k0);
  return k0 * tiles * kMR + tile * kc * kMR + (k - k0) * kMR + r;
}

inline float half_to_f32(HalfType type, uint16_t h) {
  return type == HalfType::bfloat16 ? core::bfloat_bits_to_float(h) : core::half_bits_to_float(h);
}

void gemm_scalar(HalfType type, const float* px, int64_t M, int64_t K, const uint16_t* w,
                 int64_t ldw, int64_t nb, int64_t ne, float* out, int64_t ldo) {
  const int64_t tiles = tiles_of(M);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = nb; n < ne; ++n) {
      float acc = 0.0f;
      for (int64_t k = 0; k < K; ++k) {
        acc += px[packed_index(tiles, K, m / kMR, m % kMR, k)] * half_to_f32(type, w[n * ldw + k]);
      }
      out[m * ldo + (n - nb)] = acc;
    }
  }
}

#if LAMINA_HAS_X86_KERNELS

template <bool kBf16>
LAMINA_TARGET_AVX512 inline __m512 load16(const uint16_t* p) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  if constexpr (kBf16) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  } else {
    return _mm512_cvtph_ps(h);
  }
}

// Transposes the 16 x 16 matrix whose rows are r[0..15], in place: 32-bit then 64-bit
// interleaves put each column's 4-row pieces in 128-bit lanes, two lane shuffles gather them.
LAMINA_TARGET_AVX512 inline void transpose16(__m512 r[16]) {
  __m512 u[16];
  for (int g = 0; g < 4; ++g) {
    const __m512 t0 = _mm512_unpacklo_ps(r[4 * g], r[4 * g + 1]);
    const __m512 t1 = _mm512_unpackhi_ps(r[4 * g], r[4 * g + 1]);
    const __m512 t2 = _mm512_unpacklo_ps(r[4 * g + 2], r[4 * g + 3]);
    const __m512 t3 = _mm512_unpackhi_ps(r[4 * g + 2], r[4 * g + 3]);
    u[4 * g + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));
    u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));
    u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));
    u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));
  }
  // u[4g + c] lane L holds column 4L + c of rows 4g..4g+3.
  for (int c = 0; c < 4; ++c) {
    const __m512 v_even = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
    const __m512 w_even = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
    const __m512 v_odd = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xdd);
    const __m512 w_odd = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xdd);
    r[c] = _mm512_shuffle_f32x4(v_even, w_even, 0x88);
    r[8 + c] = _mm512_shuffle_f32x4(v_even, w_even, 0xdd);
    r[4 + c] = _mm512_shuffle_f32x4(v_odd, w_odd, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(v_odd, w_odd, 0xdd);
  }
}

// dst[k * kNR + j] = float(w[j * ldw + k]) for j < rows, k < kc; columns j >= rows are 0.
// 16 x 16 blocks are converted and transposed in registers.
template <bool kBf16>
LAMINA_TARGET_AVX512 void pack_weight_panel(const uint16_t* w, int64_t ldw, int64_t rows,
                                            int64_t kc, float* dst) {
  for (int64_t j0 = 0; j0 < kNR; j0 += 16) {
    int64_t k = 0;
    for (; k + 16 <= kc; k += 16) {
      __m512 r[16];
      for (int i = 0; i < 16; ++i) {
        r[i] = j0 + i < rows ? load16<kBf16>(w + (j0 + i) * ldw + k) : _mm512_setzero_ps();
      }
      transpose16(r);
      for (int c = 0; c < 16; ++c) _mm512_storeu_ps(dst + (k + c) * kNR + j0, r[c]);
    }
    for (; k < kc; ++k) {
      for (int64_t j = j0; j < j0 + 16; ++j) {
        dst[k * kNR + j] = j < rows ? (kBf16 ? core::bfloat_bits_to_float(w[j * ldw + k])
                                             : core::half_bits_to_float(w[j * ldw + k]))
                                    : 0.0f;
      }
    }
  }
}

// c[r * ldc + j] (+)= sum_k a[k * kMR + r] * b[k * kNR + j] for r < rows and the columns
// mask0 (j < 16) / mask1 (j >= 16) select.
LAMINA_TARGET_AVX512 void micro_tile(int64_t kc, const float* a, const float* b, float* c,
                                     int64_t ldc, int64_t rows, __mmask16 mask0, __mmask16 mask1,
                                     bool accumulate) {
  __m512 lo[kMR], hi[kMR];
  for (int r = 0; r < kMR; ++r) lo[r] = hi[r] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(b + k * kNR);
    const __m512 b1 = _mm512_loadu_ps(b + k * kNR + 16);
    const float* ak = a + k * kMR;
    for (int r = 0; r < kMR; ++r) {
      const __m512 av = _mm512_set1_ps(ak[r]);
      lo[r] = _mm512_fmadd_ps(av, b0, lo[r]);
      hi[r] = _mm512_fmadd_ps(av, b1, hi[r]);
    }
  }
  for (int r = 0; r < kMR; ++r) {
    if (r >= rows) break;
    float* cr = c + r * ldc;
    __m512 v0 = lo[r], v1 = hi[r];
    if (accumulate) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(mask0, cr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(mask1, cr + 16));
    }
    _mm512_mask_storeu_ps(cr, mask0, v0);
    _mm512_mask_storeu_ps(cr + 16, mask1, v1);
  }
}

// K blocks outermost: the packed x block (rows x kKC floats) stays in L2 while every
// 32-row weight panel of [nb, ne) is converted once into an L1-sized block and multiplied
// by all row tiles; the output (rows x (ne - nb) floats) accumulates across K blocks.
// (Panels outermost re-read all of x from L3 per panel: measured ~15% slower.)
template <bool kBf16>
LAMINA_TARGET_AVX512 void gemm_avx512(const float* px, int64_t M, int64_t K, const uint16_t* w,
                                      int64_t ldw, int64_t nb, int64_t ne, float* out,
                                      int64_t ldo) {
  const int64_t tiles = tiles_of(M);
  auto panel = std::make_unique<float[]>(static_cast<size_t>(kKC * kNR + 16));
  float* bp = panel.get();
  for (int64_t k0 = 0; k0 < K; k0 += kKC) {
    const int64_t kc = std::min(kKC, K - k0);
    const float* block = px + k0 * tiles * kMR;
    for (int64_t n0 = nb; n0 < ne; n0 += kNR) {
      const int64_t cols = std::min(kNR, ne - n0);
      const __mmask16 mask0 = static_cast<__mmask16>(cols >= 16 ? 0xffff : (1u << cols) - 1);
      const __mmask16 mask1 =
          static_cast<__mmask16>(cols >= 32 ? 0xffff : cols <= 16 ? 0 : (1u << (cols - 16)) - 1);
      pack_weight_panel<kBf16>(w + n0 * ldw + k0, ldw, cols, kc, bp);
      for (int64_t t = 0; t < tiles; ++t) {
        micro_tile(kc, block + t * kc * kMR, bp, out + t * kMR * ldo + (n0 - nb), ldo,
                   std::min(kMR, M - t * kMR), mask0, mask1, k0 > 0);
      }
    }
  }
}

#endif  // LAMINA_HAS_X86_KERNELS

}  // namespace

int64_t half_gemm_packed_size(int64_t M, int64_t K) { return tiles_of(M) * kMR * K; }

void half_gemm_pack_x(const float* x, int64_t ldx, int64_t M, int64_t K, int64_t tile_begin,
                      int64_t tile_end, float* packed) {
  const int64_t tiles = tiles_of(M);
  for (int64_t k0 = 0; k0 < K; k0 += kKC) {
    const int64_t kc = std::min(kKC, K - k0);
    for (int64_t t = tile_begin; t < tile_end; ++t) {
      float* dst = packed + k0 * tiles * kMR + t * kc * kMR;
      for (int64_t r = 0; r < kMR; ++r) {
        const int64_t m = t * kMR + r;
        if (m < M) {
          const float* src = x + (m - tile_begin * kMR) * ldx + k0;
          for (int64_t k = 0; k < kc; ++k) dst[k * kMR + r] = src[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) dst[k * kMR + r] = 0.0f;
        }
      }
    }
  }
}

void half_gemm_nt(HalfType type, const float* packed_x, int64_t M, int64_t K, const uint16_t* w,
                  int64_t ldw, int64_t n_begin, int64_t n_end, float* out, int64_t ldo, Isa isa) {
  if (M <= 0 || n_end <= n_begin) return;
#if LAMINA_HAS_X86_KERNELS
  if (isa == Isa::avx2 && has_avx512()) {
    if (type == HalfType::bfloat16) {
      gemm_avx512<true>(packed_x, M, K, w, ldw, n_begin, n_end, out, ldo);
    } else {
      gemm_avx512<false>(packed_x, M, K, w, ldw, n_begin, n_end, out, ldo);
    }
    return;
  }
#endif
  gemm_scalar(type, packed_x, M, K, w, ldw, n_begin, n_end, out, ldo);
}

bool half_gemm_is_fast(Isa isa) { return isa == Isa::avx2 && has_avx512(); }

}  // namespace lamina::kernels
