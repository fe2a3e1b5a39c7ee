// Softmax row kernels: scalar reference and AVX2+FMA with a polynomial exp.
#include "kernels/cpu/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#if LAMINA_HAS_X86_KERNELS
#include <immintrin.h>
#endif

namespace lamina::kernels {

namespace {

void softmax_scalar(const float* x, float* y, int64_t n) {
  float mx = -std::numeric_limits<float>::infinity();
  bool nan = false;
  for (int64_t i = 0; i < n; ++i) {
    nan |= std::isnan(x[i]);
    mx = std::max(mx, x[i]);
  }
  if (nan) mx = std::numeric_limits<float>::quiet_NaN();
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    y[i] = std::exp(x[i] - mx);
    sum += y[i];
  }
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) y[i] *= inv;
}

#if LAMINA_HAS_X86_KERNELS

// exp(x) = 2^k * exp(r), k = round(x / ln 2), |r| <= ln 2 / 2, exp(r) by its Taylor series
// to degree 7 (truncation error below 1e-8 relative). Inputs below ~-87.3 (where the
// result leaves the normal range) give 0; NaN stays NaN; inputs are assumed <= 88.
LAMINA_TARGET_AVX2 inline __m256 exp8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.33f);
  const __m256 tiny = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  __m256 xc = _mm256_max_ps(lo, x);  // NaN stays (max returns the second operand on NaN)
  xc = _mm256_min_ps(_mm256_set1_ps(88.0f), xc);
  const __m256 k = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // r = x - k ln2, with ln2 split into a short high part (exact k * hi) and a low part.
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i bits = _mm256_slli_epi32(
      _mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  const __m256 result = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
  return _mm256_andnot_ps(tiny, result);
}

LAMINA_TARGET_AVX2 inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

LAMINA_TARGET_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

LAMINA_TARGET_AVX2 void exp_avx2(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp8(_mm256_loadu_ps(x + i)));
  if (i < n) {
    alignas(32) float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::copy(x + i, x + n, buf);
    _mm256_store_ps(buf, exp8(_mm256_load_ps(buf)));
    std::copy(buf, buf + (n - i), y + i);
  }
}

LAMINA_TARGET_AVX2 void softmax_avx2(const float* x, float* y, int64_t n) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  __m256 m0 = _mm256_set1_ps(neg_inf), m1 = m0;
  __m256 any_nan = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
    m0 = _mm256_max_ps(m0, a);
    m1 = _mm256_max_ps(m1, b);
    any_nan = _mm256_or_ps(any_nan, _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
  }
  float mx = hmax(_mm256_max_ps(m0, m1));
  bool nan = _mm256_movemask_ps(any_nan) != 0;
  for (; i < n; ++i) {
    nan |= std::isnan(x[i]);
    mx = std::max(mx, x[i]);
  }
  if (nan) mx = std::numeric_limits<float>::quiet_NaN();
  const __m256 vmax = _mm256_set1_ps(mx);
  __m256 s0 = _mm256_setzero_ps(), s1 = s0;
  i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 e0 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
    __m256 e1 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vmax));
    _mm256_storeu_ps(y + i, e0);
    _mm256_storeu_ps(y + i + 8, e1);
    s0 = _mm256_add_ps(s0, e0);
    s1 = _mm256_add_ps(s1, e1);
  }
  float sum = hsum(_mm256_add_ps(s0, s1));
  if (i < n) {
    alignas(32) float buf[16];
    const int64_t rest = n - i;
    for (int64_t j = 0; j < 16; ++j) buf[j] = j < rest ? x[i + j] - mx : neg_inf;
    _mm256_store_ps(buf, exp8(_mm256_load_ps(buf)));
    _mm256_store_ps(buf + 8, exp8(_mm256_load_ps(buf + 8)));
    for (int64_t j = 0; j < rest; ++j) {
      y[i + j] = buf[j];
      sum += buf[j];
    }
  }
  const __m256 inv = _mm256_set1_ps(1.0f / sum);
  i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), inv));
  const float inv_s = 1.0f / sum;
  for (; i < n; ++i) y[i] *= inv_s;
}

#endif  // LAMINA_HAS_X86_KERNELS

}  // namespace

void softmax_row(const float* x, float* y, int64_t n, Isa isa) {
  if (n <= 0) return;
#if LAMINA_HAS_X86_KERNELS
  if (isa == Isa::avx2) return softmax_avx2(x, y, n);
#endif
  softmax_scalar(x, y, n);
}

void exp_row(const float* x, float* y, int64_t n, Isa isa) {
#if LAMINA_HAS_X86_KERNELS
  if (isa == Isa::avx2) return exp_avx2(x, y, n);
#endif
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

}  // namespace lamina::kernels
