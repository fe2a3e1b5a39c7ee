// LoRA and DoRA adapters around a Linear layer (float or quantized base), in mlx-lm's
// convention: y = x W^T (+ b) + scale * ((dropout(x) @ A) @ B), A [in, r], B [r, out].
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "libcore/array/array.h"
#include "libcore/nn/linear.h"

namespace lamina::lora {

// Dropout randomness shared by all adapters of a model: the trainer sets a fresh key per
// micro-batch; adapter i draws from split(key)[i]. Off when !training or rate 0.
struct DropoutContext {
  bool training = false;
  core::Array key;
};

class LoraAdapter : public nn::Adapter {
 public:
  // lora_a [in, rank], lora_b [rank, out].
  LoraAdapter(core::Array lora_a, core::Array lora_b, float scale, float dropout = 0.0f,
              std::shared_ptr<DropoutContext> context = nullptr, int index = 0);
  core::Array apply(const nn::Linear& layer, const core::Array& x) const override;
  std::vector<core::Array*> parameters() override { return {&lora_a_, &lora_b_}; }
  const core::Array& lora_a() const { return lora_a_; }
  const core::Array& lora_b() const { return lora_b_; }
  float scale() const { return scale_; }
  // The weight update scale * B^T A^T, [out, in] (what fuse adds to W).
  core::Array delta_weight() const;

 protected:
  // scale * ((dropout(x) @ A) @ B) in x's dtype.
  core::Array low_rank(const core::Array& x) const;
  core::Array lora_a_, lora_b_;
  float scale_;
  float dropout_;
  std::shared_ptr<DropoutContext> context_;
  int index_;
};

// DoRA (mlx-lm's DoRALinear): the LoRA output rescaled per output row by m / ||W + dW||
// (the norm is treated as a constant for the gradient, as mlx-lm does).
class DoraAdapter : public LoraAdapter {
 public:
  DoraAdapter(core::Array lora_a, core::Array lora_b, core::Array magnitude, float scale, float dropout = 0.0f,
              std::shared_ptr<DropoutContext> context = nullptr, int index = 0);
  core::Array apply(const nn::Linear& layer, const core::Array& x) const override;
  std::vector<core::Array*> parameters() override { return {&lora_a_, &lora_b_, &magnitude_}; }
  const core::Array& magnitude() const { return magnitude_; }
  // The fused weight m / ||W + dW|| * (W + dW), [out, in], float32.
  core::Array fused_weight(const nn::Linear& layer) const;

 private:
  core::Array magnitude_;  // m [out]
};

// Row norms ||W[i, :]|| of a Linear's (dequantized) weight, float32 [out]: DoRA's initial m.
core::Array weight_row_norms(const nn::Linear& layer);

}  // namespace lamina::lora
