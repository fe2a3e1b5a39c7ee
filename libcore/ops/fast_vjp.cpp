// vjps of the fused primitives. Norms, rope and cross-entropy have fused backward kernels
// (RmsNormGrad, LayerNormGrad, the inverse Rope, CrossEntropyGrad); weight/bias cotangents
// are reductions over the rows. Attention's backward is a float32 composite of matmul and
// softmax, which materialises the [B, Hq, Lq, Lk] probabilities once.
#include <algorithm>
#include <limits>
#include <numeric>

#include "libcore/ops/creation.h"
#include "libcore/ops/elementwise.h"
#include "libcore/ops/fast.h"
#include "libcore/ops/fast_primitives.h"
#include "libcore/ops/matmul.h"
#include "libcore/ops/reduce.h"
#include "libcore/ops/softmax.h"
#include "libcore/ops/views.h"

namespace lamina::core {

namespace {

// Sums a [..., D] array over all axes but the last, giving [D] (a itself when 1-D).
Array sum_rows(const Array& a) {
  if (a.ndim() <= 1) return a;
  std::vector<int> axes(static_cast<size_t>(a.ndim() - 1));
  std::iota(axes.begin(), axes.end(), 0);
  return sum(a, axes);
}

Array as_f32(const Array& a) { return astype(a, Dtype::float32); }

}  // namespace

std::vector<Array> RmsNorm::vjp(const std::vector<Array>& inputs, const Array& g,
                                const std::vector<int>& argnums, const Array&) {
  const int residual = has_residual_ ? (has_weight_ ? 2 : 1) : -1;
  const Array x = has_residual_ ? inputs[0] + inputs[static_cast<size_t>(residual)] : inputs[0];
  std::vector<Array> grads;
  std::optional<Array> dx;  // the cotangent of x, and of the residual when there is one
  for (int k : argnums) {
    if (k == 0 || k == residual) {
      if (!dx) {
        std::vector<Array> in{x};
        if (has_weight_) in.push_back(inputs[1]);
        in.push_back(g);
        dx = Array(x.shape(), x.dtype(), std::make_shared<RmsNormGrad>(eps_, has_weight_), std::move(in));
      }
      grads.push_back(*dx);
    } else {
      // d weight = sum over rows of g * x * rsqrt(mean(x^2) + eps).
      grads.push_back(sum_rows(as_f32(g) * fast::rms_norm(as_f32(x), std::nullopt, eps_)));
    }
  }
  return grads;
}

std::vector<Array> LayerNorm::vjp(const std::vector<Array>& inputs, const Array& g,
                                  const std::vector<int>& argnums, const Array&) {
  const Array& x = inputs[0];
  const int bias_index = has_weight_ ? 2 : 1;
  std::vector<Array> grads;
  for (int k : argnums) {
    if (k == 0) {
      std::vector<Array> in{x};
      if (has_weight_) in.push_back(inputs[1]);
      in.push_back(g);
      grads.emplace_back(x.shape(), x.dtype(), std::make_shared<LayerNormGrad>(eps_, has_weight_),
                         std::move(in));
    } else if (k == bias_index && has_bias_) {
      grads.push_back(sum_rows(as_f32(g)));
    } else {
      grads.push_back(
          sum_rows(as_f32(g) * fast::layer_norm(as_f32(x), std::nullopt, std::nullopt, eps_)));
    }
  }
  return grads;
}

std::vector<Array> Rope::vjp(const std::vector<Array>& inputs, const Array& g,
                             const std::vector<int>& argnums, const Array&) {
  std::vector<Array> grads;
  for (int k : argnums) {
    if (k == 0) {
      // A rotation's transpose is the rotation by the negated angle.
      Params inverse = params_;
      inverse.inverse = !params_.inverse;
      std::vector<Array> in(inputs);
      in[0] = g;
      grads.emplace_back(g.shape(), g.dtype(), std::make_shared<Rope>(inverse), std::move(in));
    } else {
      grads.push_back(zeros_like(inputs[k]));  // freqs and offset: not differentiated
    }
  }
  return grads;
}

std::vector<Array> ScaledDotProductAttention::vjp(const std::vector<Array>& inputs, const Array& g,
                                                  const std::vector<int>& argnums, const Array& out) {
  if (rope_) {
    // A folded rope: through the unfused ops. q = rope(x) as a node of its own (built here,
    // not by scaled_dot_product_attention, so nothing folds it again); the attention's vjp
    // gives q's cotangent (cast to q's dtype, as the transform hands it on) and k's, v's and
    // the mask's; the rope's vjp gives x's and freqs'.
    const std::vector<Array> rope_in = rope_inputs(inputs);
    const Array q(rope_in[0].shape(), rope_in[0].dtype(), rope_, rope_in);
    std::vector<Array> unfused{q};
    unfused.insert(unfused.end(), inputs.begin() + k_index(), inputs.end());
    const int shift = k_index() - 1;  // unfused index = fused index - shift, from k on
    const bool wants_q = std::any_of(argnums.begin(), argnums.end(), [&](int a) { return a < k_index(); });
    std::vector<int> unfused_args;
    if (wants_q) unfused_args.push_back(0);
    for (int a : argnums) {
      if (a >= k_index()) unfused_args.push_back(a - shift);
    }
    const std::vector<Array> d =
        ScaledDotProductAttention(scale_, causal_, has_mask_).vjp(unfused, g, unfused_args, out);
    std::vector<Array> grads;
    size_t next = wants_q ? 1 : 0;  // d[0] is q's when wanted
    for (int a : argnums) {
      grads.push_back(a < k_index() ? rope_->vjp(rope_in, astype(d[0], q.dtype()), {a}, q)[0] : d[next++]);
    }
    return grads;
  }
  const Array& q = inputs[0];
  const Array& k = inputs[1];
  const Array& v = inputs[2];
  const int64_t batch = q.shape(0), q_heads = q.shape(1), q_len = q.shape(2);
  const int64_t kv_heads = k.shape(1), kv_len = k.shape(2);
  const int64_t group = q_heads / kv_heads, rows = group * q_len;
  // Query heads of a group are stacked along the rows: [B, Hkv, G * Lq, .], so that every
  // product is one batched matmul against the unrepeated K/V.
  auto fold = [&](const Array& a) {
    return reshape(as_f32(a), {batch, kv_heads, rows, a.shape(3)});
  };
  Array qf = fold(q);
  Array kf = as_f32(k);
  Array vf = as_f32(v);
  Array scores = matmul(qf, swapaxes(kf, -1, -2)) * static_cast<double>(scale_);
  const Array neg_inf(-std::numeric_limits<float>::infinity());
  bool may_hide_rows = false;
  if (causal_) {
    Array query_pos = reshape(arange(kv_len - q_len, kv_len, 1, Dtype::int32), {q_len, 1});
    Array key_pos = reshape(arange(0, kv_len, 1, Dtype::int32), {1, kv_len});
    Array keep = less_equal(key_pos, query_pos);  // [Lq, Lk]
    keep = reshape(broadcast_to(keep, {group, q_len, kv_len}), {rows, kv_len});
    scores = where(keep, scores, neg_inf);
    may_hide_rows = q_len > kv_len;
  }
  if (has_mask_) {
    Array mask = reshape(inputs[3], {batch, kv_heads, rows, kv_len});
    scores = mask.dtype() == Dtype::bool_ ? where(mask, scores, neg_inf) : scores + mask;
    may_hide_rows = true;
  }
  Array probs = softmax(scores, -1);
  // Rows that saw no key gave zeros in the forward; their softmax is NaN here.
  if (may_hide_rows) probs = where(equal(probs, probs), probs, zeros_like(probs));
  Array dout = fold(g);  // [B, Hkv, G * Lq, Dv]
  std::vector<Array> grads;
  Array dscores;
  for (int a : argnums) {
    if (a == 2) {
      grads.push_back(matmul(swapaxes(probs, -1, -2), dout));
      continue;
    }
    if (a == 3) {
      grads.push_back(zeros_like(inputs[3]));
      continue;
    }
    if (!dscores.valid()) {
      Array dprobs = matmul(dout, swapaxes(vf, -1, -2));
      dscores = probs * (dprobs - sum(dprobs * probs, {-1}, true)) * static_cast<double>(scale_);
    }
    if (a == 0) {
      grads.push_back(reshape(matmul(dscores, kf), q.shape()));
    } else {
      grads.push_back(matmul(swapaxes(dscores, -1, -2), qf));
    }
  }
  return grads;
}

std::vector<Array> CrossEntropy::vjp(const std::vector<Array>& inputs, const Array& g,
                                     const std::vector<int>& argnums, const Array&) {
  std::vector<Array> grads;
  for (int k : argnums) {
    if (k == 0) {
      const Array& logits = inputs[0];
      grads.emplace_back(logits.shape(), logits.dtype(), std::make_shared<CrossEntropyGrad>(),
                         std::vector<Array>{logits, inputs[1], as_f32(g)});
    } else {
      grads.push_back(zeros_like(inputs[1]));
    }
  }
  return grads;
}

}  // namespace lamina::core
