// Recursive-descent parser of the chat-template engine (see jinja_parser.h). Precedence,
// loosest first: `x if c else y`, or, and, not, comparisons/in, + -, ~, * / // %, **,
// unary - +, then postfix (.attr, [item], call) and filters/tests (| f, is t).
#include "libcore/tokenizer/jinja_parser.h"

#include <algorithm>
#include <initializer_list>

namespace lamina::tokenizer::jinja {
namespace {

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Body parse() {
    std::string end;
    Body body = parse_until({}, 0, &end);
    return body;
  }

 private:
  // Keeps native recursion bounded on hostile input.
  class NestingGuard {
   public:
    NestingGuard(Parser& parser, int line) : parser_(parser) {
      if (++parser_.nesting_ > kMaxParseNesting)
        syntax_error(line,
                     "template nested deeper than " + std::to_string(kMaxParseNesting) + " levels");
    }
    ~NestingGuard() { --parser_.nesting_; }
    NestingGuard(const NestingGuard&) = delete;
    NestingGuard& operator=(const NestingGuard&) = delete;

   private:
    Parser& parser_;
  };

  const Token& current() const { return tokens_[pos_]; }
  const Token& peek(size_t ahead = 1) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& advance() {
    const Token& token = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return token;
  }
  bool is_op(const char* op) const {
    return current().type == TokenType::Operator && current().value == op;
  }
  bool is_name(const char* name) const {
    return current().type == TokenType::Name && current().value == name;
  }
  static std::string describe(const Token& token) {
    switch (token.type) {
      case TokenType::Text:
        return "template text";
      case TokenType::VariableBegin:
        return "'{{'";
      case TokenType::VariableEnd:
        return "'}}'";
      case TokenType::BlockBegin:
        return "'{%'";
      case TokenType::BlockEnd:
        return "'%}'";
      case TokenType::String:
        return "string literal";
      case TokenType::Integer:
      case TokenType::Float:
        return "number '" + token.value + "'";
      case TokenType::End:
        return "end of template";
      default:
        return "'" + token.value + "'";
    }
  }
  [[noreturn]] void unexpected(const std::string& expected) const {
    syntax_error(current().line, "expected " + expected + ", got " + describe(current()));
  }
  void expect_op(const char* op) {
    if (!is_op(op)) unexpected(std::string("'") + op + "'");
    advance();
  }
  void expect_block_end() {
    if (current().type != TokenType::BlockEnd) unexpected("'%}'");
    advance();
  }
  std::string expect_name() {
    if (current().type != TokenType::Name) unexpected("a name");
    return advance().value;
  }

  ExprPtr node(Expr::Kind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  // ---- statements ----

  // Parses until a `{% name %}` tag with name in `ends`; leaves the position after that name.
  Body parse_until(std::initializer_list<const char*> ends, int open_line, std::string* found) {
    NestingGuard guard(*this, current().line);
    Body body;
    while (true) {
      const Token& token = current();
      switch (token.type) {
        case TokenType::End:
          if (ends.size() > 0)
            syntax_error(open_line, std::string("unclosed block: expected '{% ") + *ends.begin() +
                                        " %}' before the end of the template");
          return body;
        case TokenType::Text: {
          auto stmt = std::make_unique<Stmt>();
          stmt->kind = Stmt::Kind::Text;
          stmt->line = token.line;
          stmt->text = token.value;
          body.push_back(std::move(stmt));
          advance();
          break;
        }
        case TokenType::VariableBegin: {
          auto stmt = std::make_unique<Stmt>();
          stmt->kind = Stmt::Kind::Output;
          stmt->line = token.line;
          advance();
          stmt->expr = parse_tuple(true);
          if (current().type != TokenType::VariableEnd) unexpected("'}}'");
          advance();
          body.push_back(std::move(stmt));
          break;
        }
        case TokenType::BlockBegin: {
          const Token& name = peek();
          if (name.type == TokenType::Name &&
              std::any_of(ends.begin(), ends.end(),
                          [&](const char* e) { return name.value == e; })) {
            advance();
            *found = advance().value;
            return body;
          }
          advance();
          body.push_back(parse_statement());
          break;
        }
        default:
          unexpected("template text or a tag");
      }
    }
  }

  StmtPtr parse_statement() {
    int line = current().line;
    if (current().type != TokenType::Name) unexpected("a statement name");
    std::string keyword = advance().value;
    auto stmt = std::make_unique<Stmt>();
    stmt->line = line;
    std::string end;
    if (keyword == "if") {
      stmt->kind = Stmt::Kind::If;
      stmt->conditions.push_back(parse_tuple(true));
      expect_block_end();
      while (true) {
        stmt->bodies.push_back(parse_until({"elif", "else", "endif"}, line, &end));
        if (end == "elif") {
          stmt->conditions.push_back(parse_tuple(true));
          expect_block_end();
          continue;
        }
        if (end == "else") {
          expect_block_end();
          stmt->else_body = parse_until({"endif"}, line, &end);
        }
        expect_block_end();
        break;
      }
    } else if (keyword == "for") {
      stmt->kind = Stmt::Kind::For;
      stmt->target = parse_target(false);
      if (!is_name("in")) unexpected("'in'");
      advance();
      stmt->expr = parse_tuple(false);
      if (is_name("if")) {
        advance();
        stmt->condition = parse_expression(true);
      }
      if (is_name("recursive")) syntax_error(line, "recursive for loops are not supported");
      expect_block_end();
      ++loop_depth_;
      stmt->body = parse_until({"endfor", "else"}, line, &end);
      --loop_depth_;
      if (end == "else") {
        expect_block_end();
        stmt->else_body = parse_until({"endfor"}, line, &end);
      }
      expect_block_end();
    } else if (keyword == "set") {
      stmt->target = parse_target(true);
      if (is_op("=")) {
        advance();
        stmt->kind = Stmt::Kind::Set;
        stmt->expr = parse_tuple(true);
        expect_block_end();
      } else {
        stmt->kind = Stmt::Kind::SetBlock;
        if (is_op("|")) stmt->expr = parse_filter_chain(nullptr);
        expect_block_end();
        stmt->body = parse_until({"endset"}, line, &end);
        expect_block_end();
      }
    } else if (keyword == "macro") {
      stmt->kind = Stmt::Kind::Macro;
      stmt->text = expect_name();
      stmt->params = parse_params();
      expect_block_end();
      int saved = loop_depth_;
      loop_depth_ = 0;
      stmt->body = parse_until({"endmacro"}, line, &end);
      loop_depth_ = saved;
      expect_block_end();
    } else if (keyword == "call") {
      stmt->kind = Stmt::Kind::CallBlock;
      if (is_op("(")) stmt->params = parse_params();
      stmt->expr = parse_expression(true);
      if (stmt->expr->kind != Expr::Kind::Call)
        syntax_error(line, "expected a macro call after 'call'");
      expect_block_end();
      stmt->body = parse_until({"endcall"}, line, &end);
      expect_block_end();
    } else if (keyword == "filter") {
      stmt->kind = Stmt::Kind::FilterBlock;
      stmt->expr = parse_filter_chain(nullptr, /*leading_pipe=*/false);
      expect_block_end();
      stmt->body = parse_until({"endfilter"}, line, &end);
      expect_block_end();
    } else if (keyword == "with") {
      stmt->kind = Stmt::Kind::With;
      while (current().type != TokenType::BlockEnd) {
        if (!stmt->assignments.empty()) expect_op(",");
        Target target = parse_target(false);
        expect_op("=");
        stmt->assignments.emplace_back(std::move(target), parse_expression(true));
      }
      expect_block_end();
      stmt->body = parse_until({"endwith"}, line, &end);
      expect_block_end();
    } else if (keyword == "break" || keyword == "continue") {
      if (loop_depth_ == 0) syntax_error(line, "'" + keyword + "' outside of a for loop");
      stmt->kind = keyword == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue;
      expect_block_end();
    } else if (keyword == "generation") {
      stmt->kind = Stmt::Kind::Block;
      expect_block_end();
      stmt->body = parse_until({"endgeneration"}, line, &end);
      expect_block_end();
    } else if (keyword == "include" || keyword == "import" || keyword == "from" ||
               keyword == "extends" || keyword == "block") {
      syntax_error(line,
                   "'" + keyword + "' is not supported in chat templates (no template files)");
    } else if (keyword.rfind("end", 0) == 0 || keyword == "elif" || keyword == "else") {
      syntax_error(line, "unexpected '" + keyword + "'");
    } else {
      syntax_error(line, "unknown statement '" + keyword + "'");
    }
    return stmt;
  }

  // name | name.attr | a, b | (a, b)
  Target parse_target(bool allow_attribute) {
    Target target;
    bool parens = is_op("(");
    if (parens) advance();
    target.names.push_back(expect_name());
    if (allow_attribute && !parens && is_op(".")) {
      advance();
      target.attribute = expect_name();
      return target;
    }
    while (is_op(",")) {
      advance();
      target.is_tuple = true;
      if (current().type != TokenType::Name) break;
      target.names.push_back(expect_name());
    }
    if (parens) {
      expect_op(")");
      target.is_tuple = true;
    }
    return target;
  }

  std::vector<MacroParam> parse_params() {
    std::vector<MacroParam> params;
    expect_op("(");
    while (!is_op(")")) {
      if (!params.empty()) expect_op(",");
      if (is_op(")")) break;
      MacroParam param;
      param.name = expect_name();
      if (is_op("=")) {
        advance();
        param.default_value = parse_expression(true);
      }
      params.push_back(std::move(param));
    }
    advance();
    return params;
  }

  // ---- expressions ----

  // Comma-separated expressions make a tuple (as in {{ a, b }} or `for x in a, b`).
  ExprPtr parse_tuple(bool with_condexpr) {
    int line = current().line;
    ExprPtr first = parse_expression(with_condexpr);
    if (!is_op(",")) return first;
    auto tuple = node(Expr::Kind::Tuple, line);
    tuple->children.push_back(std::move(first));
    while (is_op(",")) {
      advance();
      if (current().type == TokenType::BlockEnd || current().type == TokenType::VariableEnd ||
          is_op(")") || is_name("if"))
        break;
      tuple->children.push_back(parse_expression(with_condexpr));
    }
    return finish(std::move(tuple));
  }

  ExprPtr parse_expression(bool with_condexpr) {
    NestingGuard guard(*this, current().line);
    if (!with_condexpr) return parse_or();
    ExprPtr expr = parse_or();
    while (is_name("if")) {
      int line = current().line;
      advance();
      auto cond = node(Expr::Kind::Conditional, line);
      cond->children.push_back(std::move(expr));
      cond->children.push_back(parse_or());
      if (is_name("else")) {
        advance();
        cond->children.push_back(parse_expression(true));
      } else {
        cond->children.push_back(nullptr);
      }
      expr = finish(std::move(cond));
    }
    return expr;
  }

  ExprPtr binary(Expr::Kind kind, std::string op, ExprPtr left, ExprPtr right, int line) {
    auto e = node(kind, line);
    e->name = std::move(op);
    e->children.push_back(std::move(left));
    e->children.push_back(std::move(right));
    return finish(std::move(e));
  }

  // Records the node's height: long operator or postfix chains (a+a+a+..., x.a.a.a...) are
  // built without recursion here but would recurse when evaluated and destroyed.
  ExprPtr finish(ExprPtr e) {
    int height = 0;
    for (const auto& child : e->children)
      if (child) height = std::max(height, child->height);
    for (const auto& keyword : e->keywords) height = std::max(height, keyword.second->height);
    e->height = height + 1;
    if (e->height > kMaxExprHeight)
      syntax_error(e->line,
                   "expression nested deeper than " + std::to_string(kMaxExprHeight) + " levels");
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      int line = advance().line;
      left = binary(Expr::Kind::Or, "or", std::move(left), parse_and(), line);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      int line = advance().line;
      left = binary(Expr::Kind::And, "and", std::move(left), parse_not(), line);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      NestingGuard guard(*this, current().line);
      auto e = node(Expr::Kind::Not, advance().line);
      e->children.push_back(parse_not());
      return finish(std::move(e));
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    int line = current().line;
    ExprPtr first = parse_math1();
    std::unique_ptr<Expr> cmp;
    while (true) {
      std::string op;
      if (current().type == TokenType::Operator &&
          (current().value == "==" || current().value == "!=" || current().value == "<" ||
           current().value == "<=" || current().value == ">" || current().value == ">=")) {
        op = advance().value;
      } else if (is_name("in")) {
        advance();
        op = "in";
      } else if (is_name("not") && peek().type == TokenType::Name && peek().value == "in") {
        advance();
        advance();
        op = "not in";
      } else {
        break;
      }
      if (!cmp) {
        cmp = node(Expr::Kind::Compare, line);
        cmp->children.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->children.push_back(parse_math1());
    }
    return cmp ? finish(std::move(cmp)) : std::move(first);
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& op = advance();
      std::string name = op.value;
      left = binary(Expr::Kind::Binary, name, std::move(left), parse_concat(), op.line);
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      int line = advance().line;
      left = binary(Expr::Kind::Binary, "~", std::move(left), parse_math2(), line);
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& op = advance();
      std::string name = op.value;
      left = binary(Expr::Kind::Binary, name, std::move(left), parse_pow(), op.line);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      int line = advance().line;
      left = binary(Expr::Kind::Binary, "**", std::move(left), parse_unary(true), line);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    NestingGuard guard(*this, current().line);
    ExprPtr expr;
    if (is_op("-") || is_op("+")) {
      bool negate = current().value == "-";
      expr = node(negate ? Expr::Kind::Negate : Expr::Kind::Plus, advance().line);
      expr->children.push_back(parse_unary(false));
      expr = finish(std::move(expr));
    } else {
      expr = parse_primary();
    }
    expr = parse_postfix(std::move(expr));
    if (with_filter) expr = parse_filter_expr(std::move(expr));
    return expr;
  }

  ExprPtr parse_primary() {
    const Token& token = current();
    int line = token.line;
    switch (token.type) {
      case TokenType::Name: {
        std::string name = advance().value;
        auto e = node(Expr::Kind::Literal, line);
        if (name == "true" || name == "True") {
          e->value = Value(true);
        } else if (name == "false" || name == "False") {
          e->value = Value(false);
        } else if (name == "none" || name == "None") {
          e->value = Value::none();
        } else {
          e->kind = Expr::Kind::Name;
          e->name = name;
        }
        return e;
      }
      case TokenType::String: {
        std::string text;
        while (current().type == TokenType::String) text += advance().value;
        auto e = node(Expr::Kind::Literal, line);
        e->value = Value(std::move(text));
        return e;
      }
      case TokenType::Integer: {
        auto e = node(Expr::Kind::Literal, line);
        e->value = Value(advance().int_value);
        return e;
      }
      case TokenType::Float: {
        auto e = node(Expr::Kind::Literal, line);
        e->value = Value(advance().float_value);
        return e;
      }
      case TokenType::Operator:
        if (token.value == "(") {
          advance();
          if (is_op(")")) {
            advance();
            return node(Expr::Kind::Tuple, line);
          }
          ExprPtr inner = parse_tuple(true);
          expect_op(")");
          return inner;
        }
        if (token.value == "[") {
          advance();
          auto list = node(Expr::Kind::List, line);
          while (!is_op("]")) {
            if (!list->children.empty()) expect_op(",");
            if (is_op("]")) break;
            list->children.push_back(parse_expression(true));
          }
          advance();
          return finish(std::move(list));
        }
        if (token.value == "{") {
          advance();
          auto dict = node(Expr::Kind::Dict, line);
          while (!is_op("}")) {
            if (!dict->children.empty()) expect_op(",");
            if (is_op("}")) break;
            dict->children.push_back(parse_expression(true));
            expect_op(":");
            dict->children.push_back(parse_expression(true));
          }
          advance();
          return finish(std::move(dict));
        }
        break;
      default:
        break;
    }
    unexpected("an expression");
  }

  ExprPtr parse_postfix(ExprPtr expr) {
    while (true) {
      int line = current().line;
      if (is_op(".")) {
        advance();
        if (current().type == TokenType::Integer) {
          auto item = node(Expr::Kind::Item, line);
          auto index = node(Expr::Kind::Literal, line);
          index->value = Value(advance().int_value);
          item->children.push_back(std::move(expr));
          item->children.push_back(std::move(index));
          expr = finish(std::move(item));
        } else {
          auto attr = node(Expr::Kind::Attribute, line);
          attr->name = expect_name();
          attr->children.push_back(std::move(expr));
          expr = finish(std::move(attr));
        }
      } else if (is_op("[")) {
        advance();
        expr = parse_subscript(std::move(expr), line);
      } else if (is_op("(")) {
        expr = parse_call(std::move(expr));
      } else {
        return expr;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr target, int line) {
    ExprPtr parts[3];
    bool is_slice = false;
    if (!is_op(":")) parts[0] = parse_expression(true);
    if (is_op(":")) {
      is_slice = true;
      advance();
      if (!is_op("]") && !is_op(":")) parts[1] = parse_expression(true);
      if (is_op(":")) {
        advance();
        if (!is_op("]")) parts[2] = parse_expression(true);
      }
    }
    expect_op("]");
    auto e = node(is_slice ? Expr::Kind::Slice : Expr::Kind::Item, line);
    e->children.push_back(std::move(target));
    e->children.push_back(std::move(parts[0]));
    if (is_slice) {
      e->children.push_back(std::move(parts[1]));
      e->children.push_back(std::move(parts[2]));
    }
    return finish(std::move(e));
  }

  // Fills children[1..], keywords, star args of a Call/Filter/Test node from `( ... )`.
  void parse_call_args(Expr& call) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (is_op(")")) break;
      if (is_op("*")) {
        advance();
        call.star_args = parse_expression(true);
      } else if (is_op("**")) {
        advance();
        call.star_kwargs = parse_expression(true);
      } else if (current().type == TokenType::Name && peek().type == TokenType::Operator &&
                 peek().value == "=") {
        std::string name = advance().value;
        advance();
        call.keywords.emplace_back(std::move(name), parse_expression(true));
      } else {
        call.children.push_back(parse_expression(true));
      }
    }
    advance();
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto call = node(Expr::Kind::Call, current().line);
    call->children.push_back(std::move(callee));
    parse_call_args(*call);
    return finish(std::move(call));
  }

  std::string parse_dotted_name() {
    std::string name = expect_name();
    while (is_op(".") && peek().type == TokenType::Name) {
      advance();
      name += "." + advance().value;
    }
    return name;
  }

  ExprPtr parse_filter_expr(ExprPtr expr) {
    while (true) {
      if (is_op("|")) {
        expr = parse_filter_chain(std::move(expr));
      } else if (is_name("is")) {
        int line = advance().line;
        auto test = node(Expr::Kind::Test, line);
        if (is_name("not")) {
          advance();
          test->negated = true;
        }
        test->name = parse_dotted_name();
        test->children.push_back(std::move(expr));
        if (is_op("(")) {
          parse_call_args(*test);
        } else if ((current().type == TokenType::Name || current().type == TokenType::String ||
                    current().type == TokenType::Integer || current().type == TokenType::Float ||
                    is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          if (is_name("is")) syntax_error(line, "tests cannot be chained with 'is'");
          test->children.push_back(parse_postfix(parse_primary()));
        }
        expr = finish(std::move(test));
      } else if (is_op("(")) {
        expr = parse_call(std::move(expr));
      } else {
        return expr;
      }
    }
  }

  // One `| name(args)` (or a chain of them); `input` may be null for filter blocks.
  ExprPtr parse_filter_chain(ExprPtr input, bool leading_pipe = true) {
    bool first = true;
    while ((first && !leading_pipe) || is_op("|")) {
      if (!(first && !leading_pipe)) advance();
      first = false;
      auto filter = node(Expr::Kind::Filter, current().line);
      filter->name = parse_dotted_name();
      filter->children.push_back(std::move(input));
      if (is_op("(")) parse_call_args(*filter);
      input = std::move(filter);
      input = finish(std::move(input));
      if (!is_op("|")) break;
    }
    return input;
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int nesting_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Body parse_template(std::string_view source, const LexerOptions& options) {
  return Parser(lex(source, options)).parse();
}

}  // namespace lamina::tokenizer::jinja
