// adapter_config.json (mlx-lm's format): the fine-tune type, how many of the last layers
// carry adapters, and the LoRA parameters; the training arguments are stored beside them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lamina::lora {

inline constexpr const char* kAdapterConfigFile = "adapter_config.json";
inline constexpr const char* kAdapterWeightsFile = "adapters.safetensors";

struct AdapterConfig {
  std::string fine_tune_type = "lora";  // lora | dora | full
  int num_layers = 16;                  // the last N blocks; -1: all
  int rank = 8;
  float scale = 20.0f;
  float dropout = 0.0f;
  // Module paths relative to a block ("self_attn.q_proj"); empty: every Linear of the block.
  std::vector<std::string> keys;
};

// Throws lamina::Error naming `where` for an unknown type or out-of-range values.
void validate(const AdapterConfig& config, const std::string& where);
// {fine_tune_type, num_layers, lora_parameters: {rank, scale, dropout, keys?}}.
nlohmann::ordered_json to_json(const AdapterConfig& config);
// Reads the fields above from an adapter_config.json object (others are ignored).
AdapterConfig adapter_config_from_json(const nlohmann::json& json, const std::string& where);
// Reads <dir>/adapter_config.json.
AdapterConfig read_adapter_config(const std::string& dir);
// Writes `json` to <dir>/adapter_config.json atomically (indented, as mlx-lm does).
void write_adapter_config(const std::string& dir, const nlohmann::ordered_json& json);

}  // namespace lamina::lora
