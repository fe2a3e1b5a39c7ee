// A compiled PCRE2 regular expression (UTF + Unicode properties, JIT when available), the
// engine behind Split / Replace patterns and the GPT-2 byte-level split.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lamina::tokenizer {

class Regex {
 public:
  // Compiles `pattern`; a bad pattern throws lamina::Error prefixed with `where`.
  Regex(const std::string& pattern, const std::string& where);

  // Byte ranges [begin, end) of the successive non-overlapping, non-empty matches in `text`
  // (which must be valid UTF-8).
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

// The regex that quotes `literal` so it matches only itself.
std::string regex_escape(std::string_view literal);

}  // namespace lamina::tokenizer
