// Generation loop.
#include "libcore/generate/generator.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>

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

// Throws the error for NaN or infinite logits, naming the weight that causes them when the
// model's directory has one. Sampling from such logits would print garbage and exit 0.
[[noreturn]] void throw_non_finite(size_t generated, const GenerateOptions& options) {
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

namespace {

// One generation step's outputs: the sampled token (uint32 [1]) and the largest |logit|
// (float32 scalar; NaN or infinite exactly when some logit is), both lazy until read.
struct Step {
  Array token;
  Array peak;
};

Step sample_step(Sampler& sampler, const Array& logits, const std::vector<int32_t>& history) {
  return {sampler.sample(logits, history), max(abs(logits))};
}

// The model's next step on `token` (int32 [1, 1], or the previous step's lazy token).
Step forward_step(models::Model& model, std::vector<nn::KVCache>& cache, Sampler& sampler,
                  const Array& token, const std::vector<int32_t>& history) {
  Array step_logits = model.forward_last(reshape(astype(token, Dtype::int32), {1, 1}), cache);
  return sample_step(sampler, astype(reshape(step_logits, {1, step_logits.shape(2)}), Dtype::float32),
                     history);
}

// Reads a step's token, first checking that its logits were finite.
int32_t read_token(const Step& step, size_t generated, const GenerateOptions& options) {
  if (!std::isfinite(step.peak.item<float>())) throw_non_finite(generated, options);
  return static_cast<int32_t>(step.token.item<int64_t>());
}

// On a GPU the loop runs kStepsAhead steps ahead: the next tokens' graphs are built,
// recorded and submitted (each from the token before it, still on the GPU) before the
// current token is read, so the host's work overlaps the GPU's and a slow host step (a
// page fault, a late wake-up) does not leave the GPU idle. Not with a repetition penalty
// (it needs the tokens on the host) nor with a rotating cache (a step past an EOS must be
// undone).
constexpr int kStepsAhead = 2;

int steps_ahead(const GenerateOptions& options, const std::vector<nn::KVCache>& cache) {
  if (core::default_device().type == Device::Type::cpu) return 0;
  if (options.sampler.repetition_penalty != 1.0f) return 0;
  const bool bounded = std::any_of(cache.begin(), cache.end(), [](const nn::KVCache& c) { return c.bounded(); });
  return bounded ? 0 : kStepsAhead;
}

// Drops the last n positions of every layer's cache.
void trim_cache(std::vector<nn::KVCache>& cache, int64_t n) {
  if (n <= 0) return;
  for (auto& c : cache) c.trim_to(c.size() - n);
}

}  // namespace

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
  const int ahead = steps_ahead(options, cache);
  // Steps built and not yet read, oldest first; each one after the first has put the
  // token before it into the cache.
  std::deque<Step> pending;
  pending.push_back(sample_step(sampler, logits, history));
  logits = Array();
  async_eval({pending.back().token, pending.back().peak});
  int built = 1;

  auto gen_start = Clock::now();
  for (int i = 0; i < options.max_tokens; ++i) {
    // Before the first token is read, one step ahead at most: the first token (and the
    // prompt's time) does not wait for a second graph.
    const int depth = i == 0 ? std::min(ahead, 1) : ahead;
    while (built < options.max_tokens && built <= i + depth) {
      Step next = forward_step(model, cache, sampler, pending.back().token, history);
      async_eval({next.token, next.peak});
      pending.push_back(std::move(next));
      built += 1;
    }
    Step step = std::move(pending.front());
    pending.pop_front();
    int32_t token = read_token(step, result.tokens.size(), options);
    if (i == 0) {
      result.prompt_seconds = seconds_since(start);
      result.prompt_tps = static_cast<double>(prompt.size()) / std::max(result.prompt_seconds, 1e-9);
      gen_start = Clock::now();
    }
    bool is_eos = std::find(options.eos_ids.begin(), options.eos_ids.end(), token) != options.eos_ids.end();
    if (is_eos && !options.ignore_eos) {
      trim_cache(cache, static_cast<int64_t>(pending.size()));  // the EOS and the steps past it
      result.finish_reason = "stop";
      break;
    }
    result.tokens.push_back(token);
    history.push_back(token);
    const bool more = i + 1 < options.max_tokens;
    // Build the next step's graph now; it runs after the callback.
    if (!ahead && more) {
      pending.push_back(forward_step(model, cache, sampler,
                                     Array(std::vector<int32_t>{token}, {1, 1}, Dtype::int32), history));
      built += 1;
    }
    if (!on_token(token)) {
      // The cache keeps this token (as one step ahead always did), not the steps past it.
      if (ahead) trim_cache(cache, static_cast<int64_t>(pending.size()) - 1);
      result.finish_reason = "interrupted";
      break;
    }
    if (!ahead && more) async_eval({pending.back().token, pending.back().peak});
  }
  result.generation_seconds = seconds_since(gen_start);
  result.generation_tps = static_cast<double>(result.tokens.size()) / std::max(result.generation_seconds, 1e-9);
  return result;
}

}  // namespace lamina::generate
