// Qwen3: the Llama decoder with RMSNorm over each head of q and k (before RoPE) and an
// explicit head_dim.
#include "libcore/models/llama.h"
#include "libcore/models/registry.h"

namespace lamina::models {
namespace {
std::unique_ptr<Model> create_qwen3(const nlohmann::json& config, nn::WeightMap& weights) {
  LlamaOptions o;
  o.qkv_bias = config_value<bool>(config, "attention_bias", false);
  o.qk_norm = true;
  return std::make_unique<Llama>(config, weights, o);
}
}  // namespace
LAMINA_REGISTER_ARCHITECTURE(qwen3, sanitize_llama, create_qwen3);
}  // namespace lamina::models
