// The BPE model of tokenizer.json ("model": {"type": "BPE", ...}): vocab, ranked merges,
// byte fallback, unk handling, subword prefix/suffix; turns one pre-tokenized word into ids.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "libcore/tokenizer/json_fields.h"

namespace lamina::tokenizer {

// Hash for unordered maps keyed by std::string that can be probed with a string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class BpeModel {
 public:
  // Reads a "model" object of type BPE; malformed content throws lamina::Error with `where`.
  BpeModel(const Json& json, const std::string& where);

  // Appends the ids of `word` (one pre-tokenized piece) to `ids`.
  void tokenize(std::string_view word, std::vector<int32_t>& ids) const;

  // The id of `token` in the model vocab, if any.
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The token of `id`, or nullptr when the vocab has no such id.
  const std::string* id_to_token(int32_t id) const;
  // One past the largest id in the vocab.
  int32_t vocab_size() const { return static_cast<int32_t>(id_to_token_.size()); }
  // The most bytes of a word one token stands for: the longest vocab entry as stored (never
  // shorter than the text it covers), at least one UTF-8 character (an unknown one becomes
  // one unk token); nullopt with fuse_unk, where one unk covers a whole unknown run.
  // (Characters neither the vocab, byte fallback nor an unk token can spell are dropped
  // and count for no token at all.)
  std::optional<size_t> max_token_bytes() const;

 private:
  struct Merge {
    uint32_t rank;
    int32_t new_id;
  };
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  // The initial symbols (ids) of `word` before any merge, with unk/byte-fallback applied.
  void initial_symbols(std::string_view word, std::vector<int32_t>& symbols) const;
  // Applies the merges to `symbols` in rank order, leftmost first among equal ranks.
  void merge_all(std::vector<int32_t>& symbols) const;

  TokenMap vocab_;
  std::vector<std::string> id_to_token_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::optional<int32_t> unk_id_;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::vector<int32_t> byte_ids_;  // id of "<0xXX>" per byte, -1 when absent

  // Word -> ids cache for short words (most words of a text repeat).
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace lamina::tokenizer
