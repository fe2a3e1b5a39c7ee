// Normalization layers over the last axis.
#pragma once

#include <optional>
#include <string>

#include "libcore/array/array.h"
#include "libcore/nn/weights.h"

namespace lamina::nn {

// x * rsqrt(mean(x^2) + eps) * weight (weight given already offset, e.g. Gemma's 1 + w).
class RMSNorm {
 public:
  RMSNorm() = default;
  RMSNorm(core::Array weight, float eps) : weight_(std::move(weight)), eps_(eps) {}
  // Loads prefix.weight ([dim]); `offset` is added to it once at load (Gemma: 1.0).
  static RMSNorm load(WeightMap& w, const std::string& prefix, int64_t dim, float eps,
                      float offset = 0.0f);
  core::Array operator()(const core::Array& x) const;

 private:
  core::Array weight_;
  float eps_ = 1e-6f;
};

class LayerNorm {
 public:
  LayerNorm() = default;
  LayerNorm(std::optional<core::Array> weight, std::optional<core::Array> bias, float eps)
      : weight_(std::move(weight)), bias_(std::move(bias)), eps_(eps) {}
  static LayerNorm load(WeightMap& w, const std::string& prefix, int64_t dim, float eps);
  core::Array operator()(const core::Array& x) const;

 private:
  std::optional<core::Array> weight_, bias_;
  float eps_ = 1e-5f;
};

}  // namespace lamina::nn
