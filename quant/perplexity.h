// Sliding-window perplexity of a model over a token sequence (the Hugging Face recipe):
// windows of `context` tokens start every `stride` tokens; each window scores only the
// tokens the previous one did not, so every token after the first is scored once, with up
// to context - 1 tokens of history.
#pragma once

#include <cstdint>
#include <vector>

#include "libcore/models/model.h"

namespace lamina::quant {

struct PerplexityOptions {
  int64_t context = 512;
  int64_t stride = 0;  // 0: context / 2
};

struct PerplexityResult {
  double perplexity = 0;  // exp(mean negative log-likelihood)
  double mean_nll = 0;    // nats per scored token
  int64_t tokens = 0;     // scored tokens
  int64_t windows = 0;
  double seconds = 0;
};

// Throws lamina::Error for fewer than 2 tokens, context < 2 or a stride outside [1, context].
PerplexityResult perplexity(models::Model& model, const std::vector<int32_t>& ids,
                            const PerplexityOptions& options);

}  // namespace lamina::quant
