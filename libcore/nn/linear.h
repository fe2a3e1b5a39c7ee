// Linear and Embedding layers (weights in the checkpoint's [out, in] layout). Either holds a
// float weight or an MLX affine-quantized one (packed uint32 codes + scales + biases), so
// model files use one type and never need to know which.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libcore/array/array.h"
#include "libcore/nn/weights.h"

namespace lamina::nn {

// A [out, in] weight in MLX's affine-quantized layout: `weight` uint32 [out, in * bits / 32],
// `scales` and `biases` [out, in / group_size].
struct QuantizedWeight {
  core::Array weight, scales, biases;
  int group_size = 64;
  int bits = 4;
  // How x is multiplied in: float32 (exact) or int8 (faster inference; see quantized_matmul).
  core::QuantizedActivations activations = core::QuantizedActivations::float32;
  // Rows [start, stop) (views).
  QuantizedWeight rows(int64_t start, int64_t stop) const;
  // The float weight [out, in] in the scales' dtype.
  core::Array dequantized() const;
};

// Loads `prefix.weight` (+ `.scales`, `.biases` when quantized) for a [out, in] weight;
// bits and group size follow from the shapes (the loader has checked them against
// config.json); its activations are w.quantized_activations(). Throws naming the tensor when
// a shape does not fit.
QuantizedWeight load_quantized_weight(WeightMap& w, const std::string& prefix, int64_t in, int64_t out);

class Linear;

// Something wrapped around a Linear layer that changes its output (LoRA, DoRA).
class Adapter {
 public:
  virtual ~Adapter() = default;
  // The wrapped layer's output for x (the adapter calls layer.base(x) itself).
  virtual core::Array apply(const Linear& layer, const core::Array& x) const = 0;
  // The adapter's trainable arrays, so that a training loop can read, replace and update
  // them (replacing one changes what apply() uses).
  virtual std::vector<core::Array*> parameters() = 0;
};

// y = x W^T (+ b), W [out, in], float or quantized.
class Linear {
 public:
  Linear() = default;
  Linear(core::Array weight, std::optional<core::Array> bias = std::nullopt)
      : weight_(std::move(weight)), bias_(std::move(bias)) {}
  Linear(QuantizedWeight weight, std::optional<core::Array> bias = std::nullopt)
      : weight_(weight.weight), quantized_(std::move(weight)), bias_(std::move(bias)) {}
  // Loads `prefix.weight` ([out, in]) and, when `bias`, `prefix.bias`; a quantized layer
  // when `prefix.scales` exists.
  static Linear load(WeightMap& w, const std::string& prefix, int64_t in, int64_t out, bool bias);

  core::Array operator()(const core::Array& x) const;
  // x W^T (+ b) alone: what an adapter (LoRA) wrapped around this layer adds to.
  core::Array base(const core::Array& x) const;

  bool is_quantized() const { return quantized_.has_value(); }
  // The float weight, or the packed codes of a quantized layer.
  const core::Array& weight() const { return weight_; }
  const std::optional<QuantizedWeight>& quantized() const { return quantized_; }
  const std::optional<core::Array>& bias() const { return bias_; }
  // The weight as floats [out, in] (dequantized when quantized).
  core::Array dense_weight() const;
  // Output rows [start, stop) of this layer (views; splits a fused projection).
  Linear rows(int64_t start, int64_t stop) const;

  // An adapter applied in operator() (nullptr: none).
  void set_adapter(std::shared_ptr<Adapter> adapter) { adapter_ = std::move(adapter); }
  const std::shared_ptr<Adapter>& adapter() const { return adapter_; }
  // Full fine-tuning: when set, trainable_parameters() holds the float weight (and bias).
  void set_weight_trainable(bool trainable) { weight_trainable_ = trainable; }
  // What a training loop updates in this layer: the adapter's arrays, or the float weight
  // and bias when set_weight_trainable(true) (a quantized weight is never trainable).
  std::vector<core::Array*> trainable_parameters();

 private:
  core::Array weight_;
  std::optional<QuantizedWeight> quantized_;
  std::optional<core::Array> bias_;
  std::shared_ptr<Adapter> adapter_;
  bool weight_trainable_ = false;
};

// Rows of a [vocab, dim] table (float or quantized); as_linear() uses it as a tied output
// head (a quantized table then goes through quantized_matmul, as mlx-lm does).
class Embedding {
 public:
  Embedding() = default;
  explicit Embedding(core::Array weight) : weight_(std::move(weight)) {}
  explicit Embedding(QuantizedWeight weight) : weight_(weight.weight), quantized_(std::move(weight)) {}
  static Embedding load(WeightMap& w, const std::string& prefix, int64_t vocab, int64_t dim);
  core::Array operator()(const core::Array& ids) const;
  core::Array as_linear(const core::Array& x) const;
  bool is_quantized() const { return quantized_.has_value(); }
  const core::Array& weight() const { return weight_; }
  const std::optional<QuantizedWeight>& quantized() const { return quantized_; }

 private:
  core::Array weight_;
  std::optional<QuantizedWeight> quantized_;
};

}  // namespace lamina::nn
