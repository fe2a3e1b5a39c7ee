// lamina::tokenizer::Tokenizer: a Hugging Face tokenizer.json (+ tokenizer_config.json)
// loaded without Python: encode text to ids and decode ids to text exactly as HF tokenizers
// does for BPE models (byte-level GPT-2 style and SentencePiece-style with byte fallback).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libcore/tokenizer/added_tokens.h"

namespace lamina::tokenizer {

class Tokenizer {
 public:
  // Loads `dir_or_file`: a directory holding tokenizer.json (and optionally
  // tokenizer_config.json), or the path of a tokenizer.json whose directory may hold the
  // config. Missing or malformed files throw lamina::Error naming the file.
  static Tokenizer load(const std::string& dir_or_file);
  // Builds a tokenizer from the text of tokenizer.json and of tokenizer_config.json (empty
  // for none); `name` is used in error messages.
  static Tokenizer from_json_text(const std::string& tokenizer_json, const std::string& config_json,
                                  const std::string& name = "tokenizer.json");

  // The ids of `text`; with add_special_tokens the post-processor's tokens (e.g. BOS) are
  // added. Invalid UTF-8 in `text` is read as U+FFFD, as a lossy decode would.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const;
  // The text of `ids` through the tokenizer.json decoder; unknown ids are skipped.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const {
    return decode(std::span<const int32_t>(ids), skip_special_tokens);
  }

  // The token string of `id` (added tokens first, then the model vocab), if any.
  std::optional<std::string> id_to_token(int32_t id) const;
  // The id of `token` (added tokens first, then the model vocab), if any.
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // One past the largest id of the vocab and the added tokens.
  int32_t vocab_size() const;
  // The most bytes of normalized text one token stands for (the longest vocab entry or
  // added token); nullopt when unbounded (a BPE with fuse_unk).
  std::optional<size_t> max_token_bytes() const;
  // Whether `id` is an added token marked special.
  bool is_special(int32_t id) const;
  const std::vector<AddedToken>& added_tokens() const;

  // Special tokens named by tokenizer_config.json (bos_token, eos_token, unk_token,
  // pad_token); empty string / nullopt when not set or not in the vocab.
  const std::string& bos_token() const;
  const std::string& eos_token() const;
  std::optional<int32_t> bos_id() const;
  std::optional<int32_t> eos_id() const;
  std::optional<int32_t> unk_id() const;
  std::optional<int32_t> pad_id() const;
  // tokenizer_config.json as read (an empty object when there was none).
  const nlohmann::json& config() const;

 private:
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace lamina::tokenizer
