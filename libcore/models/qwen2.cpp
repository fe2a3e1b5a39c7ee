// Qwen2: the Llama decoder with biases on the q/k/v projections.
#include "libcore/models/llama.h"
#include "libcore/models/registry.h"

namespace lamina::models {
namespace {
std::unique_ptr<Model> create_qwen2(const nlohmann::json& config, nn::WeightMap& weights) {
  LlamaOptions o;
  o.qkv_bias = true;
  return std::make_unique<Llama>(config, weights, o);
}
}  // namespace
LAMINA_REGISTER_ARCHITECTURE(qwen2, sanitize_llama, create_qwen2);
}  // namespace lamina::models
