// Added tokens of tokenizer.json ("added_tokens"): special and user tokens matched in the
// text before the model sees it, longest match first, with HF's single_word / lstrip /
// rstrip rules.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "libcore/tokenizer/json_fields.h"

namespace lamina::tokenizer {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

// Parses the "added_tokens" list; malformed entries throw lamina::Error with `where`.
std::vector<AddedToken> parse_added_tokens(const Json& json, const std::string& where);

// A byte range of text and, when it is an added token, that token's id (else -1).
struct Segment {
  size_t begin;
  size_t end;
  int32_t id;
};

// Finds a set of added tokens in text (leftmost, then longest match).
class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(const std::vector<AddedToken>& tokens);

  // `text` cut into token segments and the plain segments between them (none empty).
  std::vector<Segment> split(std::string_view text) const;
  bool empty() const { return tokens_.empty(); }

 private:
  struct Node {
    std::unordered_map<unsigned char, int32_t> children;
    int32_t token = -1;  // index into tokens_ of the token ending here
  };
  // Index into tokens_ and length of the longest token starting at text[pos], or -1.
  int32_t longest_at(std::string_view text, size_t pos, size_t& length) const;

  std::vector<AddedToken> tokens_;
  std::vector<Node> trie_;
  bool first_byte_[256] = {};
};

}  // namespace lamina::tokenizer
