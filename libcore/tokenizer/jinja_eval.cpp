// Expression evaluation of the chat-template interpreter: operators with Python semantics,
// attribute/item lookup as Jinja resolves it, slicing, calls and argument lists.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

#include "libcore/error.h"
#include "libcore/tokenizer/jinja_builtins.h"
#include "libcore/tokenizer/jinja_interpreter.h"
#include "libcore/tokenizer/jinja_strings.h"

namespace lamina::tokenizer::jinja {
namespace {

[[noreturn]] void operand_error(const std::string& op, const Value& left, const Value& right) {
  for (const Value* v : {&left, &right})
    if (v->is_undefined())
      throw Error("'" + (v->undefined_name().empty() ? std::string("value") : v->undefined_name()) +
                  "' is undefined (used with '" + op + "')");
  throw Error("unsupported operand types for " + op + ": '" + left.type_name() + "' and '" +
              right.type_name() + "'");
}

int64_t checked(bool overflow, int64_t value) {
  if (overflow) throw Error("integer overflow");
  return value;
}

int64_t floor_div(int64_t a, int64_t b) {
  if (b == 0) throw Error("integer division or modulo by zero");
  if (a == std::numeric_limits<int64_t>::min() && b == -1) throw Error("integer overflow");
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t floor_mod(int64_t a, int64_t b) {
  if (b == 0) throw Error("integer division or modulo by zero");
  if (b == -1) return 0;
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

// Python's slice index clamping for a sequence of length n.
std::vector<size_t> slice_indices(size_t n, const Value& start_v, const Value& stop_v,
                                  const Value& step_v) {
  auto given = [](const Value& v) { return !v.is_undefined() && !v.is_none(); };
  auto as_index = [](const Value& v) {
    if (!v.is_int() && !v.is_bool()) throw Error("slice indices must be integers or None");
    return v.as_int();
  };
  int64_t step = given(step_v) ? as_index(step_v) : 1;
  if (step == 0) throw Error("slice step cannot be zero");
  auto len = static_cast<int64_t>(n);
  auto clamp = [&](const Value& v, int64_t fallback) {
    if (!given(v)) return fallback;
    int64_t x = as_index(v);
    if (x < 0) {
      x += len;
      if (x < 0) x = step < 0 ? -1 : 0;
    } else if (x >= len) {
      x = step < 0 ? len - 1 : len;
    }
    return x;
  };
  int64_t start = clamp(start_v, step < 0 ? len - 1 : 0);
  int64_t stop = clamp(stop_v, step < 0 ? -1 : len);
  std::vector<size_t> indices;
  if (step > 0) {
    for (int64_t i = start; i < stop; i += step) indices.push_back(static_cast<size_t>(i));
  } else {
    for (int64_t i = start; i > stop; i += step) indices.push_back(static_cast<size_t>(i));
  }
  return indices;
}

}  // namespace

std::string percent_format(const std::string& format, const Value& args) {
  std::vector<Value> values;
  if (args.is_list() && args.as_list().is_tuple) {
    values = args.as_list().items;
  } else {
    values.push_back(args);
  }
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out.push_back(format[i]);
      continue;
    }
    if (++i >= format.size()) throw Error("incomplete format");
    if (format[i] == '%') {
      out.push_back('%');
      continue;
    }
    int precision = -1;
    if (format[i] == '.') {
      precision = 0;
      while (++i < format.size() && std::isdigit(static_cast<unsigned char>(format[i])))
        precision = std::min(precision * 10 + (format[i] - '0'), 100);
    }
    if (i >= format.size()) throw Error("incomplete format");
    if (next >= values.size()) throw Error("not enough arguments for format string");
    const Value& v = values[next++];
    switch (format[i]) {
      case 's':
        out += v.to_string();
        break;
      case 'r':
        out += v.repr();
        break;
      case 'd':
      case 'i':
        if (!v.is_number()) throw Error("%d format: a number is required, not " + v.type_name());
        out += std::to_string(v.is_float() ? static_cast<int64_t>(v.as_float()) : v.as_int());
        break;
      case 'f': {
        if (!v.is_number()) throw Error("%f format: a number is required, not " + v.type_name());
        char buffer[512];
        std::snprintf(buffer, sizeof buffer, "%.*f", precision < 0 ? 6 : precision, v.as_float());
        out += buffer;
        break;
      }
      default:
        throw Error(std::string("unsupported format character '") + format[i] + "'");
    }
  }
  if (next < values.size()) throw Error("not all arguments converted during string formatting");
  return out;
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::String:
      if (!item.is_string())
        throw Error("'in <string>' requires string as left operand, not " + item.type_name());
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::List:
      for (const Value& v : container.as_list().items)
        if (equals(v, item)) return true;
      return false;
    case Value::Kind::Dict:
      return container.as_dict().find(item) != nullptr;
    case Value::Kind::Undefined:
      return false;
    default:
      throw Error("argument of type '" + container.type_name() + "' is not iterable");
  }
}

Value Interpreter::get_attribute(const Value& object, const std::string& name) {
  switch (object.kind()) {
    case Value::Kind::Dict: {
      Value method = find_method(object, name);
      if (!method.is_undefined()) return method;
      const Value* found = object.as_dict().find(std::string_view(name));
      return found ? *found : Value::undefined(name);
    }
    case Value::Kind::Object:
      return object.as_object().get_attr(name);
    case Value::Kind::String:
    case Value::Kind::List:
      return find_method(object, name);
    default:
      return Value::undefined(name);  // attributes of undefined are undefined
  }
}

Value Interpreter::get_item(const Value& object, const Value& key) {
  switch (object.kind()) {
    case Value::Kind::Dict: {
      const Value* found = object.as_dict().find(key);
      if (found) return *found;
      if (key.is_string()) return find_method(object, key.as_string());
      return Value::undefined(key.to_string());
    }
    case Value::Kind::List:
    case Value::Kind::String: {
      if (key.is_string()) return find_method(object, key.as_string());
      if (!key.is_int() && !key.is_bool()) return Value::undefined(key.to_string());
      int64_t index = key.as_int();
      if (object.is_list()) {
        const auto& items = object.as_list().items;
        auto n = static_cast<int64_t>(items.size());
        if (index < 0) index += n;
        if (index < 0 || index >= n) return Value::undefined(key.to_string());
        return items[static_cast<size_t>(index)];
      }
      std::vector<char32_t> cps = utf8_decode(object.as_string());
      auto n = static_cast<int64_t>(cps.size());
      if (index < 0) index += n;
      if (index < 0 || index >= n) return Value::undefined(key.to_string());
      std::string ch;
      utf8_append(ch, cps[static_cast<size_t>(index)]);
      return Value(std::move(ch));
    }
    case Value::Kind::Object:
      if (key.is_string()) return object.as_object().get_attr(key.as_string());
      return Value::undefined(key.to_string());
    default:
      return Value::undefined(key.to_string());
  }
}

Value Interpreter::eval_slice(const Value& target, const Value& start, const Value& stop,
                              const Value& step) {
  if (target.is_list()) {
    const auto& items = target.as_list().items;
    std::vector<Value> out;
    for (size_t i : slice_indices(items.size(), start, stop, step)) out.push_back(items[i]);
    return make_list(std::move(out), target.as_list().is_tuple);
  }
  if (target.is_string()) {
    std::vector<char32_t> cps = utf8_decode(target.as_string());
    std::string out;
    for (size_t i : slice_indices(cps.size(), start, stop, step)) utf8_append(out, cps[i]);
    return make_string(std::move(out));
  }
  if (target.is_undefined()) return target;
  throw Error("'" + target.type_name() + "' object cannot be sliced");
}

bool Interpreter::eval_compare(const std::string& op, const Value& left, const Value& right) {
  if (op == "==") return equals(left, right);
  if (op == "!=") return !equals(left, right);
  if (op == "in") return contains(right, left);
  if (op == "not in") return !contains(right, left);
  if (left.is_undefined() || right.is_undefined()) operand_error(op, left, right);
  int c = compare(left, right);
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;
}

Value Interpreter::eval_binary(const std::string& op, const Value& left, const Value& right) {
  if (op == "~") {
    std::string a = left.to_string();
    std::string b = right.to_string();
    check_string_size(a.size() + b.size());
    return make_string(a + b);
  }
  bool ints = (left.is_int() || left.is_bool()) && (right.is_int() || right.is_bool());
  bool numbers = left.is_number() && right.is_number();
  if (op == "+") {
    if (ints) {
      int64_t r = 0;
      bool overflow = __builtin_add_overflow(left.as_int(), right.as_int(), &r);
      return Value(checked(overflow, r));
    }
    if (numbers) return Value(left.as_float() + right.as_float());
    if (left.is_string() && right.is_string()) {
      check_string_size(left.as_string().size() + right.as_string().size());
      return make_string(left.as_string() + right.as_string());
    }
    if (left.is_list() && right.is_list() && left.as_list().is_tuple == right.as_list().is_tuple) {
      std::vector<Value> items = left.as_list().items;
      items.insert(items.end(), right.as_list().items.begin(), right.as_list().items.end());
      return make_list(std::move(items), left.as_list().is_tuple);
    }
    operand_error(op, left, right);
  }
  if (op == "-") {
    if (ints) {
      int64_t r = 0;
      bool overflow = __builtin_sub_overflow(left.as_int(), right.as_int(), &r);
      return Value(checked(overflow, r));
    }
    if (numbers) return Value(left.as_float() - right.as_float());
    operand_error(op, left, right);
  }
  if (op == "*") {
    if (ints) {
      int64_t r = 0;
      bool overflow = __builtin_mul_overflow(left.as_int(), right.as_int(), &r);
      return Value(checked(overflow, r));
    }
    if (numbers) return Value(left.as_float() * right.as_float());
    const Value* sequence = (left.is_string() || left.is_list()) ? &left : &right;
    const Value* count = sequence == &left ? &right : &left;
    if ((sequence->is_string() || sequence->is_list()) && (count->is_int() || count->is_bool())) {
      int64_t n = std::max<int64_t>(count->as_int(), 0);
      if (sequence->is_string()) {
        const std::string& text = sequence->as_string();
        if (!text.empty() &&
            static_cast<uint64_t>(n) > options_.limits.max_output_bytes / text.size())
          check_string_size(options_.limits.max_output_bytes + 1);
        std::string out;
        out.reserve(text.size() * static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) out += text;
        return make_string(std::move(out));
      }
      const auto& items = sequence->as_list().items;
      if (!items.empty() &&
          static_cast<uint64_t>(n) > options_.limits.max_elements_built / items.size())
        charge_elements(options_.limits.max_elements_built + 1);
      std::vector<Value> out;
      for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
      return make_list(std::move(out), sequence->as_list().is_tuple);
    }
    operand_error(op, left, right);
  }
  if (op == "/") {
    if (!numbers) operand_error(op, left, right);
    if (right.as_float() == 0.0) throw Error("division by zero");
    return Value(left.as_float() / right.as_float());
  }
  if (op == "//") {
    if (ints) return Value(floor_div(left.as_int(), right.as_int()));
    if (!numbers) operand_error(op, left, right);
    if (right.as_float() == 0.0) throw Error("float floor division by zero");
    return Value(std::floor(left.as_float() / right.as_float()));
  }
  if (op == "%") {
    if (left.is_string()) return make_string(percent_format(left.as_string(), right));
    if (ints) return Value(floor_mod(left.as_int(), right.as_int()));
    if (!numbers) operand_error(op, left, right);
    double b = right.as_float();
    if (b == 0.0) throw Error("float modulo by zero");
    double r = std::fmod(left.as_float(), b);
    if (r != 0.0 && ((r < 0) != (b < 0))) r += b;
    return Value(r);
  }
  if (op == "**") {
    if (ints && right.as_int() >= 0) {
      int64_t base = left.as_int(), exponent = right.as_int(), result = 1;
      while (exponent > 0) {
        if (exponent & 1) checked(__builtin_mul_overflow(result, base, &result), 0);
        exponent >>= 1;
        if (exponent > 0) checked(__builtin_mul_overflow(base, base, &base), 0);
      }
      return Value(result);
    }
    if (!numbers) operand_error(op, left, right);
    return Value(std::pow(left.as_float(), right.as_float()));
  }
  throw Error("unknown operator '" + op + "'");
}

CallArgs Interpreter::eval_args(const Expr& expr, const FramePtr& frame, size_t first_child) {
  CallArgs args;
  for (size_t i = first_child; i < expr.children.size(); ++i)
    args.positional.push_back(eval(*expr.children[i], frame));
  for (const auto& [name, value] : expr.keywords)
    args.keyword.emplace_back(name, eval(*value, frame));
  if (expr.star_args)
    for (Value& v : iterate(eval(*expr.star_args, frame))) args.positional.push_back(std::move(v));
  if (expr.star_kwargs) {
    Value kwargs = eval(*expr.star_kwargs, frame);
    if (!kwargs.is_dict()) throw Error("argument after ** must be a mapping");
    for (const auto& [key, value] : kwargs.as_dict().entries)
      args.keyword.emplace_back(key.to_string(), value);
  }
  return args;
}

Value Interpreter::eval(const Expr& expr, const FramePtr& frame) {
  switch (expr.kind) {
    case Expr::Kind::Literal:
      return expr.value;
    case Expr::Kind::Name: {
      const Value* found = frame->lookup(expr.name);
      return found ? *found : Value::undefined(expr.name);
    }
    case Expr::Kind::List:
    case Expr::Kind::Tuple: {
      std::vector<Value> items;
      items.reserve(expr.children.size());
      for (const auto& child : expr.children) items.push_back(eval(*child, frame));
      return make_list(std::move(items), expr.kind == Expr::Kind::Tuple);
    }
    case Expr::Kind::Dict: {
      DictData dict;
      for (size_t i = 0; i + 1 < expr.children.size(); i += 2) {
        Value key = eval(*expr.children[i], frame);
        if (key.is_list() || key.is_dict() || key.is_undefined())
          throw Error("unhashable dict key of type '" + key.type_name() + "'");
        dict.set(key, eval(*expr.children[i + 1], frame));
      }
      charge_elements(dict.entries.size());
      return Value::dict(std::move(dict));
    }
    case Expr::Kind::Attribute:
      return get_attribute(eval(*expr.children[0], frame), expr.name);
    case Expr::Kind::Item:
      return get_item(eval(*expr.children[0], frame), eval(*expr.children[1], frame));
    case Expr::Kind::Slice: {
      auto part = [&](size_t i) {
        return expr.children[i] ? eval(*expr.children[i], frame) : Value::none();
      };
      return eval_slice(eval(*expr.children[0], frame), part(1), part(2), part(3));
    }
    case Expr::Kind::Call: {
      Value callee = eval(*expr.children[0], frame);
      CallArgs args = eval_args(expr, frame, 1);
      return call(callee, args);
    }
    case Expr::Kind::Filter: {
      Value input = eval(*expr.children[0], frame);
      CallArgs args = eval_args(expr, frame, 1);
      return apply_filter(expr.name, input, args);
    }
    case Expr::Kind::Test: {
      Value input = eval(*expr.children[0], frame);
      CallArgs args = eval_args(expr, frame, 1);
      return Value(apply_test(expr.name, input, args) != expr.negated);
    }
    case Expr::Kind::Not:
      return Value(!eval(*expr.children[0], frame).truthy());
    case Expr::Kind::Negate: {
      Value v = eval(*expr.children[0], frame);
      if (v.is_int() || v.is_bool()) {
        if (v.as_int() == std::numeric_limits<int64_t>::min()) throw Error("integer overflow");
        return Value(-v.as_int());
      }
      if (v.is_float()) return Value(-v.as_float());
      throw Error("bad operand type for unary -: '" + v.type_name() + "'");
    }
    case Expr::Kind::Plus: {
      Value v = eval(*expr.children[0], frame);
      if (v.is_bool()) return Value(v.as_int());
      if (v.is_int() || v.is_float()) return v;
      throw Error("bad operand type for unary +: '" + v.type_name() + "'");
    }
    case Expr::Kind::Binary:
      return eval_binary(expr.name, eval(*expr.children[0], frame), eval(*expr.children[1], frame));
    case Expr::Kind::And: {
      Value left = eval(*expr.children[0], frame);
      return left.truthy() ? eval(*expr.children[1], frame) : left;
    }
    case Expr::Kind::Or: {
      Value left = eval(*expr.children[0], frame);
      return left.truthy() ? left : eval(*expr.children[1], frame);
    }
    case Expr::Kind::Compare: {
      Value left = eval(*expr.children[0], frame);
      for (size_t i = 0; i < expr.ops.size(); ++i) {
        Value right = eval(*expr.children[i + 1], frame);
        if (!eval_compare(expr.ops[i], left, right)) return Value(false);
        left = std::move(right);
      }
      return Value(true);
    }
    case Expr::Kind::Conditional:
      if (eval(*expr.children[1], frame).truthy()) return eval(*expr.children[0], frame);
      return expr.children[2] ? eval(*expr.children[2], frame) : Value::undefined();
  }
  return Value::undefined();
}

}  // namespace lamina::tokenizer::jinja
