// Generation loop.
#include "libcore/generate/generator.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "libcore/models/non_finite_weights.h"
#include "libcore/ops/ops.h"

namespace lamina::generate {

using namespace lamina::core;
using Clock = std::chrono::steady_clock;

namespace {

Array token_array(const std::vector<int32_t>& ids, size_t begin, size_t end) {
  std::vector<int32_t> chunk(ids.begin() + static_cast<std::ptrdiff_t>(begin),
                             ids.begin() + static_cast<std::ptrdiff_t>(end));
  return Array(chunk, {1, static_cast<int64_t>(chunk.size())}, Dtype::int32);
}

void eval_cache(std::vector<nn::KVCache>& cache) {
  std::vector<Array> arrays;
  for (auto& c : cache) {
    if (c.keys().valid()) {
      arrays.push_back(c.keys());
      arrays.push_back(c.values());
    }
  }
  eval(arrays);
}

// Throws unless every one of the (evaluated, float32) logits is finite. Checked on the host,
// where the test is exact; it is one pass over vocab_size floats per token. Sampling from
// NaN logits would print garbage (or nothing) and exit 0.
void check_finite(const Array& logits, size_t generated, const GenerateOptions& options) {
  const float* p = logits.data<float>();
  if (std::all_of(p, p + logits.size(), [](float v) { return std::isfinite(v); })) return;
  const std::string when =
      generated == 0 ? "for the prompt" : "after " + std::to_string(generated) + " generated tokens";
  if (options.model_directory.empty()) throw Error("the model's logits are NaN or infinite " + when);
  if (auto bad = models::find_non_finite_weight(options.model_directory)) {
    throw Error(*bad + ", so the model's logits are NaN or infinite " + when);
  }
  throw Error(options.model_directory + ": the model's logits are NaN or infinite " + when +
              " though every weight is finite (a float16 overflow? try --dtype float32)");
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

size_t peak_rss_bytes() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<size_t>(usage.ru_maxrss) * 1024;
}

Array prefill(models::Model& model, std::vector<nn::KVCache>& cache, const std::vector<int32_t>& prompt,
              int prefill_step_size) {
  if (prompt.empty()) throw Error("generate: the prompt is empty");
  const size_t step = static_cast<size_t>(std::max(prefill_step_size, 1));
  size_t pos = 0;
  // All but the last chunk only fill the cache.
  while (prompt.size() - pos > step) {
    model.forward(token_array(prompt, pos, pos + step), cache);
    eval_cache(cache);
    pos += step;
  }
  Array logits = model.forward_last(token_array(prompt, pos, prompt.size()), cache);
  return reshape(logits, {1, logits.shape(2)});
}

GenerateResult generate(models::Model& model, std::vector<nn::KVCache>& cache,
                        const std::vector<int32_t>& prompt, const GenerateOptions& options,
                        const TokenCallback& on_token, std::vector<int32_t> history) {
  GenerateResult result;
  result.prompt_tokens = static_cast<int64_t>(prompt.size());
  Sampler sampler(options.sampler);
  history.insert(history.end(), prompt.begin(), prompt.end());

  auto start = Clock::now();
  Array logits = astype(prefill(model, cache, prompt, options.prefill_step_size), Dtype::float32);
  result.finish_reason = "length";
  if (options.max_tokens <= 0) {
    eval_cache(cache);
    result.prompt_seconds = seconds_since(start);
    result.prompt_tps = static_cast<double>(prompt.size()) / std::max(result.prompt_seconds, 1e-9);
    return result;
  }
  Array next = sampler.sample(logits, history);
  eval({next, logits});
  check_finite(logits, 0, options);
  result.prompt_seconds = seconds_since(start);
  result.prompt_tps = static_cast<double>(prompt.size()) / std::max(result.prompt_seconds, 1e-9);

  auto gen_start = Clock::now();
  for (int i = 0; i < options.max_tokens; ++i) {
    int32_t token = static_cast<int32_t>(next.item<int64_t>());
    bool is_eos = std::find(options.eos_ids.begin(), options.eos_ids.end(), token) != options.eos_ids.end();
    if (is_eos && !options.ignore_eos) {
      result.finish_reason = "stop";
      break;
    }
    result.tokens.push_back(token);
    history.push_back(token);
    bool more = i + 1 < options.max_tokens;
    if (more) {
      // Build the next step's graph now; it runs at next.eval() after the callback.
      Array step_logits = model.forward_last(Array(std::vector<int32_t>{token}, {1, 1}, Dtype::int32), cache);
      logits = astype(reshape(step_logits, {1, step_logits.shape(2)}), Dtype::float32);
      next = sampler.sample(logits, history);
    }
    if (!on_token(token)) {
      result.finish_reason = "interrupted";
      break;
    }
    if (more) {
      eval({next, logits});
      check_finite(logits, result.tokens.size(), options);
    }
  }
  result.generation_seconds = seconds_since(gen_start);
  result.generation_tps = static_cast<double>(result.tokens.size()) / std::max(result.generation_seconds, 1e-9);
  return result;
}

}  // namespace lamina::generate
