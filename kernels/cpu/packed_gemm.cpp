// Blocked GEMM over packed x: packing, the scalar reference path, and the AVX-512 path (a
// 12 x 32 register tile: 24 accumulators, each broadcast x value feeding two FMAs). Each
// weight layout is a small "source" that reads one element (reference path) or converts a
// 32-column panel into the float32 [k][32] block the microkernel reads.
#include "kernels/cpu/packed_gemm.h"

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

constexpr int64_t kMR = kPackedGemmRows;
constexpr int64_t kKC = kPackedGemmDepth;
constexpr int64_t kNR = 32;  // weight rows (output columns) per panel

int64_t tiles_of(int64_t M) { return (M + kMR - 1) / kMR; }

// Offset of x[tile * kMR + r, k] in the packed layout: K blocks of kKC, inside each block
// the tiles one after another, inside a tile [k][r].
inline int64_t packed_index(int64_t tiles, int64_t K, int64_t tile, int64_t r, int64_t k) {
  const int64_t k0 = k / kKC * kKC;
  const int64_t kc = std::min(kKC, K - k0);
  return k0 * tiles * kMR + tile * kc * kMR + (k - k0) * kMR + r;
}

// Weight sources. at(n, k) is the weight element multiplying x[:, k] into column n.
template <bool kBf16>
struct HalfRows {  // [N, K] float16/bfloat16
  const uint16_t* w;
  int64_t ldw;
  float at(int64_t n, int64_t k) const {
    const uint16_t h = w[n * ldw + k];
    return kBf16 ? core::bfloat_bits_to_float(h) : core::half_bits_to_float(h);
  }
};
struct FloatRows {  // [N, K] float32
  const float* w;
  int64_t ldw;
  float at(int64_t n, int64_t k) const { return w[n * ldw + k]; }
};
struct FloatCols {  // [K, N] float32
  const float* b;
  int64_t ldb;
  float at(int64_t n, int64_t k) const { return b[k * ldb + n]; }
};

template <typename Source>
void gemm_scalar(const Source& src, const float* px, int64_t M, int64_t K, int64_t nb, int64_t ne,
                 float* out, int64_t ldo) {
  const int64_t tiles = tiles_of(M);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = nb; n < ne; ++n) {
      float acc = 0.0f;
      for (int64_t k = 0; k < K; ++k) {
        acc += px[packed_index(tiles, K, m / kMR, m % kMR, k)] * src.at(n, k);
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

// Sixteen consecutive weights along K of column n, as float32.
template <bool kBf16>
LAMINA_TARGET_AVX512 inline __m512 load_run16(const HalfRows<kBf16>& src, int64_t n, int64_t k) {
  return load16<kBf16>(src.w + n * src.ldw + k);
}
LAMINA_TARGET_AVX512 inline __m512 load_run16(const FloatRows& src, int64_t n, int64_t k) {
  return _mm512_loadu_ps(src.w + n * src.ldw + k);
}

// dst[k * kNR + j] = at(n0 + j, k0 + k) for j < cols, k < kc; columns j >= cols are 0.
// Rows of K: 16 x 16 blocks are loaded (converted), transposed in registers and stored.
template <typename Source>
LAMINA_TARGET_AVX512 void pack_panel(const Source& src, int64_t n0, int64_t cols, int64_t k0,
                                     int64_t kc, float* dst) {
  for (int64_t j0 = 0; j0 < kNR; j0 += 16) {
    int64_t k = 0;
    for (; k + 16 <= kc; k += 16) {
      __m512 r[16];
      for (int i = 0; i < 16; ++i) {
        r[i] = j0 + i < cols ? load_run16(src, n0 + j0 + i, k0 + k) : _mm512_setzero_ps();
      }
      transpose16(r);
      for (int c = 0; c < 16; ++c) _mm512_storeu_ps(dst + (k + c) * kNR + j0, r[c]);
    }
    for (; k < kc; ++k) {
      for (int64_t j = j0; j < j0 + 16; ++j) {
        dst[k * kNR + j] = j < cols ? src.at(n0 + j, k0 + k) : 0.0f;
      }
    }
  }
}

// Rows of N: each k row of the panel is two (masked) loads.
LAMINA_TARGET_AVX512 void pack_panel(const FloatCols& src, int64_t n0, int64_t cols, int64_t k0,
                                     int64_t kc, float* dst) {
  const __mmask16 m0 = static_cast<__mmask16>(cols >= 16 ? 0xffff : (1u << cols) - 1);
  const __mmask16 m1 =
      static_cast<__mmask16>(cols >= 32 ? 0xffff : cols <= 16 ? 0 : (1u << (cols - 16)) - 1);
  for (int64_t k = 0; k < kc; ++k) {
    const float* row = src.b + (k0 + k) * src.ldb + n0;
    _mm512_storeu_ps(dst + k * kNR, _mm512_maskz_loadu_ps(m0, row));
    _mm512_storeu_ps(dst + k * kNR + 16, _mm512_maskz_loadu_ps(m1, row + 16));
  }
}

// c[r * ldc + j] (+)= sum_k a[k * kMR + r] * b[k * kNR + j] for r < rows and the columns
// mask0 (j < 16) / mask1 (j >= 16) select. The loops over r are unrolled so that the 24
// accumulators live in registers (a rolled epilogue spilled them all to the stack).
LAMINA_TARGET_AVX512 void micro_tile(int64_t kc, const float* a, const float* b, float* c,
                                     int64_t ldc, int64_t rows, __mmask16 mask0, __mmask16 mask1,
                                     bool accumulate) {
  __m512 lo[kMR], hi[kMR];
#pragma GCC unroll 12
  for (int r = 0; r < kMR; ++r) lo[r] = hi[r] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(b + k * kNR);
    const __m512 b1 = _mm512_loadu_ps(b + k * kNR + 16);
    const float* ak = a + k * kMR;
#pragma GCC unroll 12
    for (int r = 0; r < kMR; ++r) {
      const __m512 av = _mm512_set1_ps(ak[r]);
      lo[r] = _mm512_fmadd_ps(av, b0, lo[r]);
      hi[r] = _mm512_fmadd_ps(av, b1, hi[r]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < kMR; ++r) {
    if (r < rows) {
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
}

// K blocks outermost: the packed x block (rows x kKC floats) stays in L2 while every
// 32-row weight panel of [nb, ne) is converted once into an L1-sized block and multiplied
// by all row tiles; the output (rows x (ne - nb) floats) accumulates across K blocks.
// (Panels outermost re-read all of x from L3 per panel: measured ~15% slower.)
template <typename Source>
LAMINA_TARGET_AVX512 void gemm_avx512(const Source& src, const float* px, int64_t M, int64_t K,
                                      int64_t nb, int64_t ne, float* out, int64_t ldo) {
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
      pack_panel(src, n0, cols, k0, kc, bp);
      for (int64_t t = 0; t < tiles; ++t) {
        micro_tile(kc, block + t * kc * kMR, bp, out + t * kMR * ldo + (n0 - nb), ldo,
                   std::min(kMR, M - t * kMR), mask0, mask1, k0 > 0);
      }
    }
  }
}

#endif  // LAMINA_HAS_X86_KERNELS

}  // namespace

int64_t packed_gemm_size(int64_t M, int64_t K) { return tiles_of(M) * kMR * K; }

void packed_gemm_pack_x(const float* x, int64_t row_stride, int64_t col_stride, int64_t M,
                        int64_t K, int64_t tile_begin, int64_t tile_end, float* packed) {
  const int64_t tiles = tiles_of(M);
  for (int64_t k0 = 0; k0 < K; k0 += kKC) {
    const int64_t kc = std::min(kKC, K - k0);
    for (int64_t t = tile_begin; t < tile_end; ++t) {
      float* dst = packed + k0 * tiles * kMR + t * kc * kMR;
      for (int64_t r = 0; r < kMR; ++r) {
        const int64_t m = t * kMR + r;
        if (m < M) {
          const float* src = x + (m - tile_begin * kMR) * row_stride + k0 * col_stride;
          for (int64_t k = 0; k < kc; ++k) dst[k * kMR + r] = src[k * col_stride];
        } else {
          for (int64_t k = 0; k < kc; ++k) dst[k * kMR + r] = 0.0f;
        }
      }
    }
  }
}

namespace {
template <typename Source>
void run_gemm(const Source& src, const float* px, int64_t M, int64_t K, int64_t nb, int64_t ne,
              float* out, int64_t ldo, Isa isa) {
  if (M <= 0 || ne <= nb) return;
#if LAMINA_HAS_X86_KERNELS
  if (packed_gemm_is_fast(isa)) return gemm_avx512(src, px, M, K, nb, ne, out, ldo);
#endif
  gemm_scalar(src, px, M, K, nb, ne, out, ldo);
}
}  // namespace

void packed_gemm_half_nt(HalfType type, const float* packed_x, int64_t M, int64_t K,
                         const uint16_t* w, int64_t ldw, int64_t n_begin, int64_t n_end,
                         float* out, int64_t ldo, Isa isa) {
  if (type == HalfType::bfloat16) {
    run_gemm(HalfRows<true>{w, ldw}, packed_x, M, K, n_begin, n_end, out, ldo, isa);
  } else {
    run_gemm(HalfRows<false>{w, ldw}, packed_x, M, K, n_begin, n_end, out, ldo, isa);
  }
}

void packed_gemm_float_nt(const float* packed_x, int64_t M, int64_t K, const float* w,
                          int64_t ldw, int64_t n_begin, int64_t n_end, float* out, int64_t ldo,
                          Isa isa) {
  run_gemm(FloatRows{w, ldw}, packed_x, M, K, n_begin, n_end, out, ldo, isa);
}

void packed_gemm_float_nn(const float* packed_x, int64_t M, int64_t K, const float* b,
                          int64_t ldb, int64_t n_begin, int64_t n_end, float* out, int64_t ldo,
                          Isa isa) {
  run_gemm(FloatCols{b, ldb}, packed_x, M, K, n_begin, n_end, out, ldo, isa);
}

bool packed_gemm_is_fast(Isa isa) { return isa == Isa::avx2 && has_avx512(); }

}  // namespace lamina::kernels
