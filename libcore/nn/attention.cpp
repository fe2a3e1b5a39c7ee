// Shared attention plumbing.
#include "libcore/nn/attention.h"

#include "libcore/ops/fast.h"
#include "libcore/ops/ops.h"

namespace lamina::nn {

using namespace lamina::core;

namespace {
// [B, L, H*D] -> [B, H, L, D]
Array split_heads(const Array& x, int64_t heads, int64_t head_dim) {
  return transpose(reshape(x, {x.shape(0), x.shape(1), heads, head_dim}), {0, 2, 1, 3});
}
}  // namespace

Array attend(const Array& q_in, const Array& k_in, const Array& v_in, const AttentionSpec& spec,
             const RoPE& rope, KVCache& cache) {
  const int64_t B = q_in.shape(0), L = q_in.shape(1);
  Array q = split_heads(q_in, spec.heads, spec.head_dim);
  Array k = split_heads(k_in, spec.kv_heads, spec.head_dim);
  Array v = split_heads(v_in, spec.kv_heads, spec.head_dim);
  if (spec.q_norm) q = (*spec.q_norm)(q);
  if (spec.k_norm) k = (*spec.k_norm)(k);
  int64_t offset = cache.offset();
  q = rope(q, offset);
  k = rope(k, offset);
  auto [keys, values] = cache.update_and_fetch(k, v);
  Array out = fast::scaled_dot_product_attention(q, keys, values, spec.scale, L > 1 ? "causal" : "");
  return reshape(transpose(out, {0, 2, 1, 3}), {B, L, spec.heads * spec.head_dim});
}

}  // namespace lamina::nn
