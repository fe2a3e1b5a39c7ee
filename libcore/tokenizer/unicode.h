// UTF-8 and Unicode helpers shared by the tokenizer: decoding/encoding code points, lossy
// repair of invalid UTF-8 (as Rust's String::from_utf8_lossy does), character classes as
// Rust's char methods define them, and GPT-2's byte <-> printable-character table.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lamina::tokenizer {

inline constexpr uint32_t kReplacementChar = 0xFFFD;
inline constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";

// Length in bytes of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there
// are not a complete valid sequence.
size_t utf8_sequence_length(std::string_view s, size_t i);
// Decodes the code point at s[i] (which must start a valid sequence) and advances i.
uint32_t next_code_point(std::string_view s, size_t& i);
// Appends the UTF-8 encoding of `cp` to `out`.
void append_utf8(std::string& out, uint32_t cp);
// The bytes of `bytes` with each maximal invalid subsequence replaced by U+FFFD.
std::string utf8_lossy(std::string_view bytes);
// True when `s` is entirely valid UTF-8.
bool is_valid_utf8(std::string_view s);

// Rust's char::is_whitespace (the Unicode White_Space property).
bool is_whitespace(uint32_t cp);
// Rust's char::is_alphanumeric (letters and numbers), approximated by general category.
bool is_alphanumeric(uint32_t cp);
// Rust's char::is_numeric (categories Nd, Nl, No).
bool is_numeric(uint32_t cp);
// HF's punctuation test: ASCII punctuation or a Unicode P* category.
bool is_punctuation(uint32_t cp);

// GPT-2 byte-level table: the printable character (as UTF-8) standing for each byte.
const std::array<std::string, 256>& byte_to_unicode();
// The byte a byte-level character stands for, or -1 when `cp` is not in the table.
int unicode_to_byte(uint32_t cp);

}  // namespace lamina::tokenizer
