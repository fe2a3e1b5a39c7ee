// Mistral: the Llama decoder without biases (sliding-window attention is not used by the
// configs lamina supports; a window larger than the context changes nothing).
#include "libcore/models/llama.h"
#include "libcore/models/registry.h"

namespace lamina::models {
namespace {
std::unique_ptr<Model> create_mistral(const nlohmann::json& config, nn::WeightMap& weights) {
  return std::make_unique<Llama>(config, weights, LlamaOptions{});
}
}  // namespace
LAMINA_REGISTER_ARCHITECTURE(mistral, sanitize_llama, create_mistral);
}  // namespace lamina::models
