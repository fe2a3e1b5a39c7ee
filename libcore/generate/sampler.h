// The sampler, on the array runtime: repetition penalty, temperature, top-k, top-p,
// min-p and seeded categorical sampling over a [vocab] (or [B, vocab]) logits row, with
// mlx_lm's semantics (temperature 0 is greedy argmax).
#pragma once

#include <cstdint>
#include <vector>

#include "libcore/array/array.h"

namespace lamina::generate {

struct SamplerOptions {
  float temperature = 0.0f;
  float top_p = 1.0f;              // 1: off
  int top_k = 0;                   // 0: off
  float min_p = 0.0f;              // 0: off
  float repetition_penalty = 1.0f; // 1: off
  int repetition_context_size = 20;
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& options);
  // Returns the next token id (uint32 array of shape [B]) for logits [B, vocab] given the
  // tokens seen so far (prompt and generated; used by the repetition penalty).
  core::Array sample(const core::Array& logits, const std::vector<int32_t>& history);
  // Log-probabilities after the penalty (for --json / verbose stats); valid after sample().
  const SamplerOptions& options() const { return options_; }

 private:
  SamplerOptions options_;
  core::Array key_;
};

// The filters, exposed for tests: each returns logprobs with excluded tokens set to -inf.
core::Array apply_repetition_penalty(const core::Array& logits, const std::vector<int32_t>& tokens,
                                     float penalty);
core::Array apply_top_k(const core::Array& logprobs, int k);
core::Array apply_top_p(const core::Array& logprobs, float top_p);
core::Array apply_min_p(const core::Array& logprobs, float min_p);

}  // namespace lamina::generate
