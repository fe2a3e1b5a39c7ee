// Llama (and the shared decoder its descendants use).
#include "libcore/models/llama.h"

#include <cmath>

#include "libcore/models/registry.h"
#include "libcore/ops/ops.h"

namespace lamina::models {

using namespace lamina::core;

namespace {

// Splits a fused [a + b + ..., in] Linear (float or quantized) into row blocks (views).
std::vector<nn::Linear> split_rows(nn::WeightMap& w, const std::string& name, int64_t in,
                                   const std::vector<int64_t>& rows) {
  int64_t total = 0;
  for (auto r : rows) total += r;
  nn::Linear fused = nn::Linear::load(w, name, in, total, false);
  std::vector<nn::Linear> out;
  int64_t start = 0;
  for (auto r : rows) {
    out.push_back(fused.rows(start, start + r));
    start += r;
  }
  return out;
}

}  // namespace

Llama::Llama(const nlohmann::json& config, nn::WeightMap& w, const LlamaOptions& options)
    : options_(options) {
  args_ = parse_base_args(config);
  const auto& a = args_;
  const int64_t H = a.num_attention_heads, KV = a.num_key_value_heads, D = a.head_dim;
  const float eps = static_cast<float>(a.rms_norm_eps);
  embed_tokens_ = nn::Embedding::load(w, "model.embed_tokens", a.vocab_size, a.hidden_size);
  rope_ = nn::RoPE(a.rope, D, false, a.max_position_embeddings);
  for (int64_t i = 0; i < a.num_hidden_layers; ++i) {
    std::string p = "model.layers." + std::to_string(i);
    LlamaBlock b;
    if (options.fused_qkv) {
      auto parts = split_rows(w, p + ".self_attn.qkv_proj", a.hidden_size, {H * D, KV * D, KV * D});
      b.q_proj = parts[0];
      b.k_proj = parts[1];
      b.v_proj = parts[2];
    } else {
      b.q_proj = nn::Linear::load(w, p + ".self_attn.q_proj", a.hidden_size, H * D, options.qkv_bias);
      b.k_proj = nn::Linear::load(w, p + ".self_attn.k_proj", a.hidden_size, KV * D, options.qkv_bias);
      b.v_proj = nn::Linear::load(w, p + ".self_attn.v_proj", a.hidden_size, KV * D, options.qkv_bias);
    }
    b.o_proj = nn::Linear::load(w, p + ".self_attn.o_proj", H * D, a.hidden_size, options.o_bias);
    if (options.fused_gate_up) {
      auto parts = split_rows(w, p + ".mlp.gate_up_proj", a.hidden_size, {a.intermediate_size, a.intermediate_size});
      b.gate_proj = parts[0];
      b.up_proj = parts[1];
    } else {
      b.gate_proj = nn::Linear::load(w, p + ".mlp.gate_proj", a.hidden_size, a.intermediate_size, options.mlp_bias);
      b.up_proj = nn::Linear::load(w, p + ".mlp.up_proj", a.hidden_size, a.intermediate_size, options.mlp_bias);
    }
    b.down_proj = nn::Linear::load(w, p + ".mlp.down_proj", a.intermediate_size, a.hidden_size, options.mlp_bias);
    b.input_norm = nn::RMSNorm::load(w, p + ".input_layernorm", a.hidden_size, eps, options.norm_offset);
    b.post_attention_norm =
        nn::RMSNorm::load(w, p + ".post_attention_layernorm", a.hidden_size, eps, options.norm_offset);
    b.attention.heads = H;
    b.attention.kv_heads = KV;
    b.attention.head_dim = D;
    b.attention.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
    if (options.qk_norm) {
      b.attention.q_norm = nn::RMSNorm::load(w, p + ".self_attn.q_norm", D, eps);
      b.attention.k_norm = nn::RMSNorm::load(w, p + ".self_attn.k_norm", D, eps);
    }
    layers_.push_back(std::move(b));
  }
  norm_ = nn::RMSNorm::load(w, "model.norm", a.hidden_size, eps, options.norm_offset);
  if (!a.tie_word_embeddings) lm_head_ = nn::Linear::load(w, "lm_head", a.hidden_size, a.vocab_size, false);
}

Array Llama::mlp(const LlamaBlock& b, const Array& x) const {
  Array gate = b.gate_proj(x);
  Array up = b.up_proj(x);
  return b.down_proj(options_.gelu_tanh ? gelu_tanh(gate) * up : swiglu(gate, up));
}

Array Llama::hidden(const Array& tokens, std::vector<nn::KVCache>& cache) {
  if (static_cast<int>(cache.size()) != num_layers()) throw Error("forward: one KV cache per layer needed");
  Array h = embed_tokens_(tokens);
  if (options_.scale_embeddings) {
    // transformers rounds sqrt(hidden) to the activations' dtype before multiplying.
    h = h * Array(std::sqrt(static_cast<double>(args_.hidden_size)), h.dtype());
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    h = grad_checkpoint_ ? checkpointed_block(layers_[i], h, cache[i]) : block(layers_[i], h, cache[i]);
  }
  return norm_(h);
}

Array Llama::head(const Array& h) const { return lm_head_ ? (*lm_head_)(h) : embed_tokens_.as_linear(h); }

Array Llama::forward(const Array& tokens, std::vector<nn::KVCache>& cache) { return head(hidden(tokens, cache)); }

Array Llama::forward_last(const Array& tokens, std::vector<nn::KVCache>& cache) {
  Array h = hidden(tokens, cache);
  int64_t last = h.shape(1) - 1;
  return head(slice_axis(h, 1, last, last + 1));
}

Array Llama::block(const LlamaBlock& b, const Array& h_in, nn::KVCache& cache) const {
  Array x = b.input_norm(h_in);
  Array h = h_in + b.o_proj(nn::attend(b.q_proj(x), b.k_proj(x), b.v_proj(x), b.attention, rope_, cache));
  return h + mlp(b, b.post_attention_norm(h));
}

Array Llama::checkpointed_block(LlamaBlock& b, const Array& h, const nn::KVCache& cache) {
  std::vector<Array*> slots;
  for (nn::Linear* l : {&b.q_proj, &b.k_proj, &b.v_proj, &b.o_proj, &b.gate_proj, &b.up_proj, &b.down_proj}) {
    for (Array* p : l->trainable_parameters()) slots.push_back(p);
  }
  std::vector<Array> primals{h};
  for (Array* p : slots) primals.push_back(*p);
  // The backward pass re-runs the block on its own copy of the cache as it was before the
  // block (training uses fresh caches; the caller's cache is left as it was).
  auto run = [this, &b, slots, cache](const std::vector<Array>& in) {
    std::vector<Array> saved;
    for (size_t k = 0; k < slots.size(); ++k) {
      saved.push_back(*slots[k]);
      *slots[k] = in[k + 1];
    }
    nn::KVCache local = cache;
    Array out;
    try {
      out = block(b, in[0], local);
    } catch (...) {
      for (size_t k = 0; k < slots.size(); ++k) *slots[k] = saved[k];
      throw;
    }
    for (size_t k = 0; k < slots.size(); ++k) *slots[k] = saved[k];
    return out;
  };
  return checkpoint(run)(primals);
}

std::vector<std::pair<std::string, nn::Linear*>> Llama::linear_layers() {
  std::vector<std::pair<std::string, nn::Linear*>> out;
  for (size_t i = 0; i < layers_.size(); ++i) {
    LlamaBlock& b = layers_[i];
    std::string p = "model.layers." + std::to_string(i) + ".";
    // Fused projections (Phi-3) are row views of one tensor: not listed separately.
    if (!options_.fused_qkv) {
      out.emplace_back(p + "self_attn.q_proj", &b.q_proj);
      out.emplace_back(p + "self_attn.k_proj", &b.k_proj);
      out.emplace_back(p + "self_attn.v_proj", &b.v_proj);
    }
    out.emplace_back(p + "self_attn.o_proj", &b.o_proj);
    if (!options_.fused_gate_up) {
      out.emplace_back(p + "mlp.gate_proj", &b.gate_proj);
      out.emplace_back(p + "mlp.up_proj", &b.up_proj);
    }
    out.emplace_back(p + "mlp.down_proj", &b.down_proj);
  }
  return out;
}

void sanitize_llama(const nlohmann::json& config, nn::WeightMap& weights) {
  std::vector<std::string> drop;
  for (const auto& [name, a] : weights.tensors()) {
    if (name.find("rotary_emb.inv_freq") != std::string::npos) drop.push_back(name);
  }
  if (config_value<bool>(config, "tie_word_embeddings", false)) {
    for (const char* n : {"lm_head.weight", "lm_head.scales", "lm_head.biases"}) drop.push_back(n);
  }
  for (const auto& name : drop) weights.erase(name);
}

namespace {
std::unique_ptr<Model> create_llama(const nlohmann::json& config, nn::WeightMap& weights) {
  LlamaOptions o;
  o.qkv_bias = config_value<bool>(config, "attention_bias", false);
  o.o_bias = o.qkv_bias;
  o.mlp_bias = config_value<bool>(config, "mlp_bias", false);
  return std::make_unique<Llama>(config, weights, o);
}
}  // namespace

LAMINA_REGISTER_ARCHITECTURE(llama, sanitize_llama, create_llama);

}  // namespace lamina::models
