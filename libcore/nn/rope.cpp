// RoPE frequency schedules.
#include "libcore/nn/rope.h"

#include <cmath>
#include <vector>

#include "libcore/ops/fast.h"
#include "libcore/ops/ops.h"

namespace lamina::nn {

using namespace lamina::core;

RoPE::RoPE(const RopeConfig& config, int64_t dims, bool traditional, int64_t max_positions)
    : config_(config), dims_(dims), traditional_(traditional), max_positions_(max_positions) {
  if (config_.type == "llama3") {
    // transformers' _compute_llama3_parameters, expressed as the divisors fast::rope takes.
    const double pi = 3.14159265358979323846;
    double old_len = static_cast<double>(config_.original_max_position_embeddings);
    double low_wavelen = old_len / config_.low_freq_factor;
    double high_wavelen = old_len / config_.high_freq_factor;
    std::vector<float> freqs;
    for (int64_t i = 0; i < dims / 2; ++i) {
      double inv = std::pow(config_.theta, -2.0 * static_cast<double>(i) / static_cast<double>(dims));
      double wavelen = 2 * pi / inv;
      double out = inv;
      if (wavelen > low_wavelen) out = inv / config_.factor;
      if (wavelen >= high_wavelen && wavelen <= low_wavelen) {
        double smooth = (old_len / wavelen - config_.low_freq_factor) /
                        (config_.high_freq_factor - config_.low_freq_factor);
        out = (1 - smooth) * inv / config_.factor + smooth * inv;
      }
      freqs.push_back(static_cast<float>(1.0 / out));
    }
    freqs_ = Array(freqs, {dims / 2});
  }
}

Array RoPE::operator()(const Array& x, int64_t offset) const {
  if (freqs_) {
    return fast::rope(x, static_cast<int>(dims_), traditional_, std::nullopt, 1.0f, offset, *freqs_);
  }
  double base = config_.theta;
  float scale = 1.0f;
  if (config_.type == "linear") scale = static_cast<float>(1.0 / config_.factor);
  if (config_.type == "dynamic") {
    int64_t seq_len = offset + x.shape(-2);
    int64_t max_pos = config_.original_max_position_embeddings > 0
                          ? config_.original_max_position_embeddings
                          : max_positions_;
    if (max_pos > 0 && seq_len > max_pos) {
      double d = static_cast<double>(dims_);
      base *= std::pow(config_.factor * static_cast<double>(seq_len) / static_cast<double>(max_pos) -
                           (config_.factor - 1),
                       d / (d - 2));
    }
  }
  return fast::rope(x, static_cast<int>(dims_), traditional_, static_cast<float>(base), scale, offset);
}

}  // namespace lamina::nn
