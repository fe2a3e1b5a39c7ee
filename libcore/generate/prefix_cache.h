// PrefixCache: a model's KV cache together with the token ids it holds, so that a prompt
// which starts with those ids (the next turn of a chat, a prompt continuing a saved prefix)
// only runs its new tokens through the model.
#pragma once

#include <cstdint>
#include <vector>

#include "libcore/generate/generator.h"
#include "libcore/models/model.h"

namespace lamina::generate {

class PrefixCache {
 public:
  // An empty cache for `model` (max_kv_size 0: unbounded; otherwise rotating).
  PrefixCache(const models::Model& model, int64_t max_kv_size = 0);

  // Keeps the longest common prefix of the cached ids and `ids` (at least one id of
  // `ids` is always left to run, since its logits are needed) and returns the ids that
  // still have to run. A rotating cache that cannot be trimmed starts over instead.
  std::vector<int32_t> reuse(const std::vector<int32_t>& ids);
  // Records what the cache holds after generate() ran `prompt_rest` (as returned by
  // reuse) and produced `result`: every id that went through the model.
  void record(const std::vector<int32_t>& prompt_rest, const GenerateResult& result);
  // Forgets everything.
  void reset();

  std::vector<nn::KVCache>& layers() { return cache_; }
  const std::vector<int32_t>& tokens() const { return tokens_; }
  // Replaces the contents (a loaded prompt cache).
  void assign(std::vector<nn::KVCache> cache, std::vector<int32_t> tokens);

 private:
  const models::Model& model_;
  int64_t max_kv_size_;
  std::vector<nn::KVCache> cache_;
  std::vector<int32_t> tokens_;
};

}  // namespace lamina::generate
