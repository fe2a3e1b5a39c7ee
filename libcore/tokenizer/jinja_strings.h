// Python str semantics over UTF-8 for the chat-template interpreter: code-point length and
// slicing, whitespace, case mapping, split/strip/replace, and repr() quoting.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lamina::tokenizer::jinja {

// Code points of UTF-8 text (an invalid byte decodes to U+FFFD).
std::vector<char32_t> utf8_decode(std::string_view text);
void utf8_append(std::string& out, char32_t code_point);
std::string utf8_encode(const std::vector<char32_t>& code_points);
// Number of code points (Python len()).
size_t utf8_length(std::string_view text);

// Python str.isspace() for one code point.
bool is_python_space(char32_t c);

// Python str.strip/lstrip/rstrip; `chars` absent means whitespace.
std::string py_strip(std::string_view text, const std::optional<std::string>& chars, bool left,
                     bool right);
// Python str.split(sep, maxsplit); no sep splits on whitespace runs.
std::vector<std::string> py_split(std::string_view text, const std::optional<std::string>& sep,
                                  int64_t maxsplit);
// Python str.rsplit(sep, maxsplit).
std::vector<std::string> py_rsplit(std::string_view text, const std::optional<std::string>& sep,
                                   int64_t maxsplit);
// Python str.replace(old, new, count); `max_bytes` bounds the result (throws beyond it).
std::string py_replace(std::string_view text, std::string_view old_text, std::string_view new_text,
                       int64_t count, size_t max_bytes);
std::string py_upper(std::string_view text);
std::string py_lower(std::string_view text);
// Python str.title(): every run of letters starts upper case, the rest lower case.
std::string py_title(std::string_view text);
// Python str.capitalize().
std::string py_capitalize(std::string_view text);
// Jinja's `title` filter: words start after whitespace, '-', '(', '{', '[' or '<'.
std::string jinja_title(std::string_view text);
// Python str.find (code-point index of the first match, or -1).
int64_t py_find(std::string_view text, std::string_view needle);
// Python repr() of a str.
std::string py_repr_string(std::string_view text);

}  // namespace lamina::tokenizer::jinja
