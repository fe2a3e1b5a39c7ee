// Added-token parsing and matching (see added_tokens.h).
#include "libcore/tokenizer/added_tokens.h"

#include "libcore/tokenizer/unicode.h"

namespace lamina::tokenizer {
namespace {

// The code point that ends at byte `end` of `text` (end > 0).
uint32_t code_point_before(std::string_view text, size_t end, size_t& begin) {
  begin = end - 1;
  while (begin > 0 && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) --begin;
  size_t i = begin;
  return next_code_point(text, i);
}

bool is_word_char(uint32_t cp) { return cp == '_' || is_alphanumeric(cp); }

}  // namespace

std::vector<AddedToken> parse_added_tokens(const Json& json, const std::string& where) {
  std::vector<AddedToken> tokens;
  if (json.is_null()) return tokens;
  if (!json.is_array()) fail(where, "'added_tokens' must be a list");
  for (size_t i = 0; i < json.size(); ++i) {
    const std::string here = where + ": added_tokens[" + std::to_string(i) + "]";
    const Json& entry = json[i];
    AddedToken token;
    token.content = require_string(entry, "content", here);
    const int64_t id = optional_int(entry, "id", -1, here);
    if (id < 0 || id > INT32_MAX) fail(here, "'id' must be a non-negative integer");
    if (token.content.empty()) fail(here, "'content' must not be empty");
    token.id = static_cast<int32_t>(id);
    token.single_word = optional_bool(entry, "single_word", false, here);
    token.lstrip = optional_bool(entry, "lstrip", false, here);
    token.rstrip = optional_bool(entry, "rstrip", false, here);
    token.special = optional_bool(entry, "special", false, here);
    token.normalized = optional_bool(entry, "normalized", !token.special, here);
    tokens.push_back(std::move(token));
  }
  return tokens;
}

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens) : tokens_(tokens) {
  trie_.emplace_back();
  for (size_t t = 0; t < tokens_.size(); ++t) {
    int32_t node = 0;
    for (const char c : tokens_[t].content) {
      const auto byte = static_cast<unsigned char>(c);
      const auto it = trie_[static_cast<size_t>(node)].children.find(byte);
      if (it != trie_[static_cast<size_t>(node)].children.end()) {
        node = it->second;
      } else {
        const auto child = static_cast<int32_t>(trie_.size());
        trie_[static_cast<size_t>(node)].children[byte] = child;
        trie_.emplace_back();
        node = child;
      }
    }
    // A later duplicate replaces an earlier one, as a later added token wins in HF.
    trie_[static_cast<size_t>(node)].token = static_cast<int32_t>(t);
    first_byte_[static_cast<unsigned char>(tokens_[t].content[0])] = true;
  }
}

int32_t AddedTokenMatcher::longest_at(std::string_view text, size_t pos, size_t& length) const {
  int32_t best = -1;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto& children = trie_[static_cast<size_t>(node)].children;
    const auto it = children.find(static_cast<unsigned char>(text[i]));
    if (it == children.end()) break;
    node = it->second;
    if (trie_[static_cast<size_t>(node)].token >= 0) {
      best = trie_[static_cast<size_t>(node)].token;
      length = i + 1 - pos;
    }
  }
  return best;
}

std::vector<Segment> AddedTokenMatcher::split(std::string_view text) const {
  std::vector<Segment> segments;
  size_t start_offset = 0;  // end of the last emitted segment
  size_t pos = 0;           // where the search for the next match resumes
  while (!tokens_.empty() && pos < text.size()) {
    if (!first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    size_t length = 0;
    const int32_t index = longest_at(text, pos, length);
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[static_cast<size_t>(index)];
    size_t begin = pos;
    size_t end = pos + length;
    pos = end;  // matches never overlap, even when one is rejected below
    if (begin < start_offset) continue;
    if (token.single_word) {
      size_t unused = 0;
      const bool space_before = begin == 0 || !is_word_char(code_point_before(text, begin, unused));
      size_t after = end;
      const bool space_after = end == text.size() || !is_word_char(next_code_point(text, after));
      if (!space_before || !space_after) continue;
    }
    if (token.lstrip) {
      while (begin > start_offset) {
        size_t previous = 0;
        if (!is_whitespace(code_point_before(text, begin, previous))) break;
        begin = previous;
      }
    }
    if (token.rstrip) {
      while (end < text.size()) {
        size_t after = end;
        if (!is_whitespace(next_code_point(text, after))) break;
        end = after;
      }
      pos = end;
    }
    if (start_offset < begin) segments.push_back({start_offset, begin, -1});
    segments.push_back({begin, end, token.id});
    start_offset = end;
  }
  if (start_offset < text.size()) segments.push_back({start_offset, text.size(), -1});
  return segments;
}

}  // namespace lamina::tokenizer
