// Writes a Hugging Face-format model directory (config.json + safetensors) with random
// weights of a real model's shape, through lamina's own safetensors writer, for the
// end-to-end speed runs. No tokenizer: the benchmark feeds token ids.
//   make_bench_model --shape tinyllama-1.1b --dtype float16 --out /tmp/tinyllama-f16
// Shapes: tinyllama-1.1b (TinyLlama/TinyLlama-1.1B-Chat-v1.0), qwen2.5-0.5b
// (Qwen/Qwen2.5-0.5B: tied embeddings, q/k/v bias). Weights have the scale
// initialises them (initializer_range; drawn uniform with that deviation), norm weights 1,
// biases 0.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "libcore/io/safetensors.h"
#include "libcore/ops/ops.h"

namespace {

namespace fs = std::filesystem;
using namespace lamina::core;

struct ModelShape {
  std::string model_type;
  int64_t hidden, intermediate, layers, heads, kv_heads, vocab, max_positions;
  double rope_theta, rms_norm_eps;
  bool tied, qkv_bias;
  int bos, eos;
};

// The config.json fields of the real checkpoints (only the shape-relevant ones).
const ModelShape kTinyLlama{"llama", 2048, 5632, 22, 32, 4, 32000, 2048, 10000.0, 1e-5,
                            false, false, 1, 2};
// TinyLlama's 22 layers and heads at 1/8 of its widths: the same graph (the same number of
// dispatches a token) at a fraction of the work, for measuring per-token host overhead.
const ModelShape kTinyLlamaNarrow{"llama", 256, 704, 22, 32, 4, 32000, 2048, 10000.0, 1e-5,
                                  false, false, 1, 2};
const ModelShape kQwen25_05B{"qwen2", 896, 4864, 24, 14, 2, 151936, 32768, 1000000.0, 1e-6,
                             true, true, 151643, 151643};

nlohmann::json config_json(const ModelShape& s, Dtype dtype) {
  nlohmann::json c;
  c["architectures"] = {s.model_type == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"};
  c["model_type"] = s.model_type;
  c["hidden_size"] = s.hidden;
  c["intermediate_size"] = s.intermediate;
  c["num_hidden_layers"] = s.layers;
  c["num_attention_heads"] = s.heads;
  c["num_key_value_heads"] = s.kv_heads;
  c["vocab_size"] = s.vocab;
  c["max_position_embeddings"] = s.max_positions;
  c["rope_theta"] = s.rope_theta;
  c["rms_norm_eps"] = s.rms_norm_eps;
  c["tie_word_embeddings"] = s.tied;
  c["hidden_act"] = "silu";
  c["bos_token_id"] = s.bos;
  c["eos_token_id"] = s.eos;
  c["torch_dtype"] = dtype_name(dtype);
  return c;
}

// Uniform on [-b, b) with the standard deviation of transformers' N(0, 0.02) initialisation
// (uniform draws cost a fraction of normal ones; the speed runs only need the scale).
constexpr double kUniformBound = 0.02 * 1.7320508075688772;

// Lazy random tensors, evaluated one at a time by the writer (peak memory ~ one tensor).
lamina::io::NamedArrays random_weights(const ModelShape& s, Dtype dtype, uint64_t seed) {
  const int64_t D = s.hidden / s.heads;
  lamina::io::NamedArrays out;
  uint64_t index = 0;  // each tensor draws from its own key: seed and position fix it
  auto weight = [&](const std::string& name, Shape shape) {
    Array key = random::key(seed * 100003 + index++);
    out.emplace_back(name, random::uniform(key, shape, -kUniformBound, kUniformBound, dtype));
  };
  auto constant = [&](const std::string& name, Shape shape, double value) {
    out.emplace_back(name, full(shape, value, dtype));
  };
  weight("model.embed_tokens.weight", {s.vocab, s.hidden});
  for (int64_t i = 0; i < s.layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i);
    constant(p + ".input_layernorm.weight", {s.hidden}, 1.0);
    weight(p + ".self_attn.q_proj.weight", {s.heads * D, s.hidden});
    weight(p + ".self_attn.k_proj.weight", {s.kv_heads * D, s.hidden});
    weight(p + ".self_attn.v_proj.weight", {s.kv_heads * D, s.hidden});
    if (s.qkv_bias) {
      constant(p + ".self_attn.q_proj.bias", {s.heads * D}, 0.0);
      constant(p + ".self_attn.k_proj.bias", {s.kv_heads * D}, 0.0);
      constant(p + ".self_attn.v_proj.bias", {s.kv_heads * D}, 0.0);
    }
    weight(p + ".self_attn.o_proj.weight", {s.hidden, s.heads * D});
    constant(p + ".post_attention_layernorm.weight", {s.hidden}, 1.0);
    weight(p + ".mlp.gate_proj.weight", {s.intermediate, s.hidden});
    weight(p + ".mlp.up_proj.weight", {s.intermediate, s.hidden});
    weight(p + ".mlp.down_proj.weight", {s.hidden, s.intermediate});
  }
  constant("model.norm.weight", {s.hidden}, 1.0);
  if (!s.tied) weight("lm_head.weight", {s.vocab, s.hidden});
  return out;
}

int usage(const char* argv0) {
  std::cerr << "usage: " << argv0
            << " --shape tinyllama-1.1b|tinyllama-narrow|qwen2.5-0.5b --dtype float32|bfloat16|float16 --out DIR"
               " [--seed N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string shape_name, dtype_arg, out_dir;
  uint64_t seed = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--shape") shape_name = argv[i + 1];
    else if (flag == "--dtype") dtype_arg = argv[i + 1];
    else if (flag == "--out") out_dir = argv[i + 1];
    else if (flag == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else return usage(argv[0]);
  }
  if (argc % 2 == 0 || shape_name.empty() || dtype_arg.empty() || out_dir.empty()) return usage(argv[0]);
  ModelShape shape;
  if (shape_name == "tinyllama-1.1b") shape = kTinyLlama;
  else if (shape_name == "tinyllama-narrow") shape = kTinyLlamaNarrow;
  else if (shape_name == "qwen2.5-0.5b") shape = kQwen25_05B;
  else return usage(argv[0]);
  Dtype dtype;
  if (dtype_arg == "float32") dtype = Dtype::float32;
  else if (dtype_arg == "bfloat16") dtype = Dtype::bfloat16;
  else if (dtype_arg == "float16") dtype = Dtype::float16;
  else return usage(argv[0]);

  try {
    const auto start = std::chrono::steady_clock::now();
    fs::create_directories(out_dir);
    auto tensors = random_weights(shape, dtype, seed);
    uint64_t bytes = 0, params = 0;
    for (const auto& [name, a] : tensors) {
      bytes += a.nbytes();
      params += static_cast<uint64_t>(a.size());
    }
    lamina::io::save_sharded(out_dir, tensors, lamina::io::kDefaultMaxShardBytes, {{"format", "pt"}});
    std::ofstream(fs::path(out_dir) / "config.json") << config_json(shape, dtype).dump(2) << "\n";
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << out_dir << ": " << shape_name << " " << dtype_arg << ", " << tensors.size()
              << " tensors, " << params << " parameters, " << bytes << " bytes in " << seconds
              << " s\n";
  } catch (const std::exception& e) {
    std::cerr << "make_bench_model: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
