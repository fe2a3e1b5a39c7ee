// Sampler filters, each a few array ops over the whole vocabulary row.
#include "libcore/generate/sampler.h"

#include <algorithm>
#include <cmath>

#include "libcore/ops/indexing.h"
#include "libcore/ops/ops.h"
#include "libcore/ops/random.h"
#include "libcore/ops/sort.h"

namespace lamina::generate {

using namespace lamina::core;

namespace {
Array neg_inf_like(const Array& a) { return full(a.shape(), -INFINITY, a.dtype()); }
}  // namespace

Array apply_repetition_penalty(const Array& logits, const std::vector<int32_t>& tokens, float penalty) {
  if (tokens.empty() || penalty == 1.0f) return logits;
  const int64_t batch = logits.shape(0);
  Array ids(tokens, {1, static_cast<int64_t>(tokens.size())}, Dtype::int32);
  ids = broadcast_to(ids, {batch, static_cast<int64_t>(tokens.size())});
  Array selected = take_along_axis(logits, ids, 1);
  Array penalized = where(less(selected, zeros_like(selected)), selected * penalty, selected / penalty);
  return put_along_axis(logits, ids, penalized, 1);
}

Array apply_top_k(const Array& logprobs, int k) {
  const int64_t vocab = logprobs.shape(-1);
  if (k <= 0 || k >= vocab) return logprobs;
  // The k-th largest value is the threshold; ties at it are all kept.
  Array kth = min(topk(logprobs, k, -1), {-1}, true);
  return where(less(logprobs, kth), neg_inf_like(logprobs), logprobs);
}

Array apply_top_p(const Array& logprobs, float top_p) {
  if (top_p <= 0.0f || top_p >= 1.0f) return logprobs;
  Array order = argsort(logprobs, -1);  // ascending
  Array sorted = take_along_axis(logprobs, order, -1);
  Array cumulative = cumsum(exp(sorted), -1);
  // Keep the smallest set of most likely tokens whose probability reaches top_p.
  Array keep_sorted = greater(cumulative, full({}, 1.0 - top_p, cumulative.dtype()));
  Array keep = put_along_axis(zeros(logprobs.shape(), Dtype::bool_), order, keep_sorted, -1);
  return where(keep, logprobs, neg_inf_like(logprobs));
}

Array apply_min_p(const Array& logprobs, float min_p) {
  if (min_p <= 0.0f) return logprobs;
  Array threshold = max(logprobs, {-1}, true) + std::log(static_cast<double>(min_p));
  return where(less(logprobs, threshold), neg_inf_like(logprobs), logprobs);
}

Sampler::Sampler(const SamplerOptions& options) : options_(options) {
  key_ = random::key(options.seed);
}

Array Sampler::sample(const Array& logits_in, const std::vector<int32_t>& history) {
  Array logits = astype(logits_in, Dtype::float32);
  if (options_.repetition_penalty != 1.0f) {
    size_t n = std::min<size_t>(history.size(), static_cast<size_t>(std::max(options_.repetition_context_size, 0)));
    std::vector<int32_t> recent(history.end() - static_cast<std::ptrdiff_t>(n), history.end());
    logits = apply_repetition_penalty(logits, recent, options_.repetition_penalty);
  }
  if (options_.temperature <= 0.0f) return argmax(logits, -1);
  Array logprobs = logits - logsumexp(logits, {-1}, true);
  // mlx_lm's order: top-p, min-p, then top-k (top-p first sees the whole distribution; after
  // top-k its cumulative sums would stop short of 1 and could mask every token).
  logprobs = apply_top_p(logprobs, options_.top_p);
  logprobs = apply_min_p(logprobs, options_.min_p);
  logprobs = apply_top_k(logprobs, options_.top_k);
  auto keys = random::split(key_, 2);
  key_ = keys[0];
  return random::categorical(keys[1], logprobs * (1.0 / options_.temperature), -1);
}

}  // namespace lamina::generate
