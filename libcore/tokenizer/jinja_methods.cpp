// Jinja tests (`x is name`), the str/dict/list methods templates call, the global
// functions, and namespace() — the built-ins that are not filters.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <unordered_map>

#include "libcore/error.h"
#include "libcore/tokenizer/jinja_builtins.h"
#include "libcore/tokenizer/jinja_strings.h"

namespace lamina::tokenizer::jinja {
namespace {

// ---- tests ----

const Value& test_operand(const CallArgs& args, const char* test) {
  if (args.positional.empty()) throw Error(std::string("test '") + test + "' needs an argument");
  return args.positional[0];
}

bool t_defined(Interpreter&, const Value& v, CallArgs&) { return !v.is_undefined(); }
bool t_undefined(Interpreter&, const Value& v, CallArgs&) { return v.is_undefined(); }
bool t_none(Interpreter&, const Value& v, CallArgs&) { return v.is_none(); }
bool t_boolean(Interpreter&, const Value& v, CallArgs&) { return v.is_bool(); }
bool t_true(Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && v.as_bool(); }
bool t_false(Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && !v.as_bool(); }
bool t_integer(Interpreter&, const Value& v, CallArgs&) { return v.is_int(); }
bool t_float(Interpreter&, const Value& v, CallArgs&) { return v.is_float(); }
bool t_number(Interpreter&, const Value& v, CallArgs&) { return v.is_number(); }
bool t_string(Interpreter&, const Value& v, CallArgs&) { return v.is_string(); }
bool t_mapping(Interpreter&, const Value& v, CallArgs&) { return v.is_dict(); }
bool t_iterable(Interpreter&, const Value& v, CallArgs&) {
  return v.is_list() || v.is_dict() || v.is_string() || v.is_undefined();
}
bool t_sequence(Interpreter&, const Value& v, CallArgs&) {
  return v.is_list() || v.is_dict() || v.is_string();
}
bool t_callable(Interpreter&, const Value& v, CallArgs&) { return v.is_callable(); }
bool t_escaped(Interpreter&, const Value&, CallArgs&) { return false; }
int64_t integer_operand(const Value& v, const char* test) {
  if (!v.is_int() && !v.is_bool())
    throw Error(std::string("test '") + test + "' needs an integer, got " + v.type_name());
  return v.as_int();
}
bool t_odd(Interpreter&, const Value& v, CallArgs&) { return integer_operand(v, "odd") % 2 != 0; }
bool t_even(Interpreter&, const Value& v, CallArgs&) { return integer_operand(v, "even") % 2 == 0; }
bool t_divisibleby(Interpreter&, const Value& v, CallArgs& args) {
  int64_t n = integer_operand(test_operand(args, "divisibleby"), "divisibleby");
  if (n == 0) throw Error("divisibleby: division by zero");
  return integer_operand(v, "divisibleby") % n == 0;
}
bool t_eq(Interpreter&, const Value& v, CallArgs& a) { return equals(v, test_operand(a, "eq")); }
bool t_ne(Interpreter&, const Value& v, CallArgs& a) { return !equals(v, test_operand(a, "ne")); }
bool t_lt(Interpreter&, const Value& v, CallArgs& a) {
  return compare(v, test_operand(a, "lt")) < 0;
}
bool t_le(Interpreter&, const Value& v, CallArgs& a) {
  return compare(v, test_operand(a, "le")) <= 0;
}
bool t_gt(Interpreter&, const Value& v, CallArgs& a) {
  return compare(v, test_operand(a, "gt")) > 0;
}
bool t_ge(Interpreter&, const Value& v, CallArgs& a) {
  return compare(v, test_operand(a, "ge")) >= 0;
}
bool t_in(Interpreter&, const Value& v, CallArgs& a) { return contains(test_operand(a, "in"), v); }
bool t_sameas(Interpreter&, const Value& v, CallArgs& a) {
  return same_object(v, test_operand(a, "sameas"));
}
bool t_lower(Interpreter&, const Value& v, CallArgs&) {
  return v.is_string() && py_lower(v.as_string()) == v.as_string() &&
         py_upper(v.as_string()) != v.as_string();
}
bool t_upper(Interpreter&, const Value& v, CallArgs&) {
  return v.is_string() && py_upper(v.as_string()) == v.as_string() &&
         py_lower(v.as_string()) != v.as_string();
}
bool t_filter(Interpreter&, const Value& v, CallArgs&) {
  return v.is_string() && find_filter(v.as_string());
}
bool t_test(Interpreter&, const Value& v, CallArgs&) {
  return v.is_string() && find_test(v.as_string());
}

const std::unordered_map<std::string_view, TestFunction>& tests() {
  static const std::unordered_map<std::string_view, TestFunction> table = {
      {"defined", t_defined},
      {"undefined", t_undefined},
      {"none", t_none},
      {"boolean", t_boolean},
      {"true", t_true},
      {"false", t_false},
      {"integer", t_integer},
      {"float", t_float},
      {"number", t_number},
      {"string", t_string},
      {"mapping", t_mapping},
      {"iterable", t_iterable},
      {"sequence", t_sequence},
      {"callable", t_callable},
      {"escaped", t_escaped},
      {"odd", t_odd},
      {"even", t_even},
      {"divisibleby", t_divisibleby},
      {"eq", t_eq},
      {"equalto", t_eq},
      {"==", t_eq},
      {"ne", t_ne},
      {"!=", t_ne},
      {"lt", t_lt},
      {"lessthan", t_lt},
      {"<", t_lt},
      {"le", t_le},
      {"<=", t_le},
      {"gt", t_gt},
      {"greaterthan", t_gt},
      {">", t_gt},
      {"ge", t_ge},
      {">=", t_ge},
      {"in", t_in},
      {"sameas", t_sameas},
      {"lower", t_lower},
      {"upper", t_upper},
      {"filter", t_filter},
      {"test", t_test},
  };
  return table;
}

// ---- methods ----

std::string self_string(const Value& self) { return self.as_string(); }

// Python str.format: {} {0} {name} fields, !r/!s conversions, {{ }} escapes, and the
// format specs templates use ("", ".Nf", "d").
std::string py_format(Interpreter& in, const std::string& format, CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    char c = format[i];
    if (c == '}') {
      if (i + 1 < format.size() && format[i + 1] == '}') ++i;
      out.push_back('}');
      continue;
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < format.size() && format[i + 1] == '{') {
      out.push_back('{');
      ++i;
      continue;
    }
    size_t close = format.find('}', i);
    if (close == std::string::npos) throw Error("format: single '{' encountered in format string");
    std::string field = format.substr(i + 1, close - i - 1);
    i = close;
    std::string spec, conversion;
    if (size_t colon = field.find(':'); colon != std::string::npos)
      spec = field.substr(colon + 1), field.resize(colon);
    if (size_t bang = field.find('!'); bang != std::string::npos)
      conversion = field.substr(bang + 1), field.resize(bang);
    Value value;
    if (field.empty()) {
      if (auto_index >= args.positional.size())
        throw Error("format: not enough positional arguments");
      value = args.positional[auto_index++];
    } else if (std::all_of(field.begin(), field.end(),
                           [](char d) { return d >= '0' && d <= '9'; })) {
      size_t index = std::stoul(field);
      if (index >= args.positional.size())
        throw Error("format: positional argument " + field + " missing");
      value = args.positional[index];
    } else {
      const Value* found = args.get(field, SIZE_MAX);
      if (!found) throw Error("format: missing keyword argument '" + field + "'");
      value = *found;
    }
    std::string text = conversion == "r" ? value.repr() : value.to_string();
    if (!spec.empty()) {
      if (spec.size() >= 3 && spec[0] == '.' && spec.back() == 'f' && value.is_number()) {
        char buffer[512];
        int precision = std::min(std::atoi(spec.c_str() + 1), 100);
        std::snprintf(buffer, sizeof buffer, "%.*f", precision, value.as_float());
        text = buffer;
      } else if (spec != "d" && spec != "s") {
        throw Error("format: unsupported format spec '" + spec + "'");
      }
    }
    in.check_string_size(out.size() + text.size());
    out += text;
  }
  return out;
}

Value string_method(Interpreter& in, const std::string& name, const std::string& self,
                    CallArgs& args) {
  if (name == "startswith" || name == "endswith") {
    const Value* arg = argument(args, "prefix", 0);
    if (!arg) throw Error(name + "() takes at least 1 argument");
    std::vector<Value> candidates =
        arg->is_list() ? arg->as_list().items : std::vector<Value>{*arg};
    for (const Value& candidate : candidates) {
      if (!candidate.is_string()) throw Error(name + "() argument must be str or a tuple of str");
      const std::string& s = candidate.as_string();
      bool hit = name == "startswith" ? self.compare(0, s.size(), s) == 0 && self.size() >= s.size()
                                      : self.size() >= s.size() &&
                                            self.compare(self.size() - s.size(), s.size(), s) == 0;
      if (hit) return Value(true);
    }
    return Value(false);
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip")
    return in.make_string(
        py_strip(self, string_argument(args, "chars", 0), name != "rstrip", name != "lstrip"));
  if (name == "split" || name == "rsplit") {
    auto sep = string_argument(args, "sep", 0);
    int64_t maxsplit = int_argument(args, "maxsplit", 1, -1);
    std::vector<std::string> parts =
        name == "split" ? py_split(self, sep, maxsplit) : py_rsplit(self, sep, maxsplit);
    std::vector<Value> out;
    for (auto& part : parts) out.emplace_back(std::move(part));
    return in.make_list(std::move(out));
  }
  if (name == "splitlines") {
    std::vector<Value> out;
    for (auto& line : py_split(self, std::string("\n"), -1)) out.emplace_back(std::move(line));
    if (!out.empty() && out.back().as_string().empty()) out.pop_back();
    return in.make_list(std::move(out));
  }
  if (name == "upper") return in.make_string(py_upper(self));
  if (name == "lower") return in.make_string(py_lower(self));
  if (name == "title") return in.make_string(py_title(self));
  if (name == "capitalize") return in.make_string(py_capitalize(self));
  if (name == "replace") {
    auto old_text = string_argument(args, "old", 0);
    auto new_text = string_argument(args, "new", 1);
    if (!old_text || !new_text) throw Error("replace() takes at least 2 arguments");
    return in.make_string(py_replace(self, *old_text, *new_text, int_argument(args, "count", 2, -1),
                                     in.options().limits.max_output_bytes));
  }
  if (name == "format") return in.make_string(py_format(in, self, args));
  if (name == "find" || name == "index" || name == "rfind" || name == "count") {
    auto needle = string_argument(args, "sub", 0);
    if (!needle) throw Error(name + "() takes at least 1 argument");
    if (name == "count") {
      if (needle->empty()) return Value(static_cast<int64_t>(utf8_length(self) + 1));
      int64_t n = 0;
      for (size_t at = self.find(*needle); at != std::string::npos;
           at = self.find(*needle, at + needle->size()))
        ++n;
      return Value(n);
    }
    if (name == "rfind") {
      size_t at = self.rfind(*needle);
      return Value(at == std::string::npos ? int64_t{-1}
                                           : static_cast<int64_t>(utf8_length(self.substr(0, at))));
    }
    int64_t at = py_find(self, *needle);
    if (at < 0 && name == "index") throw Error("index(): substring not found");
    return Value(at);
  }
  if (name == "join") {
    const Value* items = argument(args, "iterable", 0);
    if (!items) throw Error("join() takes exactly one argument");
    std::string out;
    bool first = true;
    for (const Value& item : in.iterate(*items)) {
      if (!item.is_string()) throw Error("join(): expected str items, got " + item.type_name());
      in.check_string_size(out.size() + self.size() + item.as_string().size());
      if (!first) out += self;
      first = false;
      out += item.as_string();
    }
    return in.make_string(std::move(out));
  }
  auto all_of = [&](auto predicate) {
    std::vector<char32_t> cps = utf8_decode(self);
    return Value(!cps.empty() && std::all_of(cps.begin(), cps.end(), predicate));
  };
  if (name == "isdigit") return all_of([](char32_t c) { return c >= '0' && c <= '9'; });
  if (name == "isspace") return all_of([](char32_t c) { return is_python_space(c); });
  if (name == "isalpha")
    return all_of(
        [](char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80; });
  if (name == "isalnum")
    return all_of([](char32_t c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c >= 0x80;
    });
  if (name == "islower") return Value(py_lower(self) == self && py_upper(self) != self);
  if (name == "isupper") return Value(py_upper(self) == self && py_lower(self) != self);
  throw Error("'str' object has no method '" + name + "'");
}

bool is_string_method(const std::string& name) {
  static const char* const kNames[] = {
      "startswith", "endswith", "strip",   "lstrip", "rstrip",     "split",   "rsplit",
      "splitlines", "upper",    "lower",   "title",  "capitalize", "replace", "format",
      "find",       "rfind",    "index",   "count",  "join",       "isdigit", "isspace",
      "isalpha",    "isalnum",  "islower", "isupper"};
  return std::any_of(std::begin(kNames), std::end(kNames),
                     [&](const char* n) { return name == n; });
}

Value dict_method(Interpreter& in, const std::string& name, const Value& self, CallArgs& args) {
  const DictData& dict = self.as_dict();
  if (name == "items" || name == "keys" || name == "values") {
    std::vector<Value> out;
    for (const auto& [key, value] : dict.entries) {
      if (name == "items")
        out.push_back(in.make_list({key, value}, true));
      else
        out.push_back(name == "keys" ? key : value);
    }
    return in.make_list(std::move(out));
  }
  if (name == "get") {
    const Value* key = argument(args, "key", 0);
    if (!key) throw Error("get() takes at least 1 argument");
    const Value* found = dict.find(*key);
    if (found) return *found;
    const Value* fallback = argument(args, "default", 1);
    return fallback ? *fallback : Value::none();
  }
  if (name == "copy") return self;
  throw Error("'dict' object has no method '" + name + "'");
}

Value list_method(Interpreter&, const std::string& name, const Value& self, CallArgs& args) {
  const auto& items = self.as_list().items;
  const Value* x = argument(args, "value", 0);
  if (!x) throw Error(name + "() takes exactly one argument");
  if (name == "count")
    return Value(static_cast<int64_t>(
        std::count_if(items.begin(), items.end(), [&](const Value& v) { return equals(v, *x); })));
  for (size_t i = 0; i < items.size(); ++i)
    if (equals(items[i], *x)) return Value(static_cast<int64_t>(i));
  throw Error("list.index(x): x not in list");
}

// Methods that modify a list or dict: transformers renders in jinja2's immutable sandbox,
// where calling them fails; so does lamina.
bool is_mutator(const Value& self, const std::string& name) {
  static const char* const kList[] = {"append", "extend", "insert",  "pop",
                                      "remove", "sort",   "reverse", "clear"};
  static const char* const kDict[] = {"pop", "popitem", "setdefault", "update", "clear"};
  auto in = [&](const auto& names) {
    return std::any_of(std::begin(names), std::end(names),
                       [&](const char* n) { return name == n; });
  };
  return self.is_list() ? in(kList) : in(kDict);
}

// ---- globals ----

Value g_range(Interpreter& in, CallArgs& args) {
  std::vector<int64_t> numbers;
  for (const Value& v : args.positional) {
    if (!v.is_int() && !v.is_bool())
      throw Error("range() arguments must be integers, not " + v.type_name());
    numbers.push_back(v.as_int());
  }
  if (numbers.empty() || numbers.size() > 3) throw Error("range() takes 1 to 3 arguments");
  int64_t start = numbers.size() == 1 ? 0 : numbers[0];
  int64_t stop = numbers.size() == 1 ? numbers[0] : numbers[1];
  int64_t step = numbers.size() == 3 ? numbers[2] : 1;
  if (step == 0) throw Error("range() step must not be zero");
  __int128 count = step > 0 ? (static_cast<__int128>(stop) - start + step - 1) / step
                            : (static_cast<__int128>(start) - stop - step - 1) / -step;
  if (count < 0) count = 0;
  if (count > in.options().limits.max_range)
    throw Error("range() too big: " +
                std::to_string(static_cast<int64_t>(std::min<__int128>(count, INT64_MAX))) +
                " items (at most " + std::to_string(in.options().limits.max_range) + ")");
  std::vector<Value> items;
  items.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) items.emplace_back(start + i * step);
  return in.make_list(std::move(items));
}

Value g_namespace(Interpreter& in, CallArgs& args) {
  auto ns = std::make_shared<NamespaceObject>();
  for (const Value& initial : args.positional) {
    if (!initial.is_dict()) throw Error("namespace() positional arguments must be dicts");
    for (const auto& [key, value] : initial.as_dict().entries) ns->set_attr(key.to_string(), value);
  }
  for (const auto& [key, value] : args.keyword) ns->set_attr(key, value);
  in.charge_elements(ns->attributes.entries.size() + 1);
  return Value::object(ns);
}

Value g_dict(Interpreter& in, CallArgs& args) {
  DictData dict;
  for (const Value& initial : args.positional) {
    if (!initial.is_dict()) throw Error("dict() positional arguments must be dicts");
    for (const auto& [key, value] : initial.as_dict().entries) dict.set(key, value);
  }
  for (const auto& [key, value] : args.keyword) dict.set(Value(key), value);
  in.charge_elements(dict.entries.size());
  return Value::dict(std::move(dict));
}

Value g_raise_exception(Interpreter&, CallArgs& args) {
  const Value* message = argument(args, "message", 0);
  throw Error(message ? message->to_string() : std::string("raise_exception() called"));
}

Value g_strftime_now(Interpreter& in, CallArgs& args) {
  auto format = string_argument(args, "format", 0);
  if (!format) throw Error("strftime_now() takes a format string");
  auto now = in.options().clock ? in.options().clock() : std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm local{};
  localtime_r(&seconds, &local);
  if (format->empty()) return Value("");
  for (size_t size = 256; size <= (1u << 20); size *= 4) {
    std::string buffer(size, '\0');
    size_t n = std::strftime(buffer.data(), buffer.size(), format->c_str(), &local);
    if (n > 0) {
      buffer.resize(n);
      return in.make_string(std::move(buffer));
    }
  }
  return Value("");  // strftime gives 0 both for "too long" and for an empty result
}

Value g_joiner(Interpreter&, CallArgs& args) {
  std::string separator = string_argument(args, "sep", 0).value_or(", ");
  auto used = std::make_shared<bool>(false);
  return Value::callable("joiner", [separator, used](Interpreter&, CallArgs&) -> Value {
    if (!*used) {
      *used = true;
      return Value("");
    }
    return Value(separator);
  });
}

}  // namespace

Value NamespaceObject::get_attr(std::string_view name) const {
  const Value* found = attributes.find(name);
  return found ? *found : Value::undefined(std::string(name));
}

bool NamespaceObject::set_attr(const std::string& name, Value value) {
  // Data only: a namespace holding macros or namespaces could form reference cycles
  // and unbounded chains, which no chat template needs.
  if (value.holds_objects())
    throw Error("namespace attribute '" + name +
                "' can only hold data (not macros, namespaces or loop objects)");
  attributes.set(Value(name), std::move(value));
  return true;
}

std::string NamespaceObject::repr(int depth) const {
  return "<Namespace " + Value::dict(attributes).repr(depth) + ">";
}

TestFunction find_test(std::string_view name) {
  auto it = tests().find(name);
  return it == tests().end() ? nullptr : it->second;
}

Value find_method(const Value& object, const std::string& name) {
  if (object.is_string()) {
    if (!is_string_method(name)) return Value::undefined(name);
    Value self = object;
    return Value::callable("str." + name, [self, name](Interpreter& in, CallArgs& args) {
      return string_method(in, name, self_string(self), args);
    });
  }
  if (!object.is_dict() && !object.is_list()) return Value::undefined(name);
  if (is_mutator(object, name)) {
    std::string type = object.type_name();
    return Value::callable(type + "." + name, [type, name](Interpreter&, CallArgs&) -> Value {
      throw Error("access to attribute '" + name + "' of '" + type +
                  "' object is unsafe (chat templates cannot modify lists or dicts)");
    });
  }
  Value self = object;
  if (object.is_dict()) {
    if (name != "items" && name != "keys" && name != "values" && name != "get" && name != "copy")
      return Value::undefined(name);
    return Value::callable("dict." + name, [self, name](Interpreter& in, CallArgs& args) {
      return dict_method(in, name, self, args);
    });
  }
  if (name != "index" && name != "count") return Value::undefined(name);
  return Value::callable("list." + name, [self, name](Interpreter& in, CallArgs& args) {
    return list_method(in, name, self, args);
  });
}

void install_globals(Frame& frame) {
  frame.variables["range"] = Value::callable("range", g_range);
  frame.variables["namespace"] = Value::callable("namespace", g_namespace);
  frame.variables["dict"] = Value::callable("dict", g_dict);
  frame.variables["raise_exception"] = Value::callable("raise_exception", g_raise_exception);
  frame.variables["strftime_now"] = Value::callable("strftime_now", g_strftime_now);
  frame.variables["joiner"] = Value::callable("joiner", g_joiner);
}

}  // namespace lamina::tokenizer::jinja
