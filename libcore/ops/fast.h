// Fused ops for the LLM hot paths (as mlx.core.fast): RMS/layer norm, rotary embeddings,
// scaled dot-product attention with GQA and masks, and a fused cross-entropy. Each is one
// primitive with a CPU kernel and a vjp; all accumulate in float32.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "libcore/array/array.h"

namespace lamina::core::fast {

// Returns x * rsqrt(mean(x^2 over the last axis) + eps) * weight, computed in float32 and
// returned in x's dtype. weight ([D], any float dtype) is optional (Gemma's 1 + w is
// passed in already offset).
Array rms_norm(const Array& x, const std::optional<Array>& weight, float eps);

// Returns (x - mean) * rsqrt(var + eps) * weight + bias over the last axis (population
// variance), computed in float32 and returned in x's dtype. weight and bias are optional.
Array layer_norm(const Array& x, const std::optional<Array>& weight,
                 const std::optional<Array>& bias, float eps);

// Returns x ([..., T, D], at least 2-D) with its first `dims` features rotated by the
// angle (offset + t) * scale * theta_i for pair i, theta_i = base^(-2i / dims), or
// theta_i = 1 / freqs[i] when freqs ([dims / 2]) is given (then base must be nullopt).
// traditional: the pairs are (2i, 2i + 1); otherwise (i, i + dims / 2), the Hugging Face
// layout. Features from dims on pass through. Computed in float32, returned in x's dtype.
Array rope(const Array& x, int dims, bool traditional, std::optional<float> base, float scale,
           int64_t offset, const std::optional<Array>& freqs = std::nullopt);
// As above with the offset in an integer array: a scalar, or one offset per x.shape(0)
// entry (x then at least 3-D).
Array rope(const Array& x, int dims, bool traditional, std::optional<float> base, float scale,
           const Array& offset, const std::optional<Array>& freqs = std::nullopt);

// Returns softmax(q k^T * scale + mask) v for q [B, Hq, Lq, D], k [B, Hkv, Lk, D] and
// v [B, Hkv, Lk, Dv] with Hq a multiple of Hkv (query head h reads K/V head
// h / (Hq / Hkv); K/V are never repeated in memory). Result [B, Hq, Lq, Dv] in the
// promoted dtype of q, k, v (q's dtype when they agree).
// mask_mode "causal": query i sits at position Lk - Lq + i and sees keys at positions up
// to it (a KV cache's layout); "" for none. `mask` (broadcastable to [B, Hq, Lq, Lk]) is
// either additive (floating) or bool (true = keep). Rows that see no key give zeros.
// A pending rope(x) of a decode step as q is folded into the node (kFoldRopeMaxRows in
// fast_primitives.h).
Array scaled_dot_product_attention(const Array& q, const Array& k, const Array& v, float scale,
                                   const std::string& mask_mode = "",
                                   const std::optional<Array>& mask = std::nullopt);
// As above with only an array mask.
Array scaled_dot_product_attention(const Array& q, const Array& k, const Array& v, float scale,
                                   const Array& mask);

// Returns the per-position loss logsumexp(logits[..., :]) - logits[..., target] in
// float32, shape logits.shape()[:-1], for integer targets of that shape in [0, V). The
// log-softmax is never materialised. Out-of-range targets throw at evaluation (mask
// ignored positions before calling, e.g. with where(valid, targets, 0), and after).
Array cross_entropy(const Array& logits, const Array& targets);

}  // namespace lamina::core::fast
