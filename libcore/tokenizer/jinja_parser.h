// Parser of the chat-template engine: turns the lexer's tokens into a statement tree,
// with Jinja's operator precedence and the statements Hugging Face chat templates use.
#pragma once

#include <string_view>

#include "libcore/tokenizer/jinja_ast.h"
#include "libcore/tokenizer/jinja_lexer.h"

namespace lamina::tokenizer::jinja {

// Expressions and blocks nested deeper than this are refused (bounded native recursion).
inline constexpr int kMaxParseNesting = 128;
// Longest operator/postfix chain in one expression (a + a + ..., x.a.a...).
inline constexpr int kMaxExprHeight = 400;

// Parses a whole template; throws lamina::Error("chat template: line N: ...") on bad syntax.
Body parse_template(std::string_view source, const LexerOptions& options = {});

}  // namespace lamina::tokenizer::jinja
