// Shared config parsing.
#include "libcore/models/model.h"

#include "libcore/ops/views.h"

namespace lamina::models {

namespace {

int64_t required_int(const nlohmann::json& c, const std::string& key) {
  auto it = c.find(key);
  if (it == c.end() || it->is_null()) throw Error("config.json: missing field '" + key + "'");
  if (!it->is_number_integer() || it->get<int64_t>() <= 0) {
    throw Error("config.json: field '" + key + "' must be a positive integer, got " + it->dump());
  }
  return it->get<int64_t>();
}

nn::RopeConfig parse_rope(const nlohmann::json& c) {
  nn::RopeConfig r;
  nlohmann::json params = nlohmann::json::object();
  if (c.contains("rope_parameters") && c["rope_parameters"].is_object()) {
    params = c["rope_parameters"];
  } else if (c.contains("rope_scaling") && c["rope_scaling"].is_object()) {
    params = c["rope_scaling"];
  }
  r.theta = config_value<double>(params, "rope_theta", config_value<double>(c, "rope_theta", 10000.0));
  r.type = config_value<std::string>(params, "rope_type", config_value<std::string>(params, "type", "default"));
  r.factor = config_value<double>(params, "factor", 1.0);
  r.low_freq_factor = config_value<double>(params, "low_freq_factor", 1.0);
  r.high_freq_factor = config_value<double>(params, "high_freq_factor", 4.0);
  r.original_max_position_embeddings =
      config_value<int64_t>(params, "original_max_position_embeddings",
                            config_value<int64_t>(c, "max_position_embeddings", 0));
  if (r.type != "default" && r.type != "linear" && r.type != "dynamic" && r.type != "llama3") {
    throw Error("config.json: rope type '" + r.type +
                "' is not supported (supported: default, linear, dynamic, llama3)");
  }
  if (r.factor <= 0) throw Error("config.json: rope scaling factor must be positive");
  return r;
}

}  // namespace

BaseArgs parse_base_args(const nlohmann::json& c) {
  if (!c.is_object()) throw Error("config.json: expected a JSON object");
  BaseArgs a;
  a.model_type = config_value<std::string>(c, "model_type", "");
  a.hidden_size = required_int(c, "hidden_size");
  a.num_hidden_layers = required_int(c, "num_hidden_layers");
  a.intermediate_size = required_int(c, "intermediate_size");
  a.num_attention_heads = required_int(c, "num_attention_heads");
  a.num_key_value_heads = config_value<int64_t>(c, "num_key_value_heads", a.num_attention_heads);
  a.head_dim = config_value<int64_t>(c, "head_dim", a.hidden_size / a.num_attention_heads);
  a.vocab_size = required_int(c, "vocab_size");
  a.max_position_embeddings = config_value<int64_t>(c, "max_position_embeddings", 0);
  a.rms_norm_eps = config_value<double>(c, "rms_norm_eps", 1e-6);
  a.tie_word_embeddings = config_value<bool>(c, "tie_word_embeddings", false);
  if (a.num_key_value_heads <= 0 || a.num_attention_heads % a.num_key_value_heads != 0) {
    throw Error("config.json: num_attention_heads (" + std::to_string(a.num_attention_heads) +
                ") must be a multiple of num_key_value_heads (" +
                std::to_string(a.num_key_value_heads) + ")");
  }
  if (a.head_dim <= 0 || a.head_dim % 2 != 0) {
    throw Error("config.json: head_dim must be a positive even number, got " + std::to_string(a.head_dim));
  }
  a.rope = parse_rope(c);
  return a;
}

std::vector<nn::KVCache> Model::make_cache(int64_t max_kv_size) const {
  return std::vector<nn::KVCache>(static_cast<size_t>(num_layers()), nn::KVCache(max_kv_size));
}

core::Array Model::forward_last(const core::Array& tokens, std::vector<nn::KVCache>& cache) {
  core::Array logits = forward(tokens, cache);
  int64_t last = logits.shape(1) - 1;
  return core::slice_axis(logits, 1, last, last + 1);
}

}  // namespace lamina::models
