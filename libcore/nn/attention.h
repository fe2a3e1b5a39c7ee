// Multi-head attention with grouped K/V heads, RoPE and a KV cache: the part every
// decoder-only architecture shares once its q/k/v projections are computed.
#pragma once

#include <optional>

#include "libcore/array/array.h"
#include "libcore/nn/kv_cache.h"
#include "libcore/nn/norm.h"
#include "libcore/nn/rope.h"

namespace lamina::nn {

struct AttentionSpec {
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  float scale = 1.0f;                   // usually head_dim^-0.5
  std::optional<RMSNorm> q_norm, k_norm;  // per-head norms (Qwen3), before RoPE
};

// q [B, L, H*D], k/v [B, L, Hkv*D] -> [B, L, H*D]: splits heads, applies the optional norms
// and RoPE at the cache's offset, appends to the cache and attends causally.
core::Array attend(const core::Array& q, const core::Array& k, const core::Array& v,
                   const AttentionSpec& spec, const RoPE& rope, KVCache& cache);

}  // namespace lamina::nn
