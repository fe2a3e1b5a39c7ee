// Lexer of the chat-template engine (see jinja_lexer.h). Whitespace rules follow Jinja's:
// `{%-` strips all whitespace before a tag, `-%}` all after it; with lstrip_blocks, spaces
// and tabs between a line start and a block or comment tag go; with trim_blocks, the first
// newline after a block or comment tag goes; `+` turns either off for one tag.
#include "libcore/tokenizer/jinja_lexer.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "libcore/error.h"
#include "libcore/tokenizer/jinja_strings.h"

namespace lamina::tokenizer::jinja {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool is_name_char(char c) {
  return is_name_start(c) || std::isdigit(static_cast<unsigned char>(c));
}

int count_newlines(std::string_view text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

void rstrip_all(std::string& text) {
  while (!text.empty() && is_space(text.back())) text.pop_back();
}

class Lexer {
 public:
  Lexer(std::string_view source, const LexerOptions& options) : options_(options) {
    // Jinja turns \r\n and \r into \n and drops one trailing newline.
    source_.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        source_.push_back('\n');
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        source_.push_back(source[i]);
      }
    }
    if (!options_.keep_trailing_newline && !source_.empty() && source_.back() == '\n')
      source_.pop_back();
  }

  std::vector<Token> run() {
    while (pos_ < source_.size()) {
      size_t tag = find_tag(pos_);
      std::string text = source_.substr(pos_, tag - pos_);
      if (tag == source_.size()) {
        emit_text(std::move(text));
        pos_ = tag;
        break;
      }
      char kind = source_[tag + 1];
      char modifier = tag + 2 < source_.size() ? source_[tag + 2] : '\0';
      if (modifier == '-') {
        rstrip_all(text);
      } else if (modifier != '+' && options_.lstrip_blocks && kind != '{') {
        lstrip_line(text);
      }
      int text_line = line_;
      line_ += count_newlines(source_.substr(pos_, tag - pos_));
      emit_text(std::move(text), text_line);
      pos_ = tag + 2 + ((modifier == '-' || modifier == '+') ? 1 : 0);
      if (kind == '#') {
        lex_comment();
      } else if (kind == '%' && try_raw(tag)) {
        // handled
      } else {
        lex_tag(kind == '{');
      }
    }
    tokens_.push_back(Token{TokenType::End, "", 0, 0.0, line_});
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    size_t i = from;
    while (true) {
      i = source_.find('{', i);
      if (i == std::string::npos || i + 1 >= source_.size()) return source_.size();
      char next = source_[i + 1];
      if (next == '{' || next == '%' || next == '#') return i;
      ++i;
    }
  }

  // lstrip_blocks: drop spaces/tabs between the line start and the tag.
  void lstrip_line(std::string& text) const {
    size_t newline = text.rfind('\n');
    size_t line_start = newline == std::string::npos ? 0 : newline + 1;
    if (newline == std::string::npos && !line_starting_) return;
    for (size_t i = line_start; i < text.size(); ++i)
      if (text[i] != ' ' && text[i] != '\t') return;
    text.resize(line_start);
  }

  void emit_text(std::string text, int line = -1) {
    if (text.empty()) return;
    tokens_.push_back(Token{TokenType::Text, std::move(text), 0, 0.0, line < 0 ? line_ : line});
  }

  // After a block or comment end: `-` strips all whitespace, trim_blocks one newline.
  void after_block_end(char modifier) {
    size_t start = pos_;
    if (modifier == '-') {
      while (pos_ < source_.size() && is_space(source_[pos_])) ++pos_;
    } else if (modifier != '+' && options_.trim_blocks && pos_ < source_.size() &&
               source_[pos_] == '\n') {
      ++pos_;
    }
    line_ += count_newlines(std::string_view(source_).substr(start, pos_ - start));
    line_starting_ = pos_ > start && source_[pos_ - 1] == '\n';
  }

  void lex_comment() {
    size_t end = source_.find("#}", pos_);
    if (end == std::string::npos) syntax_error(line_, "unclosed comment (missing '#}')");
    char modifier = end > pos_ ? source_[end - 1] : '\0';
    line_ += count_newlines(std::string_view(source_).substr(pos_, end - pos_));
    pos_ = end + 2;
    after_block_end(modifier == '-' || modifier == '+' ? modifier : '\0');
  }

  // Matches `{%[-+]? raw [-]?%}` at `tag`; on success emits the raw text as one token.
  bool try_raw(size_t tag) {
    size_t i = pos_;
    while (i < source_.size() && is_space(source_[i])) ++i;
    if (source_.compare(i, 3, "raw") != 0 ||
        (i + 3 < source_.size() && is_name_char(source_[i + 3])))
      return false;
    i += 3;
    while (i < source_.size() && is_space(source_[i])) ++i;
    bool strip_after = false;
    if (i < source_.size() && source_[i] == '-') {
      strip_after = true;
      ++i;
    }
    if (source_.compare(i, 2, "%}") != 0) return false;
    i += 2;
    if (strip_after)
      while (i < source_.size() && is_space(source_[i])) ++i;
    int start_line = line_;
    // Find {%[-+]? endraw [-+]?%}.
    size_t search = i;
    while (true) {
      size_t open = source_.find("{%", search);
      if (open == std::string::npos)
        syntax_error(start_line, "unclosed raw block (missing endraw)");
      size_t j = open + 2;
      char open_modifier = '\0';
      if (j < source_.size() && (source_[j] == '-' || source_[j] == '+'))
        open_modifier = source_[j++];
      while (j < source_.size() && is_space(source_[j])) ++j;
      if (source_.compare(j, 6, "endraw") != 0) {
        search = open + 2;
        continue;
      }
      j += 6;
      while (j < source_.size() && is_space(source_[j])) ++j;
      char close_modifier = '\0';
      if (j < source_.size() && (source_[j] == '-' || source_[j] == '+'))
        close_modifier = source_[j++];
      if (source_.compare(j, 2, "%}") != 0) syntax_error(line_, "malformed endraw tag");
      std::string text = source_.substr(i, open - i);
      if (open_modifier == '-') {
        rstrip_all(text);
      } else if (open_modifier != '+' && options_.lstrip_blocks) {
        size_t newline = text.rfind('\n');
        if (newline != std::string::npos) lstrip_line(text);
      }
      line_ += count_newlines(std::string_view(source_).substr(pos_, open - pos_));
      tokens_.push_back(Token{TokenType::Text, std::move(text), 0, 0.0, start_line});
      pos_ = j + 2;
      (void)tag;
      after_block_end(close_modifier);
      return true;
    }
  }

  void lex_tag(bool variable) {
    int begin_line = line_;
    tokens_.push_back(
        Token{variable ? TokenType::VariableBegin : TokenType::BlockBegin, "", 0, 0.0, line_});
    int depth = 0;  // brackets open: `}}` inside a dict literal does not end the tag
    while (true) {
      while (pos_ < source_.size() && is_space(source_[pos_])) {
        if (source_[pos_] == '\n') ++line_;
        ++pos_;
      }
      if (pos_ >= source_.size())
        syntax_error(begin_line,
                     variable ? "unclosed '{{' (missing '}}')" : "unclosed '{%' (missing '%}')");
      std::string_view rest = std::string_view(source_).substr(pos_);
      if (depth == 0) {
        std::string_view end = variable ? "}}" : "%}";
        char modifier = '\0';
        size_t length = 0;
        if (rest.substr(0, 2) == end) {
          length = 2;
        } else if ((rest[0] == '-' || (!variable && rest[0] == '+')) && rest.substr(1, 2) == end) {
          modifier = rest[0];
          length = 3;
        }
        if (length > 0) {
          tokens_.push_back(
              Token{variable ? TokenType::VariableEnd : TokenType::BlockEnd, "", 0, 0.0, line_});
          pos_ += length;
          if (variable) {
            size_t start = pos_;
            if (modifier == '-')
              while (pos_ < source_.size() && is_space(source_[pos_])) ++pos_;
            line_ += count_newlines(std::string_view(source_).substr(start, pos_ - start));
            line_starting_ = pos_ > start && source_[pos_ - 1] == '\n';
          } else {
            after_block_end(modifier);
          }
          return;
        }
      }
      char c = rest[0];
      if (is_name_start(c)) {
        size_t n = 1;
        while (n < rest.size() && is_name_char(rest[n])) ++n;
        tokens_.push_back(Token{TokenType::Name, std::string(rest.substr(0, n)), 0, 0.0, line_});
        pos_ += n;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        lex_number(rest);
      } else if (c == '\'' || c == '"') {
        lex_string(rest);
      } else {
        static const char* const kOperators[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*",
                                                 "/",  "%",  "~",  "<",  ">",  "=",  "(", ")", "[",
                                                 "]",  "{",  "}",  ",",  ".",  ":",  "|", ";"};
        bool matched = false;
        for (const char* op : kOperators) {
          std::string_view op_view(op);
          if (rest.substr(0, op_view.size()) == op_view) {
            if (op_view == "(" || op_view == "[" || op_view == "{") ++depth;
            if ((op_view == ")" || op_view == "]" || op_view == "}") && depth > 0) --depth;
            tokens_.push_back(Token{TokenType::Operator, std::string(op_view), 0, 0.0, line_});
            pos_ += op_view.size();
            matched = true;
            break;
          }
        }
        if (!matched) syntax_error(line_, std::string("unexpected character '") + c + "'");
      }
    }
  }

  void lex_number(std::string_view rest) {
    size_t n = 0;
    auto digits = [&]() {
      while (n < rest.size() && (std::isdigit(static_cast<unsigned char>(rest[n])) ||
                                 (rest[n] == '_' && n + 1 < rest.size() &&
                                  std::isdigit(static_cast<unsigned char>(rest[n + 1])))))
        ++n;
    };
    digits();
    bool is_float = false;
    if (n + 1 < rest.size() && rest[n] == '.' &&
        std::isdigit(static_cast<unsigned char>(rest[n + 1]))) {
      is_float = true;
      ++n;
      digits();
    }
    if (n < rest.size() && (rest[n] == 'e' || rest[n] == 'E')) {
      size_t m = n + 1;
      if (m < rest.size() && (rest[m] == '+' || rest[m] == '-')) ++m;
      if (m < rest.size() && std::isdigit(static_cast<unsigned char>(rest[m]))) {
        is_float = true;
        n = m;
        digits();
      }
    }
    std::string text;
    for (char ch : rest.substr(0, n))
      if (ch != '_') text.push_back(ch);
    Token token{is_float ? TokenType::Float : TokenType::Integer, text, 0, 0.0, line_};
    if (is_float) {
      token.float_value = std::strtod(text.c_str(), nullptr);
    } else {
      errno = 0;
      char* end = nullptr;
      long long parsed = std::strtoll(text.c_str(), &end, 10);
      if (errno == ERANGE) syntax_error(line_, "integer literal too large: " + text);
      token.int_value = parsed;
    }
    tokens_.push_back(std::move(token));
    pos_ += n;
  }

  void lex_string(std::string_view rest) {
    char quote = rest[0];
    std::string value;
    int start_line = line_;
    size_t n = 1;
    while (true) {
      if (n >= rest.size()) syntax_error(start_line, "unterminated string literal");
      char c = rest[n];
      if (c == quote) break;
      if (c == '\n') ++line_;
      if (c != '\\') {
        value.push_back(c);
        ++n;
        continue;
      }
      if (n + 1 >= rest.size()) syntax_error(start_line, "unterminated string literal");
      char e = rest[n + 1];
      n += 2;
      auto hex = [&](size_t count) {
        if (n + count > rest.size())
          syntax_error(line_, "truncated \\x/\\u escape in string literal");
        std::string digits(rest.substr(n, count));
        for (char d : digits)
          if (!std::isxdigit(static_cast<unsigned char>(d)))
            syntax_error(line_, "malformed \\x/\\u escape in string literal");
        n += count;
        utf8_append(value, static_cast<char32_t>(std::strtoul(digits.c_str(), nullptr, 16)));
      };
      switch (e) {
        case 'n':
          value.push_back('\n');
          break;
        case 't':
          value.push_back('\t');
          break;
        case 'r':
          value.push_back('\r');
          break;
        case '\\':
          value.push_back('\\');
          break;
        case '\'':
          value.push_back('\'');
          break;
        case '"':
          value.push_back('"');
          break;
        case 'a':
          value.push_back('\a');
          break;
        case 'b':
          value.push_back('\b');
          break;
        case 'f':
          value.push_back('\f');
          break;
        case 'v':
          value.push_back('\v');
          break;
        case '\n':
          ++line_;
          break;  // line continuation
        case 'x':
          hex(2);
          break;
        case 'u':
          hex(4);
          break;
        case 'U':
          hex(8);
          break;
        default:
          if (e >= '0' && e <= '7') {
            unsigned code = static_cast<unsigned>(e - '0');
            for (int k = 0; k < 2 && n < rest.size() && rest[n] >= '0' && rest[n] <= '7'; ++k, ++n)
              code = code * 8 + static_cast<unsigned>(rest[n] - '0');
            utf8_append(value, code);
          } else {
            value.push_back('\\');  // Python keeps unknown escapes as they are
            value.push_back(e);
          }
      }
    }
    tokens_.push_back(Token{TokenType::String, std::move(value), 0, 0.0, start_line});
    pos_ += n + 1;
  }

  std::string source_;
  LexerOptions options_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

}  // namespace

void syntax_error(int line, const std::string& message) {
  throw Error("chat template: line " + std::to_string(line) + ": " + message);
}

std::vector<Token> lex(std::string_view source, const LexerOptions& options) {
  return Lexer(source, options).run();
}

}  // namespace lamina::tokenizer::jinja
