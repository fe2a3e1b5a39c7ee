// Model loading and prompt encoding shared by generate, chat and cache-prompt.
#include "cli/model_session.h"

#include <array>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "libcore/array/device.h"
#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/error.h"
#include "libcore/generate/prompt_cache.h"
#include "libcore/tokenizer/chat_template.h"
#include "lora/adapters.h"

namespace lamina::cli {

namespace fs = std::filesystem;

namespace {

// Number checks with short messages (CLI11's own print the whole double range).
CLI::Validator at_least(double low, bool inclusive) {
  std::string what = std::string(inclusive ? ">= " : "> ") + CLI::detail::to_string(low);
  return CLI::Validator(
      [low, inclusive, what](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v)) return "'" + text + "' is not a number";
        bool ok = inclusive ? v >= low : v > low;
        return ok ? std::string() : "must be " + what + ", got " + text;
      },
      "NUMBER " + what);
}
const CLI::Validator kNonNegative = at_least(0, true);
const CLI::Validator kPositive = at_least(0, false);
const CLI::Validator kUnit = CLI::Validator(
    [](std::string& text) -> std::string {
      double v = 0;
      if (!CLI::detail::lexical_cast(text, v)) return "'" + text + "' is not a number";
      return v >= 0 && v <= 1 ? std::string() : "must be between 0 and 1, got " + text;
    },
    "NUMBER in [0, 1]");

}  // namespace

void add_model_flags(CLI::App& app, ModelFlags& flags, bool kv_size) {
  app.add_option("--model,-m", flags.model, "Model directory (lamina/MLX or Hugging Face layout)")->required();
  app.add_option("--dtype", flags.dtype, "Compute dtype: float16 | bfloat16 | float32 (default: the weights')")
      ->check(CLI::IsMember({"float16", "bfloat16", "float32"}));
  app.add_option("--device", flags.device, "auto | cpu | vulkan[:N] (default: auto)");
  app.add_option("--threads", flags.threads, "CPU threads (default: LAMINA_NUM_THREADS or all cores)")
      ->check(kNonNegative);
  app.add_option("--system-prompt", flags.system_prompt, "System message placed before the prompt");
  app.add_flag("--ignore-chat-template", flags.ignore_chat_template,
               "Tokenize the prompt as plain text even when the model has a chat template");
  app.add_option("--chat-template-name", flags.chat_template_name,
                 "Which template when tokenizer_config.json holds several (default: default)");
  app.add_option("--prefill-step-size", flags.prefill_step_size, "Prompt tokens per forward pass (default: 2048)")
      ->check(kPositive);
  app.add_option("--adapter-path", flags.adapter_path, "Directory of trained adapters (lamina lora) to apply");
  add_quantized_activations_flag(app, flags.quantized_activations);
  if (kv_size) {
    app.add_option("--max-kv-size", flags.max_kv_size,
                   "Keep at most this many positions in the KV cache (rotating; default: unbounded)")
        ->check(kNonNegative);
  }
}

void add_sampling_flags(CLI::App& app, SamplingFlags& flags, int default_max_tokens) {
  flags.max_tokens = default_max_tokens;
  app.add_option("--max-tokens", flags.max_tokens, "Maximum tokens to generate")
      ->check(kNonNegative)->capture_default_str();
  app.add_option("--temp", flags.temp, "Sampling temperature (0: greedy)")->check(kNonNegative)->capture_default_str();
  app.add_option("--top-p", flags.top_p, "Nucleus sampling: keep the smallest set with this probability mass")
      ->check(kUnit)->capture_default_str();
  app.add_option("--top-k", flags.top_k, "Keep the k most likely tokens (0: off)")->check(kNonNegative);
  app.add_option("--min-p", flags.min_p, "Drop tokens below min-p times the top probability (0: off)")
      ->check(kUnit);
  app.add_option("--repetition-penalty", flags.repetition_penalty, "Penalty for repeated tokens (1: off)")
      ->check(kPositive);
  app.add_option("--repetition-context-size", flags.repetition_context_size,
                 "How many recent tokens the repetition penalty looks at")->check(kPositive)->capture_default_str();
  app.add_option("--seed", flags.seed, "Random seed for sampling")->capture_default_str();
  app.add_option("--eos-token", flags.eos_tokens, "Extra token (text or id) that ends generation; repeatable");
  app.add_flag("--ignore-eos", flags.ignore_eos, "Do not stop at end-of-sequence tokens");
}

std::string read_prompt_argument(const std::string& text) {
  if (text != "-") return text;
  // Read in chunks: std::cin's character-at-a-time path takes seconds for ten megabytes.
  std::string all;
  std::array<char, 1 << 16> chunk{};
  for (size_t n; (n = std::fread(chunk.data(), 1, chunk.size(), stdin)) > 0;) {
    all.append(chunk.data(), n);
    if (all.size() > kMaxPromptBytes) {
      throw Error("the prompt on standard input is larger than " + std::to_string(kMaxPromptBytes) + " bytes");
    }
  }
  if (std::ferror(stdin)) throw Error("reading the prompt from standard input failed");
  return all;
}

void add_quantized_activations_flag(CLI::App& app, std::string& value) {
  app.add_option("--quantized-activations", value,
                 "How quantized layers multiply on the CPU: int8 (faster, activations rounded to "
                 "8 bits) | float32 (exact) (default: int8 where the CPU has AVX2)")
      ->check(CLI::IsMember({"float32", "int8"}));
}

core::QuantizedActivations quantized_activations_of(const std::string& value) {
  return value.empty() ? core::preferred_quantized_activations() : core::parse_quantized_activations(value);
}

ModelSession open_model(const ModelFlags& flags) {
  core::set_default_device(core::parse_device(flags.device));
  if (flags.device == "auto" && !flags.quiet) {
    std::string note = core::auto_device_note();
    if (!note.empty()) std::cerr << "lamina: " << note << "\n";
  }
  if (flags.threads > 0) core::cpu::set_num_threads(flags.threads);
  models::LoadOptions options;
  if (!flags.dtype.empty()) options.dtype = core::dtype_from_name(flags.dtype);
  options.quantized_activations = quantized_activations_of(flags.quantized_activations);
  models::LoadedModel loaded = models::load_model(flags.model, options);
  if (!flags.adapter_path.empty()) lora::load_adapters(*loaded.model, flags.adapter_path);
  fs::path tok = fs::path(flags.model) / "tokenizer.json";
  if (!fs::exists(tok)) throw Error(tok.string() + ": not found (the model has no tokenizer)");
  ModelSession s{std::move(loaded), tokenizer::Tokenizer::load(flags.model), {}, {}, flags, {}};
  if (!flags.ignore_chat_template) {
    s.chat_template = tokenizer::load_chat_template(flags.model, flags.chat_template_name, &s.chat_template_file);
  }
  s.special_tokens = tokenizer::load_special_tokens(flags.model);
  return s;
}

nlohmann::ordered_json ModelSession::messages_for(const std::string& user) const {
  auto messages = nlohmann::ordered_json::array();
  if (!flags.system_prompt.empty()) messages.push_back({{"role", "system"}, {"content", flags.system_prompt}});
  messages.push_back({{"role", "user"}, {"content", user}});
  return messages;
}

std::vector<int32_t> ModelSession::encode_messages(const nlohmann::ordered_json& messages) const {
  if (!chat_template) throw Error(flags.model + ": the model has no chat template");
  std::string text;
  try {
    text = tokenizer::apply_chat_template(*chat_template, messages, true, special_tokens);
  } catch (const Error& e) {
    throw Error(chat_template_file + ": " + e.what());  // e.g. the template's raise_exception()
  }
  // The template writes the special tokens itself (as transformers' apply_chat_template).
  return tokenizer.encode(text, false);
}

std::vector<int32_t> ModelSession::encode_prompt(const std::string& prompt) const {
  check_prompt_bytes(prompt.size() + flags.system_prompt.size());
  if (chat_template) return encode_messages(messages_for(prompt));
  std::string text = flags.system_prompt.empty() ? prompt : flags.system_prompt + "\n" + prompt;
  return tokenizer.encode(text, true);
}

void ModelSession::check_context(size_t tokens) const {
  int64_t context = loaded.model->args().max_position_embeddings;
  if (context > 0 && flags.max_kv_size == 0 && static_cast<int64_t>(tokens) > context) {
    throw Error("the prompt is " + std::to_string(tokens) + " tokens, longer than the model's context of " +
                std::to_string(context) + " (max_position_embeddings in " + flags.model +
                "/config.json); shorten it or pass --max-kv-size");
  }
}

void ModelSession::check_prompt_bytes(size_t bytes) const {
  const int64_t context = loaded.model->args().max_position_embeddings;
  const std::optional<size_t> token_bytes = tokenizer.max_token_bytes();
  if (context <= 0 || flags.max_kv_size != 0 || !token_bytes) return;
  // No token stands for more than token_bytes bytes of normalized text; normalizers may
  // shrink text a little (NFC composes characters), which the factor 4 leaves room for.
  const uint64_t most = static_cast<uint64_t>(context) * *token_bytes * 4;
  if (bytes <= most) return;
  throw Error("the prompt is " + std::to_string(bytes) + " bytes, more than the model's context of " +
              std::to_string(context) + " tokens can hold (at most " + std::to_string(most) +
              " bytes with this tokenizer; max_position_embeddings in " + flags.model +
              "/config.json); shorten it or pass --max-kv-size");
}

generate::GenerateOptions ModelSession::generate_options(const SamplingFlags& f) const {
  generate::GenerateOptions o;
  o.model_directory = flags.model;
  o.max_tokens = f.max_tokens;
  o.prefill_step_size = flags.prefill_step_size;
  o.ignore_eos = f.ignore_eos;
  o.eos_ids = loaded.eos_token_ids;
  if (o.eos_ids.empty() && tokenizer.eos_id()) o.eos_ids.push_back(*tokenizer.eos_id());
  for (const auto& t : f.eos_tokens) {
    if (auto id = tokenizer.token_to_id(t)) {
      o.eos_ids.push_back(*id);
    } else if (!t.empty() && t.find_first_not_of("0123456789") == std::string::npos) {
      o.eos_ids.push_back(static_cast<int32_t>(std::stol(t)));
    } else {
      auto ids = tokenizer.encode(t, false);
      if (ids.size() != 1) throw Error("--eos-token '" + t + "' is not a single token of this tokenizer");
      o.eos_ids.push_back(ids[0]);
    }
  }
  o.sampler.temperature = f.temp;
  o.sampler.top_p = f.top_p;
  o.sampler.top_k = f.top_k;
  o.sampler.min_p = f.min_p;
  o.sampler.repetition_penalty = f.repetition_penalty;
  o.sampler.repetition_context_size = f.repetition_context_size;
  o.sampler.seed = f.seed;
  return o;
}

}  // namespace lamina::cli

namespace lamina::cli {

std::string ModelSession::cache_identity() const {
  return generate::model_fingerprint(flags.model) + "/" + (flags.dtype.empty() ? "checkpoint-dtype" : flags.dtype) +
         (flags.adapter_path.empty() ? "" : "/adapters:" + flags.adapter_path);
}

}  // namespace lamina::cli
