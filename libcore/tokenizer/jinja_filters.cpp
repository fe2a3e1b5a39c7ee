// The Jinja filters chat templates use (`value | name(args)`), with the semantics of
// jinja2 3.1 and the tojson override transformers installs (json.dumps, ensure_ascii=False).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "libcore/error.h"
#include "libcore/tokenizer/jinja_builtins.h"
#include "libcore/tokenizer/jinja_strings.h"

namespace lamina::tokenizer::jinja {
namespace {

int64_t length_of(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::String:
      return static_cast<int64_t>(utf8_length(v.as_string()));
    case Value::Kind::List:
      return static_cast<int64_t>(v.as_list().items.size());
    case Value::Kind::Dict:
      return static_cast<int64_t>(v.as_dict().entries.size());
    case Value::Kind::Undefined:
      return 0;
    default:
      throw Error("object of type '" + v.type_name() + "' has no len()");
  }
}

// Looks up a dotted attribute path ("function.name") as Jinja's attribute filters do.
Value attribute_path(Interpreter& in, const Value& item, const std::string& path) {
  Value current = item;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    current = numeric ? in.get_item(current, Value(static_cast<int64_t>(std::stoll(part))))
                      : in.get_attribute(current, part);
    if (dot == std::string::npos) return current;
    start = dot + 1;
  }
}

std::string required_string(const CallArgs& args, std::string_view name, size_t index,
                            const char* filter) {
  auto value = string_argument(args, name, index);
  if (!value) throw Error(std::string(filter) + ": missing argument '" + std::string(name) + "'");
  return *value;
}

Value f_abs(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_int() || v.is_bool()) {
    if (v.as_int() == INT64_MIN) throw Error("integer overflow");
    return Value(std::abs(v.as_int()));
  }
  if (v.is_float()) return Value(std::fabs(v.as_float()));
  throw Error("abs: bad operand type '" + v.type_name() + "'");
}

Value f_attr(Interpreter& in, const Value& v, CallArgs& args) {
  return in.get_attribute(v, required_string(args, "name", 0, "attr"));
}

Value f_batch(Interpreter& in, const Value& v, CallArgs& args) {
  int64_t size = int_argument(args, "linecount", 0, 1);
  if (size <= 0) throw Error("batch: size must be positive");
  const Value* fill = argument(args, "fill_with", 1);
  std::vector<Value> batches, current;
  for (const Value& item : in.iterate(v)) {
    current.push_back(item);
    if (static_cast<int64_t>(current.size()) == size)
      batches.push_back(in.make_list(std::move(current))), current.clear();
  }
  if (!current.empty()) {
    if (fill && !fill->is_none())
      while (static_cast<int64_t>(current.size()) < size) current.push_back(*fill);
    batches.push_back(in.make_list(std::move(current)));
  }
  return in.make_list(std::move(batches));
}

Value f_capitalize(Interpreter& in, const Value& v, CallArgs&) {
  return in.make_string(py_capitalize(v.to_string()));
}
Value f_lower(Interpreter& in, const Value& v, CallArgs&) {
  return in.make_string(py_lower(v.to_string()));
}
Value f_upper(Interpreter& in, const Value& v, CallArgs&) {
  return in.make_string(py_upper(v.to_string()));
}
Value f_title(Interpreter& in, const Value& v, CallArgs&) {
  return in.make_string(jinja_title(v.to_string()));
}
Value f_string(Interpreter& in, const Value& v, CallArgs&) {
  return v.is_string() ? v : in.make_string(v.to_string());
}
Value f_safe(Interpreter&, const Value& v, CallArgs&) { return v; }
Value f_length(Interpreter&, const Value& v, CallArgs&) { return Value(length_of(v)); }

Value f_trim(Interpreter& in, const Value& v, CallArgs& args) {
  return in.make_string(py_strip(v.to_string(), string_argument(args, "chars", 0), true, true));
}

Value f_center(Interpreter& in, const Value& v, CallArgs& args) {
  std::string text = v.to_string();
  int64_t width = int_argument(args, "width", 0, 80);
  auto length = static_cast<int64_t>(utf8_length(text));
  if (width <= length) return in.make_string(text);
  in.check_string_size(static_cast<size_t>(width));
  int64_t total = width - length, left = total / 2 + (total & width & 1);
  return in.make_string(std::string(static_cast<size_t>(left), ' ') + text +
                        std::string(static_cast<size_t>(total - left), ' '));
}

Value f_default(Interpreter&, const Value& v, CallArgs& args) {
  const Value* fallback = argument(args, "default_value", 0);
  bool boolean = bool_argument(args, "boolean", 1, false);
  if (v.is_undefined() || (boolean && !v.truthy())) return fallback ? *fallback : Value("");
  return v;
}

Value f_dictsort(Interpreter& in, const Value& v, CallArgs& args) {
  if (!v.is_dict()) throw Error("dictsort: expected a dict, got " + v.type_name());
  bool case_sensitive = bool_argument(args, "case_sensitive", 0, false);
  auto by = string_argument(args, "by", 1).value_or("key");
  bool reverse = bool_argument(args, "reverse", 2, false);
  std::vector<Value> pairs;
  for (const auto& [key, value] : v.as_dict().entries)
    pairs.push_back(in.make_list({key, value}, true));
  size_t index = by == "value" ? 1 : 0;
  auto sort_key = [&](const Value& pair) {
    const Value& k = pair.as_list().items[index];
    return (!case_sensitive && k.is_string()) ? Value(py_lower(k.as_string())) : k;
  };
  std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& a, const Value& b) {
    int c = compare(sort_key(a), sort_key(b));
    return reverse ? c > 0 : c < 0;
  });
  return in.make_list(std::move(pairs));
}

Value f_escape(Interpreter& in, const Value& v, CallArgs&) {
  std::string out;
  for (char c : v.to_string()) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return in.make_string(std::move(out));
}

Value f_first(Interpreter& in, const Value& v, CallArgs&) {
  if (v.is_list())
    return v.as_list().items.empty() ? Value::undefined("first") : v.as_list().items.front();
  std::vector<Value> items = in.iterate(v);
  return items.empty() ? Value::undefined("first") : items.front();
}

Value f_last(Interpreter& in, const Value& v, CallArgs&) {
  if (v.is_list())
    return v.as_list().items.empty() ? Value::undefined("last") : v.as_list().items.back();
  std::vector<Value> items = in.iterate(v);
  return items.empty() ? Value::undefined("last") : items.back();
}

// Python float(str): surrounding whitespace allowed, the whole rest must parse.
bool parse_float(const std::string& text, double& out) {
  std::string trimmed = py_strip(text, std::nullopt, true, true);
  if (trimmed.empty()) return false;
  char* end = nullptr;
  out = std::strtod(trimmed.c_str(), &end);
  return end == trimmed.c_str() + trimmed.size();
}

Value f_float(Interpreter&, const Value& v, CallArgs& args) {
  const Value* fallback = argument(args, "default", 0);
  Value fail = fallback ? *fallback : Value(0.0);
  if (v.is_number()) return Value(v.as_float());
  double parsed = 0.0;
  if (v.is_string() && parse_float(v.as_string(), parsed)) return Value(parsed);
  return fail;
}

Value f_int(Interpreter&, const Value& v, CallArgs& args) {
  const Value* fallback = argument(args, "default", 0);
  Value fail = fallback ? *fallback : Value(int64_t{0});
  int64_t base = int_argument(args, "base", 1, 10);
  if (v.is_int() || v.is_bool()) return Value(v.as_int());
  if (v.is_float()) {
    double f = v.as_float();
    if (!std::isfinite(f) || std::fabs(f) > 9.2e18) return fail;
    return Value(static_cast<int64_t>(f));
  }
  if (!v.is_string()) return fail;
  std::string text;
  for (char c : py_strip(v.as_string(), std::nullopt, true, true))
    if (c != '_') text.push_back(c);
  if (!text.empty() && base >= 2 && base <= 36) {
    errno = 0;
    char* end = nullptr;
    long long parsed = std::strtoll(text.c_str(), &end, static_cast<int>(base));
    if (errno == 0 && end == text.c_str() + text.size()) return Value(static_cast<int64_t>(parsed));
  }
  double parsed = 0.0;
  if (parse_float(v.as_string(), parsed) && std::isfinite(parsed) && std::fabs(parsed) < 9.2e18)
    return Value(static_cast<int64_t>(parsed));
  return fail;
}

Value f_format(Interpreter& in, const Value& v, CallArgs& args) {
  Value values =
      args.positional.size() == 1 ? args.positional[0] : Value::list(args.positional, true);
  return in.make_string(percent_format(v.to_string(), values));
}

// Python str.splitlines() for the line breaks text actually contains.
std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::string current;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      lines.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) lines.push_back(std::move(current));
  return lines;
}

Value f_indent(Interpreter& in, const Value& v, CallArgs& args) {
  const Value* width = argument(args, "width", 0);
  std::string indentation =
      !width ? std::string(4, ' ')
      : width->is_string()
          ? width->as_string()
          : std::string(static_cast<size_t>(std::clamp<int64_t>(width->as_int(), 0, 4096)), ' ');
  bool first = bool_argument(args, "first", 1, false);
  bool blank = bool_argument(args, "blank", 2, false);
  std::vector<std::string> lines = split_lines(v.to_string() + "\n");
  in.check_string_size(v.to_string().size() + lines.size() * (indentation.size() + 1));
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) {
      out += "\n";
      if (blank || !lines[i].empty()) out += indentation;
    }
    out += lines[i];
  }
  if (first) out = indentation + out;
  return in.make_string(std::move(out));
}

Value f_items(Interpreter& in, const Value& v, CallArgs&) {
  if (v.is_undefined()) return in.make_list({});
  if (!v.is_dict()) throw Error("items: expected a dict, got " + v.type_name());
  std::vector<Value> pairs;
  for (const auto& [key, value] : v.as_dict().entries)
    pairs.push_back(in.make_list({key, value}, true));
  return in.make_list(std::move(pairs));
}

Value f_join(Interpreter& in, const Value& v, CallArgs& args) {
  std::string separator = string_argument(args, "d", 0).value_or("");
  auto attribute = string_argument(args, "attribute", 1);
  std::string out;
  bool first = true;
  for (const Value& item : in.iterate(v)) {
    std::string piece =
        attribute ? attribute_path(in, item, *attribute).to_string() : item.to_string();
    in.check_string_size(out.size() + separator.size() + piece.size());
    if (!first) out += separator;
    first = false;
    out += piece;
  }
  return in.make_string(std::move(out));
}

Value f_list(Interpreter& in, const Value& v, CallArgs&) { return in.make_list(in.iterate(v)); }

Value f_map(Interpreter& in, const Value& v, CallArgs& args) {
  std::vector<Value> out;
  auto attribute = string_argument(args, "attribute", SIZE_MAX);
  if (attribute) {
    const Value* fallback = argument(args, "default", SIZE_MAX);
    for (const Value& item : in.iterate(v)) {
      in.charge_elements(1);
      Value mapped = attribute_path(in, item, *attribute);
      out.push_back(mapped.is_undefined() && fallback ? *fallback : mapped);
    }
    return in.make_list(std::move(out));
  }
  if (args.positional.empty()) throw Error("map: needs a filter name or attribute=");
  std::string filter = args.positional[0].to_string();
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keyword = args.keyword;
  for (const Value& item : in.iterate(v)) {
    in.charge_elements(1);
    CallArgs copy = rest;
    out.push_back(in.apply_filter(filter, item, copy));
  }
  return in.make_list(std::move(out));
}

// select / reject / selectattr / rejectattr.
Value select_items(Interpreter& in, const Value& v, CallArgs& args, bool by_attribute, bool keep) {
  size_t next = 0;
  std::optional<std::string> attribute;
  if (by_attribute) {
    if (args.positional.empty()) throw Error("selectattr/rejectattr: missing attribute name");
    attribute = args.positional[next++].to_string();
  }
  std::optional<std::string> test;
  if (next < args.positional.size()) test = args.positional[next++].to_string();
  CallArgs test_args;
  test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(next),
                              args.positional.end());
  std::vector<Value> out;
  for (const Value& item : in.iterate(v)) {
    in.charge_elements(1);
    Value subject = attribute ? attribute_path(in, item, *attribute) : item;
    CallArgs copy = test_args;
    bool passed = test ? in.apply_test(*test, subject, copy) : subject.truthy();
    if (passed == keep) out.push_back(item);
  }
  return in.make_list(std::move(out));
}
Value f_select(Interpreter& in, const Value& v, CallArgs& a) {
  return select_items(in, v, a, false, true);
}
Value f_reject(Interpreter& in, const Value& v, CallArgs& a) {
  return select_items(in, v, a, false, false);
}
Value f_selectattr(Interpreter& in, const Value& v, CallArgs& a) {
  return select_items(in, v, a, true, true);
}
Value f_rejectattr(Interpreter& in, const Value& v, CallArgs& a) {
  return select_items(in, v, a, true, false);
}

Value sort_key(Interpreter& in, const Value& item, const std::optional<std::string>& attribute,
               bool case_sensitive) {
  Value key = attribute ? attribute_path(in, item, *attribute) : item;
  if (!case_sensitive && key.is_string()) return Value(py_lower(key.as_string()));
  return key;
}

Value f_sort(Interpreter& in, const Value& v, CallArgs& args) {
  bool reverse = bool_argument(args, "reverse", 0, false);
  bool case_sensitive = bool_argument(args, "case_sensitive", 1, false);
  auto attribute = string_argument(args, "attribute", 2);
  std::vector<Value> items = in.iterate(v);
  in.charge_elements(items.size());
  std::vector<std::pair<Value, Value>> keyed;
  for (const Value& item : items)
    keyed.emplace_back(sort_key(in, item, attribute, case_sensitive), item);
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    int c = compare(a.first, b.first);
    return reverse ? c > 0 : c < 0;
  });
  std::vector<Value> out;
  for (auto& pair : keyed) out.push_back(std::move(pair.second));
  return in.make_list(std::move(out));
}

Value f_unique(Interpreter& in, const Value& v, CallArgs& args) {
  bool case_sensitive = bool_argument(args, "case_sensitive", 0, false);
  auto attribute = string_argument(args, "attribute", 1);
  std::vector<Value> out, seen;
  for (const Value& item : in.iterate(v)) {
    Value key = sort_key(in, item, attribute, case_sensitive);
    in.charge_elements(seen.size() + 1);  // quadratic scan: charge what it costs
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, key); })) {
      seen.push_back(key);
      out.push_back(item);
    }
  }
  return in.make_list(std::move(out));
}

Value min_max(Interpreter& in, const Value& v, CallArgs& args, bool want_max) {
  bool case_sensitive = bool_argument(args, "case_sensitive", 0, false);
  auto attribute = string_argument(args, "attribute", 1);
  std::vector<Value> items = in.iterate(v);
  if (items.empty()) return Value::undefined("min/max of an empty sequence");
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    int c = compare(sort_key(in, items[i], attribute, case_sensitive),
                    sort_key(in, items[best], attribute, case_sensitive));
    if (want_max ? c > 0 : c < 0) best = i;
  }
  return items[best];
}
Value f_max(Interpreter& in, const Value& v, CallArgs& a) { return min_max(in, v, a, true); }
Value f_min(Interpreter& in, const Value& v, CallArgs& a) { return min_max(in, v, a, false); }

Value f_replace(Interpreter& in, const Value& v, CallArgs& args) {
  std::string old_text = required_string(args, "old", 0, "replace");
  std::string new_text = required_string(args, "new", 1, "replace");
  const Value* count = argument(args, "count", 2);
  int64_t n = (count && !count->is_none()) ? count->as_int() : -1;
  return in.make_string(
      py_replace(v.to_string(), old_text, new_text, n, in.options().limits.max_output_bytes));
}

Value f_reverse(Interpreter& in, const Value& v, CallArgs&) {
  if (v.is_string()) {
    std::vector<char32_t> cps = utf8_decode(v.as_string());
    std::reverse(cps.begin(), cps.end());
    return in.make_string(utf8_encode(cps));
  }
  std::vector<Value> items = in.iterate(v);
  std::reverse(items.begin(), items.end());
  return in.make_list(std::move(items));
}

Value f_round(Interpreter&, const Value& v, CallArgs& args) {
  int64_t precision = std::clamp<int64_t>(int_argument(args, "precision", 0, 0), -300, 300);
  std::string method = string_argument(args, "method", 1).value_or("common");
  if (!v.is_number()) throw Error("round: expected a number, got " + v.type_name());
  double x = v.as_float();
  if (method == "ceil" || method == "floor") {
    double scale = std::pow(10.0, static_cast<double>(precision));
    return Value((method == "ceil" ? std::ceil(x * scale) : std::floor(x * scale)) / scale);
  }
  if (method != "common") throw Error("round: method must be 'common', 'ceil' or 'floor'");
  if (!std::isfinite(x) || precision < 0) {
    double scale = std::pow(10.0, static_cast<double>(-precision));
    return Value(std::isfinite(x) ? std::nearbyint(x / scale) * scale : x);
  }
  // printf rounds the exact binary value half-to-even, as Python's round() does.
  char buffer[512];
  std::snprintf(buffer, sizeof buffer, "%.*f", static_cast<int>(std::min<int64_t>(precision, 100)),
                x);
  return Value(std::strtod(buffer, nullptr));
}

Value f_sum(Interpreter& in, const Value& v, CallArgs& args) {
  auto attribute = string_argument(args, "attribute", 0);
  const Value* start = argument(args, "start", 1);
  Value total = start ? *start : Value(int64_t{0});
  for (const Value& item : in.iterate(v)) {
    Value x = attribute ? attribute_path(in, item, *attribute) : item;
    if (!x.is_number() || !total.is_number())
      throw Error("sum: unsupported operand type " + x.type_name());
    if (x.is_float() || total.is_float()) {
      total = Value(total.as_float() + x.as_float());
    } else {
      int64_t r = 0;
      if (__builtin_add_overflow(total.as_int(), x.as_int(), &r)) throw Error("integer overflow");
      total = Value(r);
    }
  }
  return total;
}

Value f_tojson(Interpreter& in, const Value& v, CallArgs& args) {
  JsonDumpOptions options;
  const Value* indent = argument(args, "indent", 0);
  if (indent && !indent->is_none()) {
    options.indent_enabled = true;
    options.item_separator = ",";
    options.indent =
        indent->is_string()
            ? indent->as_string()
            : std::string(static_cast<size_t>(std::clamp<int64_t>(indent->as_int(), 0, 4096)), ' ');
  }
  const Value* separators = argument(args, "separators", SIZE_MAX);
  if (separators && separators->is_list() && separators->as_list().items.size() == 2) {
    options.item_separator = separators->as_list().items[0].to_string();
    options.key_separator = separators->as_list().items[1].to_string();
  }
  options.sort_keys = bool_argument(args, "sort_keys", SIZE_MAX, false);
  options.max_bytes = in.options().limits.max_output_bytes;
  return in.make_string(json_dumps(v, options));
}

Value f_truncate(Interpreter& in, const Value& v, CallArgs& args) {
  std::vector<char32_t> cps = utf8_decode(v.to_string());
  int64_t length = int_argument(args, "length", 0, 255);
  bool killwords = bool_argument(args, "killwords", 1, false);
  std::string end = string_argument(args, "end", 2).value_or("...");
  int64_t leeway = int_argument(args, "leeway", 3, 5);
  auto n = static_cast<int64_t>(cps.size());
  if (n <= length + leeway) return v.is_string() ? v : in.make_string(utf8_encode(cps));
  auto keep =
      static_cast<size_t>(std::max<int64_t>(0, length - static_cast<int64_t>(utf8_length(end))));
  std::string head = utf8_encode(std::vector<char32_t>(
      cps.begin(), cps.begin() + static_cast<std::ptrdiff_t>(std::min(keep, cps.size()))));
  if (!killwords) {
    size_t space = head.rfind(' ');
    if (space != std::string::npos) head.resize(space);
  }
  return in.make_string(head + end);
}

Value f_wordcount(Interpreter&, const Value& v, CallArgs&) {
  int64_t words = 0;
  bool in_word = false;
  for (char32_t c : utf8_decode(v.to_string())) {
    bool word_char =
        c == '_' || (c < 0x80 ? std::isalnum(static_cast<int>(c)) != 0 : !is_python_space(c));
    if (word_char && !in_word) ++words;
    in_word = word_char;
  }
  return Value(words);
}

const std::unordered_map<std::string_view, FilterFunction>& filters() {
  static const std::unordered_map<std::string_view, FilterFunction> table = {
      {"abs", f_abs},           {"attr", f_attr},
      {"batch", f_batch},       {"capitalize", f_capitalize},
      {"center", f_center},     {"count", f_length},
      {"d", f_default},         {"default", f_default},
      {"dictsort", f_dictsort}, {"e", f_escape},
      {"escape", f_escape},     {"forceescape", f_escape},
      {"first", f_first},       {"float", f_float},
      {"format", f_format},     {"indent", f_indent},
      {"int", f_int},           {"items", f_items},
      {"join", f_join},         {"last", f_last},
      {"length", f_length},     {"list", f_list},
      {"lower", f_lower},       {"map", f_map},
      {"max", f_max},           {"min", f_min},
      {"reject", f_reject},     {"rejectattr", f_rejectattr},
      {"replace", f_replace},   {"reverse", f_reverse},
      {"round", f_round},       {"safe", f_safe},
      {"select", f_select},     {"selectattr", f_selectattr},
      {"sort", f_sort},         {"string", f_string},
      {"sum", f_sum},           {"title", f_title},
      {"tojson", f_tojson},     {"trim", f_trim},
      {"truncate", f_truncate}, {"unique", f_unique},
      {"upper", f_upper},       {"wordcount", f_wordcount},
  };
  return table;
}

}  // namespace

const Value* argument(const CallArgs& args, std::string_view name, size_t index) {
  return args.get(name, index);
}

int64_t int_argument(const CallArgs& args, std::string_view name, size_t index, int64_t fallback) {
  const Value* v = args.get(name, index);
  if (!v || v->is_none() || v->is_undefined()) return fallback;
  if (v->is_int() || v->is_bool()) return v->as_int();
  if (v->is_float()) return static_cast<int64_t>(v->as_float());
  throw Error("argument '" + std::string(name) + "' must be an integer, not " + v->type_name());
}

bool bool_argument(const CallArgs& args, std::string_view name, size_t index, bool fallback) {
  const Value* v = args.get(name, index);
  if (!v || v->is_undefined()) return fallback;
  return v->truthy();
}

std::optional<std::string> string_argument(const CallArgs& args, std::string_view name,
                                           size_t index) {
  const Value* v = args.get(name, index);
  if (!v || v->is_none() || v->is_undefined()) return std::nullopt;
  return v->to_string();
}

FilterFunction find_filter(std::string_view name) {
  auto it = filters().find(name);
  return it == filters().end() ? nullptr : it->second;
}

}  // namespace lamina::tokenizer::jinja
