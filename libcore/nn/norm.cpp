// RMSNorm and LayerNorm through the fused ops.
#include "libcore/nn/norm.h"

#include "libcore/ops/fast.h"
#include "libcore/ops/ops.h"

namespace lamina::nn {

using namespace lamina::core;

RMSNorm RMSNorm::load(WeightMap& w, const std::string& prefix, int64_t dim, float eps, float offset) {
  Array weight = w.take(prefix + ".weight", {dim});
  if (offset != 0.0f) {
    // Computed in float32 as transformers does ((1 + w.float())), then kept in float32.
    weight = astype(weight, Dtype::float32) + static_cast<double>(offset);
    weight.eval();
  }
  return RMSNorm(weight, eps);
}

Array RMSNorm::operator()(const Array& x) const { return fast::rms_norm(x, weight_, eps_); }

LayerNorm LayerNorm::load(WeightMap& w, const std::string& prefix, int64_t dim, float eps) {
  return LayerNorm(w.take_optional(prefix + ".weight", {dim}), w.take_optional(prefix + ".bias", {dim}), eps);
}

Array LayerNorm::operator()(const Array& x) const { return fast::layer_norm(x, weight_, bias_, eps_); }

}  // namespace lamina::nn
