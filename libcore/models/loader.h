// Loading a model directory (config.json + safetensors weights, MLX or Hugging Face
// layout) into a ready-to-run Model.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "libcore/array/dtype.h"
#include "libcore/models/model.h"

namespace lamina::models {

struct LoadOptions {
  // Cast floating weights to this dtype (default: keep the checkpoint's dtype).
  std::optional<core::Dtype> dtype;
  // How quantized layers multiply: float32 (exact, MLX's results: the library default and
  // what training uses) or int8 (faster inference; the CLI's default where the CPU has it,
  // see core::preferred_quantized_activations()).
  core::QuantizedActivations quantized_activations = core::QuantizedActivations::float32;
};

struct LoadedModel {
  std::string directory;
  nlohmann::json config;
  std::unique_ptr<Model> model;
  std::vector<int32_t> eos_token_ids;  // config.json + generation_config.json
};

// Reads <dir>/config.json; throws naming the file when missing or not JSON.
nlohmann::json read_config(const std::string& dir);
// arch.create(config, weights), with the errors the config parsers word as "config.json: ..."
// reported under the full path of `dir`'s config.json.
std::unique_ptr<Model> create_model(const Architecture& arch, const nlohmann::json& config,
                                    nn::WeightMap& weights, const std::string& dir);
// Loads the model in `dir`. Weights stay memory-mapped when their dtype is kept.
LoadedModel load_model(const std::string& dir, const LoadOptions& options = {});
// EOS ids from config.json and generation_config.json (an int or a list in either).
std::vector<int32_t> read_eos_token_ids(const std::string& dir, const nlohmann::json& config);

}  // namespace lamina::models
