// What `generate`, `chat` and `cache-prompt` share: the model and sampling flags, loading a
// model directory with its tokenizer and chat template, and turning a prompt into ids.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "libcore/generate/generator.h"
#include "libcore/models/loader.h"
#include "libcore/tokenizer/tokenizer.h"

namespace lamina::cli {

struct ModelFlags {
  std::string model;
  std::string dtype;   // empty: the checkpoint's
  std::string quantized_activations;  // float32 | int8; empty: int8 where the CPU has it
  std::string device = "auto";
  int threads = 0;     // 0: LAMINA_NUM_THREADS or all cores
  std::string system_prompt;
  bool ignore_chat_template = false;
  std::string chat_template_name = "default";
  int64_t max_kv_size = 0;
  int prefill_step_size = 2048;
  std::string adapter_path;  // LoRA/DoRA/full adapters applied after loading ("" for none)
  bool quiet = false;        // no notices on stderr (set by --quiet / --json)
};

struct SamplingFlags {
  int max_tokens = 100;
  float temp = 0.0f, top_p = 1.0f, min_p = 0.0f, repetition_penalty = 1.0f;
  int top_k = 0, repetition_context_size = 20;
  uint64_t seed = 0;
  std::vector<std::string> eos_tokens;
  bool ignore_eos = false;
};

// Adds --model, --dtype, --device, --threads, --system-prompt, --ignore-chat-template,
// --chat-template-name, --prefill-step-size, --adapter-path, --quantized-activations and (when
// `kv_size`) --max-kv-size.
void add_model_flags(CLI::App& app, ModelFlags& flags, bool kv_size = true);
// --quantized-activations float32|int8 (also used by perplexity, which has no other model
// flags in common), and what it selects: empty is int8 where the CPU has it.
void add_quantized_activations_flag(CLI::App& app, std::string& value);
core::QuantizedActivations quantized_activations_of(const std::string& value);
// Adds --max-tokens, --temp, --top-p, --top-k, --min-p, --repetition-penalty,
// --repetition-context-size, --seed, --eos-token, --ignore-eos.
void add_sampling_flags(CLI::App& app, SamplingFlags& flags, int default_max_tokens);

// A loaded model with what is needed to talk to it.
struct ModelSession {
  models::LoadedModel loaded;
  tokenizer::Tokenizer tokenizer;
  std::optional<std::string> chat_template;  // nullopt when absent or ignored
  nlohmann::ordered_json special_tokens;     // bos_token, eos_token... for the template
  ModelFlags flags;
  std::string chat_template_file;  // where chat_template came from, for its errors

  // The ids of a single user prompt: rendered with the chat template (as the user turn,
  // after the system prompt, with the generation prompt) when there is one, else
  // tokenized as plain text with the tokenizer's special tokens.
  std::vector<int32_t> encode_prompt(const std::string& prompt) const;
  // The ids of a conversation rendered with the chat template (add_generation_prompt).
  std::vector<int32_t> encode_messages(const nlohmann::ordered_json& messages) const;
  // The system message (if any) followed by `user`.
  nlohmann::ordered_json messages_for(const std::string& user) const;
  // Throws when `tokens` plus nothing else already exceeds the model's context.
  void check_context(size_t tokens) const;
  // Throws when a prompt of `bytes` bytes cannot fit the model's context: more bytes than
  // context x the longest token x 4 (room for normalizers that shrink text; only text the
  // tokenizer drops could make such a prompt fit). A huge prompt is so refused before the
  // (linear but slow: seconds per megabyte) tokenization of all of it.
  void check_prompt_bytes(size_t bytes) const;
  // Generation options from the sampling flags (EOS ids of the model plus --eos-token).
  generate::GenerateOptions generate_options(const SamplingFlags& sampling) const;
  // What a prompt cache must have been made with to be reused here: the model's
  // fingerprint and the compute dtype.
  std::string cache_identity() const;
};

// Sets the device and threads, loads the model, tokenizer and chat template.
ModelSession open_model(const ModelFlags& flags);

// The largest prompt read from stdin: 256 MB is tens of millions of tokens, more than any
// context holds, and bounds the memory an endless stdin can take.
inline constexpr size_t kMaxPromptBytes = size_t{256} << 20;

// Reads the whole of stdin when `text` is "-", else returns `text`. Throws when stdin holds
// more than kMaxPromptBytes.
std::string read_prompt_argument(const std::string& text);

}  // namespace lamina::cli
