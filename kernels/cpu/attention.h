// Scaled dot-product attention kernels (flash-attention style, float32): one call handles
// the query rows of one (batch, K/V head, query block) — every query head of the GQA group
// at once, so each K/V tile is converted once for all of them — over a range of keys,
// keeping an online softmax state (running max m, sum l, unnormalised output acc) per row.
// Partial states over key ranges can be merged afterwards. Leaf code: raw pointers only.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/cpu/attention_tile.h"
#include "kernels/cpu/float_vec.h"
#include "kernels/cpu/softmax.h"

namespace lamina::kernels {

// How the optional mask array is read: not at all, added to the scores, or as bool keep.
enum class AttentionMask { none, additive, keep };

// Sizes and element strides of q [B, Hq, Lq, Dk], k [B, Hkv, Lk, Dk], v [B, Hkv, Lk, Dv]
// and mask [B, Hq, Lq, Lk] (stride 0 along broadcast axes).
struct AttentionProblem {
  int64_t batch = 0, q_heads = 0, kv_heads = 0, q_len = 0, kv_len = 0, qk_dim = 0, v_dim = 0;
  float scale = 1.0f;
  bool causal = false;  // query i sees keys j <= kv_len - q_len + i
  std::array<int64_t, 4> q_strides{}, k_strides{}, v_strides{}, mask_strides{};
  int64_t group() const { return q_heads / kv_heads; }
  // One past the last key query i may see.
  int64_t key_limit(int64_t i) const { return causal ? kv_len - q_len + i + 1 : kv_len; }
};

// Per-thread scratch, reused across blocks. Row rr = g * (i1 - i0) + (i - i0) for query
// head g of the group and query i. K/V tiles hold converted rows when K/V are not
// float32 with contiguous rows.
struct AttentionScratch {
  std::vector<float> q, acc, m, l, k_tile, v_tile, scores;
  void resize(int64_t rows, int64_t qk_dim, int64_t v_dim) {
    q.resize(static_cast<size_t>(rows * qk_dim));
    acc.resize(static_cast<size_t>(rows * v_dim));
    m.resize(static_cast<size_t>(rows));
    l.resize(static_cast<size_t>(rows));
    k_tile.resize(static_cast<size_t>(kAttentionKeyTile * qk_dim));
    v_tile.resize(static_cast<size_t>(kAttentionKeyTile * v_dim));
    scores.resize(static_cast<size_t>(kAttentionKeyTile));
  }
};

// Runs the online softmax of the rows of (b, kv head hk, queries [i0, i1)) over keys
// [j_begin, j_end), leaving each row's state in s.m, s.l, s.acc. M is the mask's element
// type (bool for keep, float for additive; ignored for none).
template <typename T, AttentionMask kMask, typename M>
void attention_block(const AttentionProblem& pr, const T* q, const T* k, const T* v, const M* mask,
                     int64_t b, int64_t hk, int64_t i0, int64_t i1, int64_t j_begin, int64_t j_end,
                     AttentionScratch& s, Isa isa = best_isa()) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const int64_t group = pr.group(), nq = i1 - i0, rows = group * nq;
  const int64_t dk = pr.qk_dim, dv = pr.v_dim;
  const auto& qs = pr.q_strides;
  const auto& ks = pr.k_strides;
  const auto& vs = pr.v_strides;
  const auto& ms = pr.mask_strides;
  s.resize(rows, dk, dv);
  for (int64_t g = 0; g < group; ++g) {
    const int64_t h = hk * group + g;
    for (int64_t i = i0; i < i1; ++i) {
      float* qr = s.q.data() + (g * nq + i - i0) * dk;
      load_float(q + b * qs[0] + h * qs[1] + i * qs[2], qs[3], dk, qr);
      scale_by(pr.scale, qr, dk);
    }
  }
  std::fill(s.m.begin(), s.m.end(), kNegInf);
  std::fill(s.l.begin(), s.l.end(), 0.0f);
  std::fill(s.acc.begin(), s.acc.end(), 0.0f);
  j_end = std::min(j_end, pr.key_limit(i1 - 1));
  for (int64_t j0 = j_begin; j0 < j_end; j0 += kAttentionKeyTile) {
    const int64_t j1 = std::min(j0 + kAttentionKeyTile, j_end);
    const T* k_rows = k + b * ks[0] + hk * ks[1] + j0 * ks[2];
    const T* v_rows = v + b * vs[0] + hk * vs[1] + j0 * vs[2];
    // float32 rows with unit stride are read in place; anything else is converted.
    constexpr bool kFloat = std::is_same_v<T, float>;
    const bool k_in_place = kFloat && ks[3] == 1, v_in_place = kFloat && vs[3] == 1;
    const float* kt = s.k_tile.data();
    const float* vt = s.v_tile.data();
    int64_t ldk = dk, ldv = dv;
    if constexpr (kFloat) {
      if (k_in_place) {
        kt = k_rows;
        ldk = ks[2];
      }
      if (v_in_place) {
        vt = v_rows;
        ldv = vs[2];
      }
    }
    for (int64_t j = 0; !k_in_place && j < j1 - j0; ++j) {
      load_float(k_rows + j * ks[2], ks[3], dk, s.k_tile.data() + j * dk);
    }
    for (int64_t j = 0; !v_in_place && j < j1 - j0; ++j) {
      load_float(v_rows + j * vs[2], vs[3], dv, s.v_tile.data() + j * dv);
    }
    for (int64_t g = 0; g < group; ++g) {
      const int64_t h = hk * group + g;
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t n = std::min(j1, pr.key_limit(i)) - j0;
        if (n <= 0) continue;
        const int64_t rr = g * nq + i - i0;
        float* sc = s.scores.data();
        attention_scores_row(s.q.data() + rr * dk, dk, kt, ldk, n, sc, isa);
        if constexpr (kMask != AttentionMask::none) {
          const M* mrow = mask + b * ms[0] + h * ms[1] + i * ms[2] + j0 * ms[3];
          for (int64_t jj = 0; jj < n; ++jj) {
            if constexpr (kMask == AttentionMask::additive) {
              sc[jj] += static_cast<float>(mrow[jj * ms[3]]);
            } else if (!mrow[jj * ms[3]]) {
              sc[jj] = kNegInf;
            }
          }
        }
        const float tile_max = max_value(sc, n);
        if (tile_max == kNegInf) continue;  // nothing visible in this tile
        float* acc = s.acc.data() + rr * dv;
        const float m_new = std::max(s.m[rr], tile_max);
        if (m_new > s.m[rr]) {
          const float correction = std::exp(s.m[rr] - m_new);
          s.l[rr] *= correction;
          scale_by(correction, acc, dv);
          s.m[rr] = m_new;
        }
        add_scalar(sc, -m_new, sc, n);
        exp_row(sc, sc, n, isa);  // masked (-inf) scores give exactly 0
        s.l[rr] += sum(sc, n);
        attention_accumulate_row(sc, n, vt, ldv, dv, acc, isa);
      }
    }
  }
}

// Writes the normalised rows of the block (acc / l; zeros where no key was visible) into
// the row-major out [B, Hq, Lq, Dv].
template <typename T>
void attention_store(const AttentionProblem& pr, const AttentionScratch& s, int64_t b, int64_t hk,
                     int64_t i0, int64_t i1, T* out) {
  const int64_t group = pr.group(), nq = i1 - i0, dv = pr.v_dim;
  for (int64_t g = 0; g < group; ++g) {
    const int64_t h = hk * group + g;
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t rr = g * nq + i - i0;
      const float l = s.l[rr];
      const float inv = l > 0.0f ? 1.0f / l : (l == 0.0f ? 0.0f : l);  // NaN stays NaN
      const float* acc = s.acc.data() + rr * dv;
      T* o = out + ((b * pr.q_heads + h) * pr.q_len + i) * dv;
      for (int64_t d = 0; d < dv; ++d) o[d] = static_cast<T>(acc[d] * inv);
    }
  }
}

// Writes the block's states into `partial`, laid out [B, Hq, Lq, 2 + Dv] as (m, l, acc).
inline void attention_store_partial(const AttentionProblem& pr, const AttentionScratch& s,
                                    int64_t b, int64_t hk, int64_t i0, int64_t i1, float* partial) {
  const int64_t group = pr.group(), nq = i1 - i0, dv = pr.v_dim;
  for (int64_t g = 0; g < group; ++g) {
    const int64_t h = hk * group + g;
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t rr = g * nq + i - i0;
      float* p = partial + ((b * pr.q_heads + h) * pr.q_len + i) * (dv + 2);
      p[0] = s.m[rr];
      p[1] = s.l[rr];
      std::copy(s.acc.begin() + rr * dv, s.acc.begin() + (rr + 1) * dv, p + 2);
    }
  }
}

// Merges the `chunks` partial states of one output row (state c at
// partials + c * chunk_stride) into out[0 .. dv). tmp holds dv floats.
template <typename T>
void attention_merge_row(const float* partials, int64_t chunk_stride, int64_t chunks, int64_t dv,
                         float* tmp, T* out) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t c = 0; c < chunks; ++c) {
    const float* p = partials + c * chunk_stride;
    if (p[1] > 0.0f || p[1] != p[1]) m = std::max(m, p[0]);
  }
  std::fill(tmp, tmp + dv, 0.0f);
  float l = 0.0f;
  for (int64_t c = 0; c < chunks; ++c) {
    const float* p = partials + c * chunk_stride;
    if (!(p[1] > 0.0f || p[1] != p[1])) continue;  // no visible key in this chunk
    const float w = std::exp(p[0] - m);
    l += p[1] * w;
    axpy(w, p + 2, tmp, dv);
  }
  const float inv = l > 0.0f ? 1.0f / l : (l == 0.0f ? 0.0f : l);  // NaN stays NaN
  for (int64_t d = 0; d < dv; ++d) out[d] = static_cast<T>(tmp[d] * inv);
}

}  // namespace lamina::kernels
