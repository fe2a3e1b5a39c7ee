// The Llama decoder, parameterised by the switches its descendants flip (Mistral, Qwen2,
// Qwen3, Gemma and Phi-3 are Llama with biases, per-head norms, scaled embeddings, an
// offset norm weight, another activation, or fused projections).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "libcore/models/model.h"
#include "libcore/nn/attention.h"
#include "libcore/nn/linear.h"
#include "libcore/nn/norm.h"

namespace lamina::models {

struct LlamaOptions {
  bool qkv_bias = false;
  bool o_bias = false;
  bool mlp_bias = false;
  bool qk_norm = false;             // Qwen3: RMSNorm over each head of q and k
  bool gelu_tanh = false;           // Gemma: gelu (tanh approximation) instead of silu
  float norm_offset = 0.0f;         // Gemma: RMSNorm weight is 1 + w
  bool scale_embeddings = false;    // Gemma: embeddings times sqrt(hidden_size)
  bool fused_qkv = false;           // Phi-3: qkv_proj holds q, k and v
  bool fused_gate_up = false;       // Phi-3: gate_up_proj holds gate then up
};

struct LlamaBlock {
  nn::Linear q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj;
  nn::RMSNorm input_norm, post_attention_norm;
  nn::AttentionSpec attention;
};

class Llama : public Model {
 public:
  Llama(const nlohmann::json& config, nn::WeightMap& weights, const LlamaOptions& options);
  core::Array forward(const core::Array& tokens, std::vector<nn::KVCache>& cache) override;
  core::Array forward_last(const core::Array& tokens, std::vector<nn::KVCache>& cache) override;
  int num_layers() const override { return static_cast<int>(layers_.size()); }
  std::vector<std::pair<std::string, nn::Linear*>> linear_layers() override;
  void set_grad_checkpoint(bool on) override { grad_checkpoint_ = on; }

 private:
  // The final-norm hidden states [B, L, hidden] before the output head.
  core::Array hidden(const core::Array& tokens, std::vector<nn::KVCache>& cache);
  core::Array head(const core::Array& h) const;
  core::Array mlp(const LlamaBlock& block, const core::Array& x) const;
  core::Array block(const LlamaBlock& b, const core::Array& h, nn::KVCache& cache) const;
  // block() under core::checkpoint, with the block's trainable arrays as its inputs.
  core::Array checkpointed_block(LlamaBlock& b, const core::Array& h, const nn::KVCache& cache);

  LlamaOptions options_;
  nn::Embedding embed_tokens_;
  std::vector<LlamaBlock> layers_;
  nn::RMSNorm norm_;
  std::optional<nn::Linear> lm_head_;
  nn::RoPE rope_;
  bool grad_checkpoint_ = false;
};

// The sanitize shared by the family: drops rotary inv_freq buffers, and lm_head when the
// embeddings are tied.
void sanitize_llama(const nlohmann::json& config, nn::WeightMap& weights);

}  // namespace lamina::models
