// The generation loop: chunked prefill of the prompt into the KV cache, then one token
// at a time through the sampler until max_tokens or an EOS id, with timing stats.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "libcore/generate/sampler.h"
#include "libcore/models/model.h"

namespace lamina::generate {

struct GenerateOptions {
  int max_tokens = 256;
  int prefill_step_size = 2048;
  bool ignore_eos = false;
  std::vector<int32_t> eos_ids;
  SamplerOptions sampler;
  // The model's directory: when the logits turn NaN or infinite, its weights are searched
  // for the cause and the error names the tensor (empty: no search).
  std::string model_directory;
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (the EOS that stopped it excluded)
  std::string finish_reason;    // "stop" (EOS), "length" (max_tokens) or "interrupted"
  int64_t prompt_tokens = 0;
  double prompt_seconds = 0, generation_seconds = 0;
  double prompt_tps = 0, generation_tps = 0;
};

// Called with every generated token; return false to stop early.
using TokenCallback = std::function<bool(int32_t token)>;

// Generates from `prompt` continuing `cache` (which may already hold a prefix: the prompt
// then holds only the new tokens). `history` (prompt ids seen before, for the repetition
// penalty) may be empty. Throws lamina::Error, before the token they would give reaches
// `on_token`, when the logits hold NaN or infinity.
GenerateResult generate(models::Model& model, std::vector<nn::KVCache>& cache,
                        const std::vector<int32_t>& prompt, const GenerateOptions& options,
                        const TokenCallback& on_token, std::vector<int32_t> history = {});

// Runs the prompt through the model, filling `cache`, and returns the logits of the
// last position ([1, vocab]).
core::Array prefill(models::Model& model, std::vector<nn::KVCache>& cache,
                    const std::vector<int32_t>& prompt, int prefill_step_size);

// Peak resident set size of this process, in bytes.
size_t peak_rss_bytes();

}  // namespace lamina::generate
