// The `quantization` block of a model's config.json as mlx-lm writes it: a default
// {group_size, bits, mode} plus per-module entries ({group_size, bits} or false), and the
// checks that a checkpoint's quantized tensors agree with it.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "libcore/array/array.h"

namespace lamina::quant {

struct QuantSpec {
  int group_size = 64;
  int bits = 4;
  bool operator==(const QuantSpec&) const = default;
};

struct QuantizationConfig {
  QuantSpec defaults;
  // Per-module entries keyed by module path; nullopt = left in float (`false`).
  std::map<std::string, std::optional<QuantSpec>> modules;

  // The spec a quantized module `path` uses (its own entry, else the default); nullopt when
  // its entry is false.
  std::optional<QuantSpec> spec_for(const std::string& path) const;
  // The block as config.json stores it.
  nlohmann::json to_json() const;
};

// Reads config["quantization"] (or "quantization_config" when only that exists); nullopt
// when the model is not quantized. Throws naming `source` and the field when the block is
// malformed or names unsupported bits / group sizes, or a mode other than affine.
std::optional<QuantizationConfig> read_quantization_config(const nlohmann::json& config,
                                                           const std::string& source);

// Checks every quantized module of `tensors` (a module p is quantized when p.scales exists)
// against `config`: p.weight uint32, p.biases present, the block present and not saying
// false for p, and shapes that fit the bits and group size it gives. Throws naming `source`
// and the module on the first disagreement.
void check_quantized_tensors(const std::optional<QuantizationConfig>& config,
                             const std::map<std::string, core::Array>& tensors,
                             const std::string& source);

}  // namespace lamina::quant
