// Gemma: the Llama decoder with (1 + w) RMSNorm weights, embeddings scaled by
// sqrt(hidden_size), gelu (tanh approximation) in the MLP and tied embeddings.
#include "libcore/models/llama.h"
#include "libcore/models/registry.h"

namespace lamina::models {
namespace {
std::unique_ptr<Model> create_gemma(const nlohmann::json& config, nn::WeightMap& weights) {
  LlamaOptions o;
  o.gelu_tanh = true;
  o.norm_offset = 1.0f;
  o.scale_embeddings = true;
  nlohmann::json c = config;
  c["tie_word_embeddings"] = true;  // Gemma always ties the output head
  return std::make_unique<Llama>(c, weights, o);
}
void sanitize_gemma(const nlohmann::json& config, nn::WeightMap& weights) {
  nlohmann::json c = config;
  c["tie_word_embeddings"] = true;
  sanitize_llama(c, weights);
}
}  // namespace
LAMINA_REGISTER_ARCHITECTURE(gemma, sanitize_gemma, create_gemma);
}  // namespace lamina::models
