// Primitives of the fused ops in fast.h and of their fused backward passes. Optional
// array inputs (weight, bias, freqs, offset, mask) are present in `inputs` only when the
// flags say so, in the order the comments give.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "libcore/ops/primitive.h"

namespace lamina::core {

// inputs {x, [weight], [residual]} -> x's dtype and shape. With a residual (x's shape and
// dtype) the row normalised is x + residual, rounded to the dtype as add() would: the norm
// of a residual stream's sum in one pass, without waiting for the sum's own node.
class RmsNorm : public Primitive {
 public:
  RmsNorm(float eps, bool has_weight, bool has_residual = false)
      : eps_(eps), has_weight_(has_weight), has_residual_(has_residual) {}
  LAMINA_PRIMITIVE(RmsNorm)
  LAMINA_VJP
  void print(std::ostream& os) const override;
  float eps() const { return eps_; }
  bool has_weight() const { return has_weight_; }
  bool has_residual() const { return has_residual_; }

 private:
  float eps_;
  bool has_weight_, has_residual_;
};

// The cotangent of rms_norm's x. inputs {x, [weight], cotangent} -> x's dtype and shape.
class RmsNormGrad : public Primitive {
 public:
  RmsNormGrad(float eps, bool has_weight) : eps_(eps), has_weight_(has_weight) {}
  LAMINA_PRIMITIVE(RmsNormGrad)
  float eps() const { return eps_; }
  bool has_weight() const { return has_weight_; }

 private:
  float eps_;
  bool has_weight_;
};

// inputs {x, [weight], [bias]} -> x's dtype and shape.
class LayerNorm : public Primitive {
 public:
  LayerNorm(float eps, bool has_weight, bool has_bias)
      : eps_(eps), has_weight_(has_weight), has_bias_(has_bias) {}
  LAMINA_PRIMITIVE(LayerNorm)
  LAMINA_VJP
  void print(std::ostream& os) const override;
  float eps() const { return eps_; }
  bool has_weight() const { return has_weight_; }
  bool has_bias() const { return has_bias_; }

 private:
  float eps_;
  bool has_weight_, has_bias_;
};

// The cotangent of layer_norm's x. inputs {x, [weight], cotangent} -> x's dtype and shape.
class LayerNormGrad : public Primitive {
 public:
  LayerNormGrad(float eps, bool has_weight) : eps_(eps), has_weight_(has_weight) {}
  LAMINA_PRIMITIVE(LayerNormGrad)
  float eps() const { return eps_; }
  bool has_weight() const { return has_weight_; }

 private:
  float eps_;
  bool has_weight_;
};

// Rotary embedding. inputs {x, [freqs], [offset]} -> x's dtype and shape. `inverse`
// rotates by the negated angle (the vjp).
class Rope : public Primitive {
 public:
  struct Params {
    int dims = 0;
    bool traditional = false;
    float base = 10000.0f;  // unused with freqs
    float scale = 1.0f;
    int64_t offset = 0;  // unused with an offset array
    bool has_freqs = false;
    bool has_offset_array = false;
    bool inverse = false;
  };
  explicit Rope(const Params& params) : params_(params) {}
  LAMINA_PRIMITIVE(Rope)
  LAMINA_VJP
  void print(std::ostream& os) const override;
  const Params& params() const { return params_; }

 private:
  Params params_;
};

// A query rope folded into the attention (scaled_dot_product_attention of q = rope(x) not
// evaluated yet): only for q of at most kFoldRopeMaxRows query rows (a decode step), which
// the GPU's decode kernels rotate as they load q: one dispatch a layer fewer on every
// token. A prompt keeps its Rope node: its usual kernel (tensor cores) would take q
// rotated into a scratch array first, the same two dispatches.
constexpr int64_t kFoldRopeMaxRows = 4;

// inputs {q, k, v, [mask]} (one dtype; mask bool or float32, already broadcast to
// [B, Hq, Lq, Lk]) -> [B, Hq, Lq, Dv].
// With a folded rope (see kFoldRopeMaxRows) inputs {x, [freqs], k, v, [mask]}: the rope's
// inputs in q's place (no offset array; its dims are the head dim D) and q = rope(x), as
// the Rope's own kernel would store it (rounded to the dtype). k_index() and the like say
// where each input sits.
class ScaledDotProductAttention : public Primitive {
 public:
  ScaledDotProductAttention(float scale, bool causal, bool has_mask, std::shared_ptr<Rope> rope = nullptr)
      : scale_(scale), causal_(causal), has_mask_(has_mask), rope_(std::move(rope)) {}
  LAMINA_PRIMITIVE(ScaledDotProductAttention)
  LAMINA_VJP
  void print(std::ostream& os) const override;

  float scale() const { return scale_; }
  bool causal() const { return causal_; }
  bool has_mask() const { return has_mask_; }
  // The rope applied to q (null: q is inputs[0] as it is).
  const std::shared_ptr<Rope>& rope() const { return rope_; }
  // Where k, v and the mask sit in the inputs (q, or the rope's x, is inputs[0]).
  int k_index() const { return rope_ && rope_->params().has_freqs ? 2 : 1; }
  int v_index() const { return k_index() + 1; }
  int mask_index() const { return k_index() + 2; }
  // With a rope: its inputs {x, [freqs]} (all before k).
  std::vector<Array> rope_inputs(const std::vector<Array>& inputs) const {
    return std::vector<Array>(inputs.begin(), inputs.begin() + k_index());
  }

 private:
  float scale_;
  bool causal_, has_mask_;
  std::shared_ptr<Rope> rope_;
};

// inputs {logits [..., V], targets [...]} -> float32 [...].
class CrossEntropy : public Primitive {
 public:
  LAMINA_PRIMITIVE(CrossEntropy)
  LAMINA_VJP
};

// The cotangent of cross_entropy's logits, cotangent * (softmax(logits) - onehot(target)).
// inputs {logits, targets, cotangent (float32 [...])} -> logits' dtype and shape.
class CrossEntropyGrad : public Primitive {
 public:
  LAMINA_PRIMITIVE(CrossEntropyGrad)
};

}  // namespace lamina::core
