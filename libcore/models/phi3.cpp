// Phi-3: the Llama decoder with fused qkv_proj and gate_up_proj (kept fused on disk, as
// mlx-lm does; split into views at load).
#include "libcore/models/llama.h"
#include "libcore/models/registry.h"

namespace lamina::models {
namespace {
std::unique_ptr<Model> create_phi3(const nlohmann::json& config, nn::WeightMap& weights) {
  if (config_value<double>(config, "partial_rotary_factor", 1.0) != 1.0) {
    throw Error("config.json: phi3 with partial_rotary_factor != 1 is not supported");
  }
  if (config.contains("rope_scaling") && config["rope_scaling"].is_object()) {
    std::string type = config_value<std::string>(config["rope_scaling"], "type",
                                                  config_value<std::string>(config["rope_scaling"], "rope_type", ""));
    if (type == "longrope" || type == "su") {
      throw Error("config.json: phi3 rope scaling '" + type + "' is not supported yet");
    }
  }
  LlamaOptions o;
  o.fused_qkv = true;
  o.fused_gate_up = true;
  return std::make_unique<Llama>(config, weights, o);
}
}  // namespace
LAMINA_REGISTER_ARCHITECTURE(phi3, sanitize_llama, create_phi3);
}  // namespace lamina::models
