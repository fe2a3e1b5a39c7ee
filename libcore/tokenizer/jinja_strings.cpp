// Python str semantics over UTF-8 for the chat-template interpreter (see jinja_strings.h).
#include "libcore/tokenizer/jinja_strings.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdio>

#include "libcore/error.h"

namespace lamina::tokenizer::jinja {
namespace {

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool is_cased(char32_t c) {
  auto category = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return category == UTF8PROC_CATEGORY_LU || category == UTF8PROC_CATEGORY_LL ||
         category == UTF8PROC_CATEGORY_LT;
}

char32_t to_upper(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
  return static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c)));
}
char32_t to_lower(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
}
char32_t to_title(char32_t c) {
  if (c < 0x80) return to_upper(c);
  return static_cast<char32_t>(utf8proc_totitle(static_cast<utf8proc_int32_t>(c)));
}

bool is_printable(char32_t c) {
  if (c == ' ') return true;
  if (c < 0x20 || c == 0x7f) return false;
  if (c < 0x7f) return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_ZS:
      return false;
    default:
      return true;
  }
}

template <typename Map>
std::string map_code_points(std::string_view text, Map map) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : utf8_decode(text)) utf8_append(out, map(c));
  return out;
}

// Byte offsets of whitespace-separated words: [begin, end) pairs.
std::vector<std::pair<size_t, size_t>> whitespace_words(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> words;
  std::vector<char32_t> cps = utf8_decode(text);
  size_t byte = 0;
  bool in_word = false;
  size_t start = 0;
  for (char32_t c : cps) {
    std::string encoded;
    utf8_append(encoded, c);
    bool space = is_python_space(c);
    if (!space && !in_word) {
      in_word = true;
      start = byte;
    } else if (space && in_word) {
      in_word = false;
      words.emplace_back(start, byte);
    }
    byte += encoded.size();
  }
  if (in_word) words.emplace_back(start, byte);
  return words;
}

}  // namespace

std::vector<char32_t> utf8_decode(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      out.push_back(byte);
      ++i;
      continue;
    }
    int length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 0;
    if (length == 0 || i + length > text.size()) {
      out.push_back(0xfffd);
      ++i;
      continue;
    }
    char32_t c = byte & (0x7f >> length);
    bool ok = true;
    for (int k = 1; k < length; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) ok = false;
      c = (c << 6) | (next & 0x3f);
    }
    if (!ok) {
      out.push_back(0xfffd);
      ++i;
      continue;
    }
    out.push_back(c);
    i += length;
  }
  return out;
}

void utf8_append(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
  }
}

std::string utf8_encode(const std::vector<char32_t>& code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (char32_t c : code_points) utf8_append(out, c);
  return out;
}

size_t utf8_length(std::string_view text) {
  if (is_ascii(text)) return text.size();
  return utf8_decode(text).size();
}

bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
         c == 0x205f || c == 0x3000;
}

std::string py_strip(std::string_view text, const std::optional<std::string>& chars, bool left,
                     bool right) {
  std::vector<char32_t> cps = utf8_decode(text);
  std::vector<char32_t> set;
  if (chars) set = utf8_decode(*chars);
  auto strip_this = [&](char32_t c) {
    return chars ? std::find(set.begin(), set.end(), c) != set.end() : is_python_space(c);
  };
  size_t begin = 0, end = cps.size();
  if (left)
    while (begin < end && strip_this(cps[begin])) ++begin;
  if (right)
    while (end > begin && strip_this(cps[end - 1])) --end;
  return utf8_encode(std::vector<char32_t>(cps.begin() + static_cast<std::ptrdiff_t>(begin),
                                           cps.begin() + static_cast<std::ptrdiff_t>(end)));
}

std::vector<std::string> py_split(std::string_view text, const std::optional<std::string>& sep,
                                  int64_t maxsplit) {
  std::vector<std::string> parts;
  if (!sep) {
    auto words = whitespace_words(text);
    for (size_t w = 0; w < words.size(); ++w) {
      if (maxsplit >= 0 && static_cast<int64_t>(w) == maxsplit) {
        parts.emplace_back(text.substr(words[w].first));
        return parts;
      }
      parts.emplace_back(text.substr(words[w].first, words[w].second - words[w].first));
    }
    return parts;
  }
  if (sep->empty()) throw Error("split(): empty separator");
  size_t start = 0;
  int64_t splits = 0;
  while (maxsplit < 0 || splits < maxsplit) {
    size_t found = text.find(*sep, start);
    if (found == std::string_view::npos) break;
    parts.emplace_back(text.substr(start, found - start));
    start = found + sep->size();
    ++splits;
  }
  parts.emplace_back(text.substr(start));
  return parts;
}

std::vector<std::string> py_rsplit(std::string_view text, const std::optional<std::string>& sep,
                                   int64_t maxsplit) {
  if (maxsplit < 0) return py_split(text, sep, maxsplit);
  std::vector<std::string> parts;
  if (!sep) {
    auto words = whitespace_words(text);
    int64_t taken = 0;
    size_t w = words.size();
    while (w > 0 && taken < maxsplit) {
      --w;
      parts.emplace_back(text.substr(words[w].first, words[w].second - words[w].first));
      ++taken;
    }
    if (w > 0) parts.emplace_back(text.substr(0, words[w - 1].second));
    std::reverse(parts.begin(), parts.end());
    return parts;
  }
  if (sep->empty()) throw Error("rsplit(): empty separator");
  size_t end = text.size();
  int64_t splits = 0;
  while (splits < maxsplit && end >= sep->size()) {
    size_t found = text.rfind(*sep, end - sep->size());
    if (found == std::string_view::npos) break;
    parts.emplace_back(text.substr(found + sep->size(), end - found - sep->size()));
    end = found;
    ++splits;
  }
  parts.emplace_back(text.substr(0, end));
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::string py_replace(std::string_view text, std::string_view old_text, std::string_view new_text,
                       int64_t count, size_t max_bytes) {
  std::string out;
  auto append = [&](std::string_view piece) {
    if (out.size() + piece.size() > max_bytes)
      throw Error("replace(): the result would exceed " + std::to_string(max_bytes) + " bytes");
    out.append(piece);
  };
  if (old_text.empty()) {
    std::vector<char32_t> cps = utf8_decode(text);
    int64_t done = 0;
    for (char32_t c : cps) {
      if (count < 0 || done < count) {
        append(new_text);
        ++done;
      }
      std::string encoded;
      utf8_append(encoded, c);
      append(encoded);
    }
    if (count < 0 || done < count) append(new_text);
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t found = text.find(old_text, start);
    if (found == std::string_view::npos) break;
    append(text.substr(start, found - start));
    append(new_text);
    start = found + old_text.size();
    ++done;
  }
  append(text.substr(start));
  return out;
}

std::string py_upper(std::string_view text) { return map_code_points(text, to_upper); }
std::string py_lower(std::string_view text) { return map_code_points(text, to_lower); }

std::string py_title(std::string_view text) {
  std::string out;
  bool previous_cased = false;
  for (char32_t c : utf8_decode(text)) {
    utf8_append(out, previous_cased ? to_lower(c) : to_title(c));
    previous_cased = is_cased(c);
  }
  return out;
}

std::string py_capitalize(std::string_view text) {
  std::string out;
  bool first = true;
  for (char32_t c : utf8_decode(text)) {
    utf8_append(out, first ? to_title(c) : to_lower(c));
    first = false;
  }
  return out;
}

std::string jinja_title(std::string_view text) {
  std::string out;
  bool word_start = true;
  for (char32_t c : utf8_decode(text)) {
    bool separator = is_python_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (separator) {
      utf8_append(out, c);
      word_start = true;
    } else {
      utf8_append(out, word_start ? to_upper(c) : to_lower(c));
      word_start = false;
    }
  }
  return out;
}

int64_t py_find(std::string_view text, std::string_view needle) {
  size_t found = text.find(needle);
  if (found == std::string_view::npos) return -1;
  return static_cast<int64_t>(utf8_length(text.substr(0, found)));
}

std::string py_repr_string(std::string_view text) {
  bool has_single = text.find('\'') != std::string_view::npos;
  bool has_double = text.find('"') != std::string_view::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : utf8_decode(text)) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (!is_printable(c)) {
      char buffer[16];
      if (c < 0x100)
        std::snprintf(buffer, sizeof buffer, "\\x%02x", static_cast<unsigned>(c));
      else if (c < 0x10000)
        std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
      else
        std::snprintf(buffer, sizeof buffer, "\\U%08x", static_cast<unsigned>(c));
      out += buffer;
    } else {
      utf8_append(out, c);
    }
  }
  out.push_back(quote);
  return out;
}

}  // namespace lamina::tokenizer::jinja
