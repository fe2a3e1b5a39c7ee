// Model directory loading: config, weights, sanitize, dtype cast, build, materialise.
#include "libcore/models/loader.h"

#include <filesystem>
#include <iostream>

#include "libcore/io/safetensors.h"
#include "libcore/io/text_file.h"
#include "libcore/models/registry.h"
#include "libcore/ops/ops.h"
#include "quant/quantization_config.h"

namespace lamina::models {

namespace fs = std::filesystem;
using namespace lamina::core;

namespace {

nlohmann::json read_json_file(const std::string& path) {
  const std::string text = io::read_text_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
}

void add_ids(const nlohmann::json& v, std::vector<int32_t>& out) {
  auto add = [&](const nlohmann::json& x) {
    if (x.is_number_integer()) {
      int32_t id = x.get<int32_t>();
      if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
    }
  };
  if (v.is_array()) {
    for (const auto& x : v) add(x);
  } else {
    add(v);
  }
}

}  // namespace

nlohmann::json read_config(const std::string& dir) {
  std::string path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(path)) throw Error(path + ": not found (is " + dir + " a model directory?)");
  nlohmann::json c = read_json_file(path);
  if (!c.is_object()) throw Error(path + ": expected a JSON object");
  return c;
}

std::vector<int32_t> read_eos_token_ids(const std::string& dir, const nlohmann::json& config) {
  std::vector<int32_t> ids;
  if (config.contains("eos_token_id")) add_ids(config["eos_token_id"], ids);
  std::string gen = (fs::path(dir) / "generation_config.json").string();
  if (fs::exists(gen)) {
    nlohmann::json g = read_json_file(gen);
    if (g.is_object() && g.contains("eos_token_id")) add_ids(g["eos_token_id"], ids);
  }
  return ids;
}

std::unique_ptr<Model> create_model(const Architecture& arch, const nlohmann::json& config,
                                    nn::WeightMap& weights, const std::string& dir) {
  try {
    return arch.create(config, weights);
  } catch (const Error& e) {
    const std::string message = e.what();
    if (message.starts_with("config.json:")) throw Error((fs::path(dir) / message).string());
    throw;
  }
}

LoadedModel load_model(const std::string& dir, const LoadOptions& options) {
  LoadedModel loaded;
  loaded.directory = dir;
  loaded.config = read_config(dir);
  std::string model_type = config_value<std::string>(loaded.config, "model_type", "");
  if (model_type.empty()) throw Error(dir + "/config.json: missing field 'model_type'");
  const Architecture& arch = find_architecture(model_type);
  nn::WeightMap weights(io::load_model_weights(dir).tensors, dir);
  arch.sanitize(loaded.config, weights);
  // Quantized modules must agree with config.json's quantization block before any is built.
  quant::check_quantized_tensors(quant::read_quantization_config(loaded.config, dir + "/config.json"),
                                 weights.tensors(), dir);
  if (options.dtype) {
    for (auto& [name, a] : weights.tensors()) {
      if (is_floating(a.dtype())) a = astype(a, *options.dtype);
    }
  }
  weights.set_quantized_activations(options.quantized_activations);
  loaded.model = create_model(arch, loaded.config, weights, dir);
  auto extra = weights.untaken();
  if (!extra.empty()) {
    std::cerr << "lamina: warning: " << dir << ": " << extra.size()
              << " tensors not used by the model (first: '" << extra.front() << "')\n";
  }
  // Materialise cast weights once, so every forward pass reads them directly.
  std::vector<Array> params;
  for (auto& [name, a] : weights.tensors()) {
    if (!a.is_evaluated()) params.push_back(a);
  }
  eval(params);
  loaded.eos_token_ids = read_eos_token_ids(dir, loaded.config);
  return loaded;
}

}  // namespace lamina::models
