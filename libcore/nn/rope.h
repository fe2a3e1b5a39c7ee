// Rotary position embeddings with the frequency schedules transformers offers
// (default, linear, dynamic NTK, llama3), applied through the fused rope op.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "libcore/array/array.h"

namespace lamina::nn {

struct RopeConfig {
  double theta = 10000.0;
  std::string type = "default";  // default | linear | dynamic | llama3
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 0;
};

class RoPE {
 public:
  RoPE() = default;
  // dims: rotated features per head; traditional: interleaved pairs (false: half-split,
  // the Hugging Face layout).
  RoPE(const RopeConfig& config, int64_t dims, bool traditional, int64_t max_position_embeddings);
  // x [B, H, L, D] at positions offset .. offset + L - 1.
  core::Array operator()(const core::Array& x, int64_t offset) const;

 private:
  RopeConfig config_;
  int64_t dims_ = 0;
  bool traditional_ = false;
  int64_t max_positions_ = 0;
  std::optional<core::Array> freqs_;  // llama3: per-pair wavelength divisors
};

}  // namespace lamina::nn
