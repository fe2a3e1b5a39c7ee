// Builders of the fused ops: check shapes and dtypes (throwing lamina::Error with the op's
// name), cast or broadcast the small inputs the kernels expect, and add one node.
#include "libcore/ops/fast.h"

#include <algorithm>
#include <memory>

#include "libcore/ops/elementwise_primitives.h"
#include "libcore/ops/fast_primitives.h"
#include "libcore/ops/views.h"

namespace lamina::core::fast {

namespace {

void check_floating(const Array& a, const char* op, const char* what) {
  if (!is_floating(a.dtype())) {
    throw Error(std::string(op) + ": " + what + " must be floating, got " + dtype_name(a.dtype()));
  }
}

// Checks an optional per-feature parameter: floating, shape [features].
void check_feature_param(const std::optional<Array>& p, int64_t features, const char* op,
                         const char* what) {
  if (!p) return;
  check_floating(*p, op, what);
  if (p->shape() != Shape{features}) {
    throw Error(std::string(op) + ": " + what + " has shape " + shape_string(p->shape()) +
                ", expected [" + std::to_string(features) + "]");
  }
}

void check_has_features(const Array& x, const char* op) {
  check_floating(x, op, "x");
  if (x.ndim() < 1) throw Error(std::string(op) + ": x must have at least one axis");
}

}  // namespace

Array rms_norm(const Array& x, const std::optional<Array>& weight, float eps) {
  check_has_features(x, "rms_norm");
  check_feature_param(weight, x.shape(-1), "rms_norm", "weight");
  // x = a + b not evaluated yet (a residual stream): normalise a + b from a and b, so that
  // the norm runs beside the sum instead of after it (the sum's node stays for its other
  // users). Same values: the kernel rounds the sum to the dtype as add() does.
  const auto* sum = x.is_evaluated() ? nullptr : dynamic_cast<const Add*>(x.primitive().get());
  const bool fuse = sum != nullptr && x.inputs().size() == 2 &&
                    std::all_of(x.inputs().begin(), x.inputs().end(), [&](const Array& in) {
                      return in.shape() == x.shape() && in.dtype() == x.dtype();
                    });
  std::vector<Array> inputs{fuse ? x.inputs()[0] : x};
  if (weight) inputs.push_back(*weight);
  if (fuse) inputs.push_back(x.inputs()[1]);
  return Array(x.shape(), x.dtype(), std::make_shared<RmsNorm>(eps, weight.has_value(), fuse),
               std::move(inputs));
}

Array layer_norm(const Array& x, const std::optional<Array>& weight,
                 const std::optional<Array>& bias, float eps) {
  check_has_features(x, "layer_norm");
  check_feature_param(weight, x.shape(-1), "layer_norm", "weight");
  check_feature_param(bias, x.shape(-1), "layer_norm", "bias");
  std::vector<Array> inputs{x};
  if (weight) inputs.push_back(*weight);
  if (bias) inputs.push_back(*bias);
  return Array(x.shape(), x.dtype(),
               std::make_shared<LayerNorm>(eps, weight.has_value(), bias.has_value()),
               std::move(inputs));
}

namespace {

Array rope_node(const Array& x, int dims, bool traditional, std::optional<float> base, float scale,
                int64_t offset, const std::optional<Array>& offset_array,
                const std::optional<Array>& freqs) {
  check_floating(x, "rope", "x");
  if (x.ndim() < 2) {
    throw Error("rope: x must be at least 2-D ([..., T, D]), got " + shape_string(x.shape()));
  }
  const int64_t d = x.shape(-1);
  if (dims <= 0 || dims % 2 != 0 || dims > d) {
    throw Error("rope: dims must be even and in (0, " + std::to_string(d) + "], got " +
                std::to_string(dims));
  }
  if (base.has_value() == freqs.has_value()) {
    throw Error("rope: give exactly one of base and freqs");
  }
  Rope::Params p;
  p.dims = dims;
  p.traditional = traditional;
  p.base = base.value_or(0.0f);
  p.scale = scale;
  p.offset = offset;
  std::vector<Array> inputs{x};
  if (freqs) {
    check_floating(*freqs, "rope", "freqs");
    if (freqs->shape() != Shape{dims / 2}) {
      throw Error("rope: freqs has shape " + shape_string(freqs->shape()) + ", expected [" +
                  std::to_string(dims / 2) + "]");
    }
    p.has_freqs = true;
    inputs.push_back(astype(*freqs, Dtype::float32));
  }
  if (offset_array) {
    const Array& o = *offset_array;
    if (!is_integral(o.dtype())) {
      throw Error(std::string("rope: offset must be an integer array, got ") +
                  dtype_name(o.dtype()));
    }
    bool per_batch = o.ndim() == 1 && x.ndim() >= 3 && o.shape(0) == x.shape(0);
    if (o.size() != 1 && !per_batch) {
      throw Error(
          "rope: offset must be a scalar or hold one entry per x.shape(0) (x at least "
          "3-D), got " +
          shape_string(o.shape()) + " for x " + shape_string(x.shape()));
    }
    p.has_offset_array = true;
    inputs.push_back(o.size() == 1 && o.ndim() != 1 ? reshape(o, {1}) : o);
  }
  return Array(x.shape(), x.dtype(), std::make_shared<Rope>(p), std::move(inputs));
}

// The rope of q to fold into an attention of dtype t (see kFoldRopeMaxRows), or null: q a
// Rope node not evaluated yet, of dtype t, forward, with a constant offset, rotating the
// whole head dim, of at most kFoldRopeMaxRows query rows.
std::shared_ptr<Rope> fold_rope(const Array& q, Dtype t) {
  auto rope = q.is_evaluated() ? nullptr : std::dynamic_pointer_cast<Rope>(q.primitive());
  if (!rope || q.dtype() != t || q.shape(2) > kFoldRopeMaxRows) return nullptr;
  const Rope::Params& p = rope->params();
  if (p.inverse || p.has_offset_array || p.dims != q.shape(3)) return nullptr;
  return rope;
}

}  // namespace

Array rope(const Array& x, int dims, bool traditional, std::optional<float> base, float scale,
           int64_t offset, const std::optional<Array>& freqs) {
  return rope_node(x, dims, traditional, base, scale, offset, std::nullopt, freqs);
}

Array rope(const Array& x, int dims, bool traditional, std::optional<float> base, float scale,
           const Array& offset, const std::optional<Array>& freqs) {
  return rope_node(x, dims, traditional, base, scale, 0, offset, freqs);
}

Array scaled_dot_product_attention(const Array& q, const Array& k, const Array& v, float scale,
                                   const std::string& mask_mode, const std::optional<Array>& mask) {
  const char* op = "scaled_dot_product_attention";
  if (q.ndim() != 4 || k.ndim() != 4 || v.ndim() != 4) {
    throw Error(std::string(op) + ": q, k, v must be 4-D [B, H, L, D], got " +
                shape_string(q.shape()) + ", " + shape_string(k.shape()) + ", " +
                shape_string(v.shape()));
  }
  const int64_t batch = q.shape(0), q_heads = q.shape(1), q_len = q.shape(2);
  const int64_t kv_heads = k.shape(1), kv_len = k.shape(2);
  if (k.shape(0) != batch || v.shape(0) != batch || v.shape(1) != kv_heads ||
      v.shape(2) != kv_len || k.shape(3) != q.shape(3) || kv_heads == 0 ||
      q_heads % kv_heads != 0) {
    throw Error(std::string(op) + ": incompatible q " + shape_string(q.shape()) + ", k " +
                shape_string(k.shape()) + ", v " + shape_string(v.shape()) +
                " (need equal batch, k/v heads and lengths, q/k head dims, and query heads a "
                "multiple of key/value heads)");
  }
  Dtype t = promote_types(promote_types(q.dtype(), k.dtype()), v.dtype());
  if (!is_floating(t)) {
    throw Error(std::string(op) + ": q, k, v must be floating, got " + dtype_name(t));
  }
  bool causal = false;
  if (mask_mode == "causal") {
    causal = true;
  } else if (!mask_mode.empty()) {
    throw Error(std::string(op) + ": unknown mask mode '" + mask_mode +
                "' (use \"causal\" or \"\")");
  }
  // q = rope(x) not evaluated yet, as it is (no cast) and of a decode step: the attention
  // rotates x as it loads it, one dispatch instead of two (the rope's node stays for any
  // other user). Same values: q is rotated and rounded to the dtype as the Rope stores it.
  std::shared_ptr<Rope> rope = fold_rope(q, t);
  std::vector<Array> inputs = rope ? q.inputs() : std::vector<Array>{astype(q, t)};
  inputs.push_back(astype(k, t));
  inputs.push_back(astype(v, t));
  if (mask) {
    Shape scores{batch, q_heads, q_len, kv_len};
    Array m = *mask;
    if (m.dtype() != Dtype::bool_) {
      check_floating(m, op, "mask");
      m = astype(m, Dtype::float32);  // on the mask's own (unbroadcast) shape: cheap
    }
    bool fits = m.ndim() <= 4;
    try {
      fits = fits && broadcast_shapes(m.shape(), scores) == scores;
    } catch (const Error&) {
      fits = false;
    }
    if (!fits) {
      throw Error(std::string(op) + ": mask of shape " + shape_string(m.shape()) +
                  " does not broadcast to the scores' shape " + shape_string(scores));
    }
    inputs.push_back(broadcast_to(m, scores));
  }
  return Array(Shape{batch, q_heads, q_len, v.shape(3)}, t,
               std::make_shared<ScaledDotProductAttention>(scale, causal, mask.has_value(), std::move(rope)),
               std::move(inputs));
}

Array scaled_dot_product_attention(const Array& q, const Array& k, const Array& v, float scale,
                                   const Array& mask) {
  return scaled_dot_product_attention(q, k, v, scale, "", mask);
}

Array cross_entropy(const Array& logits, const Array& targets) {
  check_has_features(logits, "cross_entropy");
  if (!is_integral(targets.dtype())) {
    throw Error(std::string("cross_entropy: targets must be integers, got ") +
                dtype_name(targets.dtype()));
  }
  Shape rows(logits.shape().begin(), logits.shape().end() - 1);
  if (targets.shape() != rows) {
    throw Error("cross_entropy: targets have shape " + shape_string(targets.shape()) +
                ", expected " + shape_string(rows) + " for logits " + shape_string(logits.shape()));
  }
  return Array(rows, Dtype::float32, std::make_shared<CrossEntropy>(), {logits, targets});
}

}  // namespace lamina::core::fast

namespace lamina::core {

void RmsNorm::print(std::ostream& os) const {
  os << "RmsNorm(eps=" << eps_ << (has_weight_ ? ", weight" : "") << (has_residual_ ? ", residual" : "")
     << ")";
}

void LayerNorm::print(std::ostream& os) const {
  os << "LayerNorm(eps=" << eps_ << (has_weight_ ? ", weight" : "") << (has_bias_ ? ", bias" : "")
     << ")";
}

void Rope::print(std::ostream& os) const {
  const Params& p = params_;
  os << "Rope(dims=" << p.dims << (p.traditional ? ", traditional" : "");
  if (!p.has_freqs) os << ", base=" << p.base;
  os << ", scale=" << p.scale;
  if (!p.has_offset_array) os << ", offset=" << p.offset;
  os << (p.inverse ? ", inverse" : "") << ")";
}

void ScaledDotProductAttention::print(std::ostream& os) const {
  os << "ScaledDotProductAttention(scale=" << scale_ << (causal_ ? ", causal" : "")
     << (has_mask_ ? ", mask" : "");
  if (rope_) {
    os << ", ";
    rope_->print(os);
  }
  os << ")";
}

}  // namespace lamina::core
