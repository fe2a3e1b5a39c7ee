// Attention tile products: scalar reference paths and AVX2+FMA paths (compiled with a
// target attribute, chosen at run time).
#include "kernels/cpu/attention_tile.h"

#if LAMINA_HAS_X86_KERNELS
#include <immintrin.h>
#endif

namespace lamina::kernels {

namespace {

void scores_scalar(const float* q, int64_t dk, const float* k, int64_t ldk, int64_t n,
                   float* scores) {
  for (int64_t j = 0; j < n; ++j) {
    const float* row = k + j * ldk;
    float s = 0.0f;
    for (int64_t d = 0; d < dk; ++d) s += q[d] * row[d];
    scores[j] = s;
  }
}

void accumulate_scalar(const float* p, int64_t n, const float* v, int64_t ldv, int64_t dv,
                       float* acc) {
  for (int64_t j = 0; j < n; ++j) {
    const float w = p[j];
    if (w == 0.0f) continue;
    const float* row = v + j * ldv;
    for (int64_t d = 0; d < dv; ++d) acc[d] += w * row[d];
  }
}

#if LAMINA_HAS_X86_KERNELS

// Four keys at a time: four accumulators share each load of q, then one reduction of the
// four (hadd twice, add the 128-bit halves) gives the four scores.
LAMINA_TARGET_AVX2 void scores_avx2(const float* q, int64_t dk, const float* k, int64_t ldk,
                                    int64_t n, float* scores) {
  const int64_t dk8 = dk / 8 * 8;
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float* k0 = k + j * ldk;
    const float* k1 = k0 + ldk;
    const float* k2 = k1 + ldk;
    const float* k3 = k2 + ldk;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t d = 0; d < dk8; d += 8) {
      const __m256 qv = _mm256_loadu_ps(q + d);
      a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + d), a0);
      a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k1 + d), a1);
      a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k2 + d), a2);
      a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k3 + d), a3);
    }
    const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    alignas(16) float out[4];
    _mm_store_ps(out, s);
    for (int64_t d = dk8; d < dk; ++d) {
      out[0] += q[d] * k0[d];
      out[1] += q[d] * k1[d];
      out[2] += q[d] * k2[d];
      out[3] += q[d] * k3[d];
    }
    for (int u = 0; u < 4; ++u) scores[j + u] = out[u];
  }
  if (j < n) scores_scalar(q, dk, k + j * ldk, ldk, n - j, scores + j);
}

// acc is walked in 64-float blocks held in eight named registers (an array would be kept
// on the stack at -O2) while j runs over the tile.
LAMINA_TARGET_AVX2 void accumulate_avx2(const float* p, int64_t n, const float* v, int64_t ldv,
                                        int64_t dv, float* acc) {
  int64_t d = 0;
  for (; d + 64 <= dv; d += 64) {
    float* o = acc + d;
    __m256 a0 = _mm256_loadu_ps(o), a1 = _mm256_loadu_ps(o + 8);
    __m256 a2 = _mm256_loadu_ps(o + 16), a3 = _mm256_loadu_ps(o + 24);
    __m256 a4 = _mm256_loadu_ps(o + 32), a5 = _mm256_loadu_ps(o + 40);
    __m256 a6 = _mm256_loadu_ps(o + 48), a7 = _mm256_loadu_ps(o + 56);
    for (int64_t j = 0; j < n; ++j) {
      if (p[j] == 0.0f) continue;
      const __m256 w = _mm256_broadcast_ss(p + j);
      const float* row = v + j * ldv + d;
      a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(row), a0);
      a1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(row + 8), a1);
      a2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(row + 16), a2);
      a3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(row + 24), a3);
      a4 = _mm256_fmadd_ps(w, _mm256_loadu_ps(row + 32), a4);
      a5 = _mm256_fmadd_ps(w, _mm256_loadu_ps(row + 40), a5);
      a6 = _mm256_fmadd_ps(w, _mm256_loadu_ps(row + 48), a6);
      a7 = _mm256_fmadd_ps(w, _mm256_loadu_ps(row + 56), a7);
    }
    _mm256_storeu_ps(o, a0);
    _mm256_storeu_ps(o + 8, a1);
    _mm256_storeu_ps(o + 16, a2);
    _mm256_storeu_ps(o + 24, a3);
    _mm256_storeu_ps(o + 32, a4);
    _mm256_storeu_ps(o + 40, a5);
    _mm256_storeu_ps(o + 48, a6);
    _mm256_storeu_ps(o + 56, a7);
  }
  for (; d + 8 <= dv; d += 8) {
    __m256 a = _mm256_loadu_ps(acc + d);
    for (int64_t j = 0; j < n; ++j) {
      if (p[j] == 0.0f) continue;
      a = _mm256_fmadd_ps(_mm256_broadcast_ss(p + j), _mm256_loadu_ps(v + j * ldv + d), a);
    }
    _mm256_storeu_ps(acc + d, a);
  }
  if (d < dv) accumulate_scalar(p, n, v + d, ldv, dv - d, acc + d);
}

#endif  // LAMINA_HAS_X86_KERNELS

}  // namespace

void attention_scores_row(const float* q, int64_t dk, const float* k, int64_t ldk, int64_t n,
                          float* scores, Isa isa) {
#if LAMINA_HAS_X86_KERNELS
  if (isa == Isa::avx2) return scores_avx2(q, dk, k, ldk, n, scores);
#endif
  scores_scalar(q, dk, k, ldk, n, scores);
}

void attention_accumulate_row(const float* p, int64_t n, const float* v, int64_t ldv, int64_t dv,
                              float* acc, Isa isa) {
#if LAMINA_HAS_X86_KERNELS
  if (isa == Isa::avx2) return accumulate_avx2(p, n, v, ldv, dv, acc);
#endif
  accumulate_scalar(p, n, v, ldv, dv, acc);
}

}  // namespace lamina::kernels
