// Parsing and checking of config.json's quantization block.
#include "quant/quantization_config.h"

#include "quant/quantized_ops.h"

namespace lamina::quant {

namespace {

constexpr const char* kScalesSuffix = ".scales";

QuantSpec parse_spec(const nlohmann::json& j, const QuantSpec& fallback, const std::string& where) {
  QuantSpec s = fallback;
  for (const char* key : {"group_size", "bits"}) {
    auto it = j.find(key);
    if (it == j.end()) continue;
    if (!it->is_number_integer()) throw Error(where + ": '" + key + "' must be an integer, got " + it->dump());
    (std::string(key) == "bits" ? s.bits : s.group_size) = it->get<int>();
  }
  if (j.contains("mode") && j["mode"] != "affine") {
    throw Error(where + ": quantization mode " + j["mode"].dump() +
                " is not supported (supported: affine)");
  }
  core::check_quantization_params(s.group_size, s.bits, where);
  return s;
}

}  // namespace

std::optional<QuantSpec> QuantizationConfig::spec_for(const std::string& path) const {
  auto it = modules.find(path);
  if (it != modules.end()) return it->second;
  return defaults;
}

nlohmann::json QuantizationConfig::to_json() const {
  nlohmann::json j = {{"group_size", defaults.group_size}, {"bits", defaults.bits}, {"mode", "affine"}};
  for (const auto& [path, spec] : modules) {
    if (spec) j[path] = {{"group_size", spec->group_size}, {"bits", spec->bits}};
    else j[path] = false;
  }
  return j;
}

std::optional<QuantizationConfig> read_quantization_config(const nlohmann::json& config,
                                                           const std::string& source) {
  const char* key = config.contains("quantization") ? "quantization" : "quantization_config";
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  const std::string where = source + ": \"" + key + "\"";
  if (!it->is_object()) throw Error(where + " must be an object, got " + it->dump());
  if (!it->contains("bits") && !it->contains("group_size")) {
    // A Hugging Face quantization_config (bitsandbytes, GPTQ...) is not MLX's format.
    throw Error(where + " has no bits/group_size (only MLX affine quantization is supported)");
  }
  QuantizationConfig q;
  q.defaults = parse_spec(*it, QuantSpec{}, where);
  for (const auto& [name, value] : it->items()) {
    if (name == "group_size" || name == "bits" || name == "mode") continue;
    if (value.is_boolean()) {
      if (value.get<bool>()) q.modules[name] = q.defaults;
      else q.modules[name] = std::nullopt;
    } else if (value.is_object()) {
      q.modules[name] = parse_spec(value, q.defaults, where + " entry '" + name + "'");
    }
    // Other scalar keys (e.g. a quant_method tag some writers add) carry no layer setting.
  }
  return q;
}

void check_quantized_tensors(const std::optional<QuantizationConfig>& config,
                             const std::map<std::string, core::Array>& tensors,
                             const std::string& source) {
  for (const auto& [name, scales] : tensors) {
    if (!name.ends_with(kScalesSuffix)) continue;
    const std::string module = name.substr(0, name.size() - std::string(kScalesSuffix).size());
    const std::string where = source + ": quantized module '" + module + "'";
    if (!config) throw Error(where + " has scales but config.json has no \"quantization\" block");
    auto spec = config->spec_for(module);
    if (!spec) throw Error(where + " has scales but config.json's quantization block says false for it");
    auto weight = tensors.find(module + ".weight");
    auto biases = tensors.find(module + ".biases");
    if (weight == tensors.end()) throw Error(where + ": missing tensor '" + module + ".weight'");
    if (biases == tensors.end()) throw Error(where + ": missing tensor '" + module + ".biases'");
    core::check_quantized_shapes(weight->second, scales, biases->second, spec->group_size,
                                 spec->bits, where + " (config: " + std::to_string(spec->bits) +
                                                 " bits, group size " +
                                                 std::to_string(spec->group_size) + ")");
  }
  for (const auto& [name, a] : tensors) {
    if (name.ends_with(".weight") && a.dtype() == core::Dtype::uint32 &&
        !tensors.count(name.substr(0, name.size() - 7) + kScalesSuffix)) {
      throw Error(source + ": tensor '" + name + "' is packed (uint32) but '" +
                  name.substr(0, name.size() - 7) + ".scales' is missing");
    }
  }
}

}  // namespace lamina::quant
