// Quantizing and dequantizing a model's named tensors, as mlx_lm.convert does: which
// layers are quantized (every Linear / Embedding whose input dim divides by the group size,
// or a mixed-precision recipe's choice) and the config.json block that records it.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "libcore/array/array.h"
#include "quant/quantization_config.h"

namespace lamina::quant {

struct QuantizeOptions {
  int bits = 4;
  int group_size = 64;
  std::string recipe;  // "" or one of mixed_recipes()
};

// mlx-lm's mixed-precision recipes: mixed_2_6, mixed_3_4, mixed_3_6, mixed_4_6.
const std::vector<std::string>& mixed_recipes();

struct QuantizeReport {
  int64_t quantized_modules = 0;
  // Modules (2-D weights) left in float, with the reason.
  std::vector<std::pair<std::string, std::string>> left_in_float;
};

// Replaces every quantizable `p.weight` of `tensors` (float, named as the model loads
// them) by lazy `p.weight` (packed), `p.scales` and `p.biases`. A module is quantizable
// when its weight is 2-D (the Linear and Embedding layers of every supported
// architecture) and its last dim divides by the group size. `config` gives the layer
// count the mixed recipes need. Returns the block for config.json. Throws on unsupported
// bits / group size / recipe.
QuantizationConfig quantize_tensors(std::map<std::string, core::Array>& tensors,
                                    const nlohmann::json& config, const QuantizeOptions& options,
                                    QuantizeReport* report = nullptr);

// Replaces every quantized module's tensors by its float weight (in the scales' dtype).
void dequantize_tensors(std::map<std::string, core::Array>& tensors, const QuantizationConfig& q);

// Logical parameters of a tensor set: a packed weight counts the values it stands for;
// scales and biases of quantized modules count nothing (mlx-lm's bits-per-weight basis).
int64_t logical_parameters(const std::map<std::string, core::Array>& tensors,
                           const std::optional<QuantizationConfig>& q);

}  // namespace lamina::quant
