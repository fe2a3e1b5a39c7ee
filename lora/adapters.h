// Putting adapters on a model (LoRA / DoRA on the chosen Linear layers, or the layers'
// own weights for full fine-tuning), naming their trainable arrays as mlx-lm does, and
// loading / saving / fusing them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "libcore/array/array.h"
#include "libcore/io/safetensors.h"
#include "libcore/models/model.h"
#include "lora/adapter_config.h"
#include "lora/lora_linear.h"

namespace lamina::lora {

// One trainable array: its tensor name in adapters.safetensors
// ("model.layers.0.self_attn.q_proj.lora_a") and where the model keeps it.
struct TrainableParameter {
  std::string name;
  core::Array* slot;
};

// The Linear layers `config` selects (the last num_layers blocks, the keys), by path.
// Throws when a key matches no layer or the model lists no Linear layers.
std::vector<std::pair<std::string, nn::Linear*>> select_layers(models::Model& model, const AdapterConfig& config);

// Wraps the selected layers in LoRA/DoRA adapters (A uniform in +-1/sqrt(in) from `seed`,
// B zero, DoRA's m the weight's row norms), or marks their weights trainable for "full".
// Returns the trainable arrays in a fixed order (layer order; a, b, m / weight, bias).
std::vector<TrainableParameter> attach_adapters(models::Model& model, const AdapterConfig& config, uint64_t seed,
                                                std::shared_ptr<DropoutContext> dropout = nullptr);

// Replaces each parameter by the tensor of the same name in the safetensors file `path`
// (cast to the parameter's dtype). Throws naming the file when one is missing, has another
// shape, or the file holds a tensor that is not a parameter.
void load_parameters(const std::vector<TrainableParameter>& params, const std::string& path);
// The parameters as named tensors (what adapters.safetensors holds).
io::NamedArrays named_parameters(const std::vector<TrainableParameter>& params);

// Reads <dir>/adapter_config.json and <dir>/adapters.safetensors and applies them to the
// model (for generation). Returns the config.
AdapterConfig load_adapters(models::Model& model, const std::string& dir);

// The fused float weight [out, in] (float32) of a layer carrying an adapter: W + scale B^T A^T
// for LoRA, m / ||W + dW|| (W + dW) for DoRA, the weight itself otherwise.
core::Array fused_weight(const nn::Linear& layer);

}  // namespace lamina::lora
