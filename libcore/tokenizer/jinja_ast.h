// Syntax tree of the chat-template engine: expression and statement nodes built by
// jinja_parser and walked by jinja_interpreter.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "libcore/tokenizer/jinja_value.h"

namespace lamina::tokenizer::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Expr {
  enum class Kind {
    Literal,      // value
    Name,         // name
    List,         // children
    Tuple,        // children
    Dict,         // children: key, value, key, value...
    Attribute,    // children[0].name
    Item,         // children[0][children[1]]
    Slice,        // children[0][children[1]:children[2]:children[3]] (null parts allowed)
    Call,         // children[0](children[1..], keywords)
    Filter,       // children[0] | name(children[1..], keywords); children[0] null in filter blocks
    Test,         // children[0] is [not] name(children[1..], keywords)
    Not,          // not children[0]
    Negate,       // -children[0]
    Plus,         // +children[0]
    Binary,       // children[0] op children[1]: + - * / // % ** ~
    And,          // children[0] and children[1]
    Or,           // children[0] or children[1]
    Compare,      // children[0] ops[0] children[1] ops[1] children[2]... (chained)
    Conditional,  // children[0] if children[1] else children[2] (children[2] may be null)
  };
  Kind kind = Kind::Literal;
  int line = 0;
  int height = 1;  // 1 + the tallest child; bounded by the parser
  Value value;
  std::string name;  // Name, Attribute, Filter, Test; the operator for Binary
  std::vector<ExprPtr> children;
  std::vector<std::pair<std::string, ExprPtr>> keywords;
  ExprPtr star_args;             // *args in a call
  ExprPtr star_kwargs;           // **kwargs in a call
  std::vector<std::string> ops;  // Compare: "==", "!=", "<", "<=", ">", ">=", "in", "not in"
  bool negated = false;          // Test: `is not`
};

// Where `set` and `for` store values: one name, several names (unpacking), or ns.attr.
struct Target {
  std::vector<std::string> names;
  bool is_tuple = false;
  std::string attribute;  // set ns.attr = ...: names[0] is the namespace
};

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // null: required
};

struct Stmt {
  enum class Kind {
    Text,         // text
    Output,       // {{ expr }}
    If,           // conditions[i] -> bodies[i]; else_body
    For,          // for target in expr [if condition] body [else else_body]
    Set,          // set target = expr
    SetBlock,     // set target [| filters] %} body {% endset
    Macro,        // macro name(params) body
    CallBlock,    // call(params) expr body
    FilterBlock,  // filter filters body
    With,         // with assignments body
    Break,
    Continue,
    Block,  // a plain body: {% generation %}
  };
  Kind kind = Kind::Text;
  int line = 0;
  std::string text;  // Text; Macro name
  ExprPtr expr;      // Output, For iterable, Set value, CallBlock call, SetBlock/FilterBlock filter
  ExprPtr condition;  // For: inline `if`
  Target target;
  std::vector<ExprPtr> conditions;
  std::vector<Body> bodies;
  Body body;
  Body else_body;
  std::vector<MacroParam> params;                       // Macro, CallBlock
  std::vector<std::pair<Target, ExprPtr>> assignments;  // With
};

}  // namespace lamina::tokenizer::jinja
