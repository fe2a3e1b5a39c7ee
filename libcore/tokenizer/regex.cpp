// PCRE2 wrapper for the tokenizer (see regex.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "libcore/tokenizer/regex.h"

#include <pcre2.h>

#include "libcore/error.h"
#include "libcore/tokenizer/unicode.h"

namespace lamina::tokenizer {

struct Regex::Impl {
  pcre2_code* code = nullptr;
  std::string pattern;
  std::string where;
  ~Impl() {
    if (code != nullptr) pcre2_code_free(code);
  }
};

Regex::Regex(const std::string& pattern, const std::string& where) {
  auto impl = std::make_shared<Impl>();
  impl->pattern = pattern;
  impl->where = where;
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  impl->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                             PCRE2_UTF | PCRE2_UCP, &error_code, &error_offset, nullptr);
  if (impl->code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof(message));
    throw Error(where + ": invalid regex '" + pattern + "' at offset " +
                std::to_string(error_offset) + ": " + reinterpret_cast<const char*>(message));
  }
  // JIT is an optimisation only; without it pcre2_match interprets.
  pcre2_jit_compile(impl->code, PCRE2_JIT_COMPLETE);
  impl_ = std::move(impl);
}

std::vector<std::pair<size_t, size_t>> Regex::find_all(std::string_view text) const {
  if (!is_valid_utf8(text)) {
    throw Error(impl_->where + ": regex applied to invalid UTF-8 text");
  }
  std::vector<std::pair<size_t, size_t>> matches;
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(impl_->code, nullptr), &pcre2_match_data_free);
  if (!data) throw Error(impl_->where + ": out of memory for regex match data");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t offset = 0;
  while (offset <= text.size()) {
    const int rc = pcre2_match(impl_->code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK,
                               data.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      throw Error(impl_->where + ": regex '" + impl_->pattern +
                  "' failed: " + reinterpret_cast<const char*>(message));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    const size_t begin = ovector[0];
    const size_t end = ovector[1];
    if (end > begin) {
      matches.emplace_back(begin, end);
      offset = end;
    } else {
      // Empty match: step over one whole character.
      if (begin >= text.size()) break;
      const size_t n = utf8_sequence_length(text, begin);
      offset = begin + (n == 0 ? 1 : n);
    }
  }
  return matches;
}

std::string regex_escape(std::string_view literal) {
  // \Q...\E quotes everything except a literal "\E", which is split out.
  std::string out = "\\Q";
  for (size_t i = 0; i < literal.size(); ++i) {
    if (literal[i] == '\\' && i + 1 < literal.size() && literal[i + 1] == 'E') {
      out += "\\E\\\\\\QE";
      ++i;
    } else {
      out += literal[i];
    }
  }
  out += "\\E";
  return out;
}

}  // namespace lamina::tokenizer
