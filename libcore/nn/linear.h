// Linear and Embedding layers (weights in the checkpoint's [out, in] layout).
#pragma once

#include <optional>
#include <string>

#include "libcore/array/array.h"
#include "libcore/nn/weights.h"

namespace lamina::nn {

// y = x W^T (+ b), W [out, in].
class Linear {
 public:
  Linear() = default;
  Linear(core::Array weight, std::optional<core::Array> bias = std::nullopt)
      : weight_(std::move(weight)), bias_(std::move(bias)) {}
  // Loads `prefix.weight` ([out, in]) and, when `bias`, `prefix.bias`.
  static Linear load(WeightMap& w, const std::string& prefix, int64_t in, int64_t out, bool bias);
  core::Array operator()(const core::Array& x) const;
  const core::Array& weight() const { return weight_; }
  const std::optional<core::Array>& bias() const { return bias_; }

 private:
  core::Array weight_;
  std::optional<core::Array> bias_;
};

// Rows of a [vocab, dim] table; as_linear() uses it as a tied output head.
class Embedding {
 public:
  Embedding() = default;
  explicit Embedding(core::Array weight) : weight_(std::move(weight)) {}
  static Embedding load(WeightMap& w, const std::string& prefix, int64_t vocab, int64_t dim);
  core::Array operator()(const core::Array& ids) const;
  core::Array as_linear(const core::Array& x) const;
  const core::Array& weight() const { return weight_; }

 private:
  core::Array weight_;
};

}  // namespace lamina::nn
