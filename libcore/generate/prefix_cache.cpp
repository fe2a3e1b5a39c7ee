// Prefix reuse for KV caches.
#include "libcore/generate/prefix_cache.h"

#include <algorithm>

namespace lamina::generate {

PrefixCache::PrefixCache(const models::Model& model, int64_t max_kv_size)
    : model_(model), max_kv_size_(max_kv_size), cache_(model.make_cache(max_kv_size)) {}

void PrefixCache::reset() {
  cache_ = model_.make_cache(max_kv_size_);
  tokens_.clear();
}

void PrefixCache::assign(std::vector<nn::KVCache> cache, std::vector<int32_t> tokens) {
  cache_ = std::move(cache);
  tokens_ = std::move(tokens);
}

std::vector<int32_t> PrefixCache::reuse(const std::vector<int32_t>& ids) {
  size_t common = 0;
  size_t limit = std::min(tokens_.size(), ids.empty() ? 0 : ids.size() - 1);
  while (common < limit && tokens_[common] == ids[common]) ++common;
  if (common < tokens_.size()) {
    bool trimmable = std::all_of(cache_.begin(), cache_.end(), [](const nn::KVCache& c) {
      return c.size() == c.offset();
    });
    if (trimmable) {
      for (auto& c : cache_) c.trim_to(static_cast<int64_t>(common));
      tokens_.resize(common);
    } else {
      reset();
      common = 0;
    }
  }
  return {ids.begin() + static_cast<std::ptrdiff_t>(common), ids.end()};
}

void PrefixCache::record(const std::vector<int32_t>& prompt_rest, const GenerateResult& result) {
  tokens_.insert(tokens_.end(), prompt_rest.begin(), prompt_rest.end());
  tokens_.insert(tokens_.end(), result.tokens.begin(), result.tokens.end());
  // The last sampled token has not been through the model unless generation went on.
  int64_t held = cache_.empty() ? 0 : cache_.front().offset();
  if (static_cast<int64_t>(tokens_.size()) > held) tokens_.resize(static_cast<size_t>(held));
}

}  // namespace lamina::generate
