// The two inner products of the CPU attention kernel on float32 tiles: the scores of one
// query row against a tile of keys, and the probability-weighted sum of a tile of values.
// Tiles are rows with a leading dimension, so float32 K/V can be read in place. Each has a
// scalar reference path and an AVX2+FMA path picked at run time (kernels/cpu/isa.h).
// Leaf code: raw pointers only.
#pragma once

#include <cstdint>

#include "kernels/cpu/isa.h"

namespace lamina::kernels {

// Keys per tile: the K and V rows of one tile are converted to float32 together.
inline constexpr int64_t kAttentionKeyTile = 64;

// scores[j] = sum_{d < dk} q[d] * k[j * ldk + d] for j < n.
void attention_scores_row(const float* q, int64_t dk, const float* k, int64_t ldk, int64_t n,
                          float* scores, Isa isa = best_isa());

// acc[d] += sum_{j < n} p[j] * v[j * ldv + d] for d < dv (entries with p[j] == 0 skipped).
void attention_accumulate_row(const float* p, int64_t n, const float* v, int64_t ldv, int64_t dv,
                              float* acc, Isa isa = best_isa());

}  // namespace lamina::kernels
