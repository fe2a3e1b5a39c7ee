// Training data (mlx-lm's formats): a jsonl file of {"text"}, {"prompt", "completion"}
// or {"messages"} objects, tokenized into examples that know where the loss starts.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "libcore/tokenizer/tokenizer.h"

namespace lamina::lora {

// One tokenized example; the loss counts tokens[offset:] (offset 0 counts every predicted
// token: the first token is never predicted).
struct Example {
  std::vector<int32_t> tokens;
  int64_t offset = 0;
};

// How text becomes tokens.
struct TextEncoder {
  const tokenizer::Tokenizer* tokenizer = nullptr;
  std::optional<std::string> chat_template;  // nullopt: prompt/completion are concatenated
  nlohmann::ordered_json special_tokens = nlohmann::ordered_json::object();
  // mlx-lm appends EOS to text examples that do not end with it.
  bool append_eos = true;
  // Loss on the completion / final assistant turn only.
  bool mask_prompt = false;
};

// Tokenizes one jsonl object. Throws lamina::Error (without location) when the object has
// none of the known shapes, or with mask_prompt on a plain-text example.
Example encode_example(const nlohmann::ordered_json& object, const TextEncoder& encoder);

// The longest jsonl line lamina reads: examples are cut to --max-seq-length tokens anyway,
// and 8 MB is about two million tokens of text.
inline constexpr size_t kMaxJsonlLineBytes = size_t{8} << 20;

// Reads a jsonl file (blank lines skipped). Throws lamina::Error naming the file and the
// 1-based line for a line that is not JSON or not a known example shape or is longer than
// kMaxJsonlLineBytes, and when the file holds no example.
std::vector<Example> load_jsonl(const std::string& path, const TextEncoder& encoder);

}  // namespace lamina::lora
