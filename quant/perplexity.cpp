// Sliding-window perplexity: one forward pass per window through a fresh cache, the fused
// cross-entropy over the positions the window scores.
#include "quant/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "libcore/ops/ops.h"

namespace lamina::quant {

using namespace lamina::core;

PerplexityResult perplexity(models::Model& model, const std::vector<int32_t>& ids,
                            const PerplexityOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = static_cast<int64_t>(ids.size());
  const int64_t context = options.context;
  const int64_t stride = options.stride > 0 ? options.stride : std::max<int64_t>(1, context / 2);
  if (n < 2) throw Error("perplexity: the data has " + std::to_string(n) + " tokens; at least 2 are needed");
  if (context < 2) throw Error("perplexity: --context must be at least 2, got " + std::to_string(context));
  if (stride < 1 || stride > context) {
    throw Error("perplexity: --stride must be between 1 and the context (" + std::to_string(context) +
                "), got " + std::to_string(stride));
  }
  PerplexityResult r;
  double total = 0;
  int64_t previous_end = 0;
  for (int64_t begin = 0; begin < n; begin += stride) {
    const int64_t end = std::min(begin + context, n);
    const int64_t length = end - begin;
    // Targets at window positions [first, length): the tokens not scored before.
    const int64_t first = std::max<int64_t>(1, length - (end - previous_end));
    if (first < length) {
      std::vector<int32_t> window(ids.begin() + begin, ids.begin() + end);
      auto cache = model.make_cache();
      Array logits = model.forward(Array(window, {1, length}, Dtype::int32), cache);
      Array predicting = slice_axis(logits, 1, first - 1, length - 1);  // [1, T, V]
      std::vector<int32_t> targets(window.begin() + first, window.end());
      Array loss = fast::cross_entropy(predicting, Array(targets, {1, length - first}, Dtype::int32));
      for (double v : loss.to_vector<double>()) total += v;
      r.tokens += length - first;
      ++r.windows;
    }
    previous_end = end;
    if (end == n) break;
  }
  r.mean_nll = total / static_cast<double>(r.tokens);
  r.perplexity = std::exp(r.mean_nll);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace lamina::quant
