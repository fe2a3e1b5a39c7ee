// Prompt cache files (mlx_lm's cache_prompt): the KV cache of an evaluated prefix, saved
// zstd-compressed with the identity of the model it was computed by and the token ids it
// holds, so that later runs continue from it instead of evaluating the prefix again.
//
// File layout (after zstd decompression): 8 bytes little-endian header length n, n bytes of
// JSON header {"format": "lamina-prompt-cache", "version": 1, "model": fingerprint,
// "dtype", "tokens": [...], "metadata": {...}, "layers": [{"shape": [B, H, T, D]}...]}, then for each layer
// its keys and then its values, row-major, in `dtype`.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "libcore/array/dtype.h"
#include "libcore/nn/kv_cache.h"

namespace lamina::generate {

// A fingerprint of the model in `dir`: its config.json and, for every tensor, name, dtype,
// shape and samples of its bytes. Two different checkpoints give different fingerprints.
std::string model_fingerprint(const std::string& dir);

struct PromptCacheFile {
  std::string model;   // fingerprint
  core::Dtype dtype = core::Dtype::float32;
  std::vector<int32_t> tokens;
  nlohmann::json metadata = nlohmann::json::object();  // what the writer chose to record
  std::vector<nn::KVCache> layers;
};

// Writes the cache atomically (temporary name, then rename).
void save_prompt_cache(const std::string& path, const std::string& fingerprint,
                       const std::vector<int32_t>& tokens, const std::vector<nn::KVCache>& cache,
                       const nlohmann::json& metadata = nlohmann::json::object());
// Reads a prompt cache file; throws lamina::Error naming `path` when it is malformed.
PromptCacheFile load_prompt_cache(const std::string& path);

}  // namespace lamina::generate
