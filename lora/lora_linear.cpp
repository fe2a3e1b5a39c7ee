// LoRA / DoRA forward passes.
#include "lora/lora_linear.h"

#include "libcore/ops/ops.h"

namespace lamina::lora {

using namespace lamina::core;

LoraAdapter::LoraAdapter(Array lora_a, Array lora_b, float scale, float dropout,
                         std::shared_ptr<DropoutContext> context, int index)
    : lora_a_(std::move(lora_a)),
      lora_b_(std::move(lora_b)),
      scale_(scale),
      dropout_(dropout),
      context_(std::move(context)),
      index_(index) {}

Array LoraAdapter::low_rank(const Array& x) const {
  Array in = x;
  if (dropout_ > 0 && context_ && context_->training) {
    Array key = random::split(context_->key, index_ + 1)[index_];
    Array keep = random::bernoulli(key, 1.0 - dropout_, x.shape());
    in = where(keep, x * (1.0 / (1.0 - dropout_)), zeros_like(x));
  }
  Array z = matmul(matmul(in, lora_a_), lora_b_);
  return astype(z * static_cast<double>(scale_), x.dtype());
}

Array LoraAdapter::apply(const nn::Linear& layer, const Array& x) const { return layer.base(x) + low_rank(x); }

Array LoraAdapter::delta_weight() const {
  return matmul(transpose(lora_b_) * static_cast<double>(scale_), transpose(lora_a_));
}

Array weight_row_norms(const nn::Linear& layer) {
  Array w = astype(layer.dense_weight(), Dtype::float32);
  return sqrt(sum(square(w), {1}));
}

DoraAdapter::DoraAdapter(Array lora_a, Array lora_b, Array magnitude, float scale, float dropout,
                         std::shared_ptr<DropoutContext> context, int index)
    : LoraAdapter(std::move(lora_a), std::move(lora_b), scale, dropout, std::move(context), index),
      magnitude_(std::move(magnitude)) {}

Array DoraAdapter::apply(const nn::Linear& layer, const Array& x) const {
  // x W^T + scale * (x A) B, without the bias; the bias is added after the rescale.
  Array y = layer.is_quantized()
                ? quantized_matmul(x, layer.quantized()->weight, layer.quantized()->scales, layer.quantized()->biases,
                                   true, layer.quantized()->group_size, layer.quantized()->bits,
                                   layer.quantized()->activations)
                : matmul(x, transpose(layer.weight()));
  Array out = y + low_rank(x);
  Array adapted = astype(layer.dense_weight(), Dtype::float32) + astype(delta_weight(), Dtype::float32);
  Array denom = stop_gradient(sqrt(sum(square(adapted), {1})));
  out = astype(magnitude_ / denom, x.dtype()) * out;
  if (layer.bias()) out = out + *layer.bias();
  return out;
}

Array DoraAdapter::fused_weight(const nn::Linear& layer) const {
  Array adapted = astype(layer.dense_weight(), Dtype::float32) + astype(delta_weight(), Dtype::float32);
  Array norm = sqrt(sum(square(adapted), {1}));
  return expand_dims(astype(magnitude_, Dtype::float32) / norm, 1) * adapted;
}

}  // namespace lamina::lora
