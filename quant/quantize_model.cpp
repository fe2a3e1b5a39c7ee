// Model-level quantization: the layer choice, mlx-lm's mixed recipes, dequantization.
#include "quant/quantize_model.h"

#include <cctype>

#include "libcore/ops/ops.h"
#include "quant/quantized_ops.h"

namespace lamina::quant {

namespace {

constexpr const char* kWeightSuffix = ".weight";

bool is_number(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

// mlx-lm's mixed_quant_predicate_builder: v_proj and down_proj get the high bit width in
// the first and last eighth of the layers and every third layer between, lm_head always.
class MixedRecipe {
 public:
  MixedRecipe(const std::string& recipe, const std::vector<std::string>& modules,
              int64_t num_layers, int group_size)
      : num_layers_(num_layers), group_size_(group_size) {
    if (recipe == "mixed_2_6") low_bits_ = 2;
    else if (recipe == "mixed_3_4") low_bits_ = 3, high_bits_ = 4;
    else if (recipe == "mixed_3_6") low_bits_ = 3;
    else if (recipe == "mixed_4_6") low_bits_ = 4;
    else throw Error("--quant-predicate: unknown recipe '" + recipe +
                     "' (supported: mixed_2_6, mixed_3_4, mixed_3_6, mixed_4_6)");
    for (const auto& m : modules) {
      if (m.find("down_proj") == std::string::npos) continue;
      auto parts = split_path(m);
      for (size_t i = 0; i < parts.size(); ++i) {
        if (is_number(parts[i])) {
          layer_location_ = i;
          break;
        }
      }
      found_ = true;
      break;
    }
    if (!found_) throw Error("--quant-predicate " + recipe + ": the model has no down_proj layers");
  }

  QuantSpec spec(const std::string& path) const {
    auto parts = split_path(path);
    int64_t index = 0;
    if (parts.size() > layer_location_ && is_number(parts[layer_location_])) {
      index = std::stoll(parts[layer_location_]);
    }
    const int64_t eighth = num_layers_ / 8;
    const bool more_bits = index < eighth || index >= 7 * num_layers_ / 8 ||
                           (index - eighth) % 3 == 2;
    const bool high = path.find("lm_head") != std::string::npos ||
                      (more_bits && (path.find("v_proj") != std::string::npos ||
                                     path.find("down_proj") != std::string::npos));
    return {group_size_, high ? high_bits_ : low_bits_};
  }

 private:
  int64_t num_layers_;
  int group_size_;
  int low_bits_ = 4, high_bits_ = 6;
  size_t layer_location_ = 0;
  bool found_ = false;
};

}  // namespace

const std::vector<std::string>& mixed_recipes() {
  static const std::vector<std::string> r = {"mixed_2_6", "mixed_3_4", "mixed_3_6", "mixed_4_6"};
  return r;
}

QuantizationConfig quantize_tensors(std::map<std::string, core::Array>& tensors,
                                    const nlohmann::json& config, const QuantizeOptions& options,
                                    QuantizeReport* report) {
  core::check_quantization_params(options.group_size, options.bits, "quantize");
  std::vector<std::string> modules;
  for (const auto& [name, a] : tensors) {
    if (name.ends_with(".scales")) {
      throw Error("quantize: the model is already quantized ('" + name +
                  "'); convert it with --dequantize first");
    }
    if (name.ends_with(kWeightSuffix) && a.ndim() >= 2 && core::is_floating(a.dtype())) {
      modules.push_back(name.substr(0, name.size() - std::string(kWeightSuffix).size()));
    }
  }
  std::optional<MixedRecipe> recipe;
  if (!options.recipe.empty()) {
    int64_t layers = config.value("num_hidden_layers", int64_t{0});
    recipe.emplace(options.recipe, modules, layers, options.group_size);
  }
  QuantizationConfig q;
  q.defaults = {options.group_size, options.bits};
  QuantizeReport local;
  QuantizeReport& r = report ? *report : local;
  for (const auto& module : modules) {
    core::Array w = tensors.at(module + kWeightSuffix);
    const int64_t K = w.shape().back();
    QuantSpec spec = recipe ? recipe->spec(module) : q.defaults;
    if (K % spec.group_size != 0) {
      r.left_in_float.emplace_back(module, "input dimension " + std::to_string(K) +
                                               " is not divisible by the group size " +
                                               std::to_string(spec.group_size));
      continue;
    }
    auto out = core::quantize(w, spec.group_size, spec.bits);
    tensors[module + kWeightSuffix] = out.weight;
    tensors[module + ".scales"] = out.scales;
    tensors[module + ".biases"] = out.biases;
    if (recipe) q.modules[module] = spec;
    ++r.quantized_modules;
  }
  if (r.quantized_modules == 0) {
    throw Error("quantize: no layer can be quantized with group size " +
                std::to_string(options.group_size) +
                (r.left_in_float.empty() ? std::string(": the model has no Linear or Embedding weights")
                                         : " (" + r.left_in_float.front().first + ": " +
                                               r.left_in_float.front().second + ")"));
  }
  return q;
}

void dequantize_tensors(std::map<std::string, core::Array>& tensors, const QuantizationConfig& q) {
  std::vector<std::string> modules;
  for (const auto& [name, a] : tensors) {
    if (name.ends_with(".scales")) modules.push_back(name.substr(0, name.size() - 7));
  }
  for (const auto& module : modules) {
    auto spec = q.spec_for(module);
    if (!spec) throw Error("dequantize: module '" + module + "' has scales but is marked false");
    core::Array w = core::dequantize(tensors.at(module + kWeightSuffix), tensors.at(module + ".scales"),
                                     tensors.at(module + ".biases"), spec->group_size, spec->bits);
    tensors[module + kWeightSuffix] = w;
    tensors.erase(module + ".scales");
    tensors.erase(module + ".biases");
  }
}

int64_t logical_parameters(const std::map<std::string, core::Array>& tensors,
                           const std::optional<QuantizationConfig>& q) {
  int64_t n = 0;
  for (const auto& [name, a] : tensors) {
    const bool quantized_part = name.ends_with(".scales") || name.ends_with(".biases");
    if (quantized_part && tensors.count(name.substr(0, name.size() - 7) + kWeightSuffix) &&
        tensors.at(name.substr(0, name.size() - 7) + kWeightSuffix).dtype() == core::Dtype::uint32) {
      continue;
    }
    if (q && name.ends_with(kWeightSuffix) && a.dtype() == core::Dtype::uint32) {
      auto spec = q->spec_for(name.substr(0, name.size() - 7));
      n += a.size() * 32 / (spec ? spec->bits : 32);
      continue;
    }
    n += a.size();
  }
  return n;
}

}  // namespace lamina::quant
