// The model interface every architecture implements, and the config.json fields they
// share (parsed once here so both transformers config styles are handled in one place).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "libcore/array/array.h"
#include "libcore/io/json_integer.h"
#include "libcore/nn/kv_cache.h"
#include "libcore/nn/linear.h"
#include "libcore/nn/rope.h"
#include "libcore/nn/weights.h"

namespace lamina::models {

// Fields most decoder-only configs share.
struct BaseArgs {
  std::string model_type;
  int64_t hidden_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t intermediate_size = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  nn::RopeConfig rope;
};

// Reads the shared fields; throws naming config.json and the field when one is missing
// or has the wrong type.
BaseArgs parse_base_args(const nlohmann::json& config);
// Returns config[key] as T or `fallback` when absent/null; throws on a wrong type.
template <typename T>
T config_value(const nlohmann::json& config, const std::string& key, T fallback);

// A decoder-only language model.
class Model {
 public:
  virtual ~Model() = default;
  // Logits [B, L, vocab] for token ids [B, L] (int32), appending to `cache` (one per layer).
  virtual core::Array forward(const core::Array& tokens, std::vector<nn::KVCache>& cache) = 0;
  // Logits [B, 1, vocab] of the last position only (what prefill needs; an architecture
  // overrides it to skip the output head for the other positions).
  virtual core::Array forward_last(const core::Array& tokens, std::vector<nn::KVCache>& cache);
  // Number of layers that hold a KV cache.
  virtual int num_layers() const = 0;
  const BaseArgs& args() const { return args_; }
  // A fresh cache per layer (max_kv_size 0: unbounded).
  std::vector<nn::KVCache> make_cache(int64_t max_kv_size = 0) const;
  // The Linear layers of the decoder blocks by module path
  // ("model.layers.3.self_attn.q_proj"), in layer order: what adapters wrap and what full
  // fine-tuning trains. Empty for a model that does not list them.
  virtual std::vector<std::pair<std::string, nn::Linear*>> linear_layers() { return {}; }
  // Training: when on, forward() keeps only each block's input for the backward pass and
  // recomputes the block's activations there (gradient checkpointing).
  virtual void set_grad_checkpoint(bool on) {}

 protected:
  BaseArgs args_;
};

// The hooks one architecture file provides.
struct Architecture {
  // Rewrites checkpoint tensors into the names/layout the model loads (drops rotary
  // inv_freq, drops a tied lm_head...). Runs during convert and load.
  void (*sanitize)(const nlohmann::json& config, nn::WeightMap& weights);
  // Builds the model, taking its tensors from `weights`.
  std::unique_ptr<Model> (*create)(const nlohmann::json& config, nn::WeightMap& weights);
};

template <typename T>
T config_value(const nlohmann::json& config, const std::string& key, T fallback) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (auto v = io::json_integer<T>(*it)) return *v;
    throw Error("config.json: field '" + key + "' must be an integer in range, got " + it->dump());
  } else {
    try {
      return it->get<T>();
    } catch (const nlohmann::json::exception&) {
      throw Error("config.json: field '" + key + "' has the wrong type (" + it->dump() + ")");
    }
  }
}

}  // namespace lamina::models
