// Lexer of the chat-template (Jinja subset) engine: splits a template into text and tag
// tokens, applying whitespace control (`-`/`+`) and the trim_blocks / lstrip_blocks rules
// that transformers' chat-template environment turns on.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lamina::tokenizer::jinja {

enum class TokenType {
  Text,           // template text outside tags (raw blocks included)
  VariableBegin,  // {{
  VariableEnd,    // }}
  BlockBegin,     // {%
  BlockEnd,       // %}
  Name,
  String,    // value holds the unescaped text
  Integer,   // int_value
  Float,     // float_value
  Operator,  // value holds the operator, e.g. "==", "(", "|"
  End,
};

struct Token {
  TokenType type = TokenType::End;
  std::string value;
  int64_t int_value = 0;
  double float_value = 0.0;
  int line = 1;
};

struct LexerOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

// Throws lamina::Error("chat template: line N: ...") on malformed input.
std::vector<Token> lex(std::string_view source, const LexerOptions& options = {});

// "chat template: line N: message".
[[noreturn]] void syntax_error(int line, const std::string& message);

}  // namespace lamina::tokenizer::jinja
