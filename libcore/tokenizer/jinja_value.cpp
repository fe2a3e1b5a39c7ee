// Value semantics of the chat-template interpreter: Python equality, ordering, str/repr,
// JSON conversion and json.dumps formatting (see jinja_value.h).
#include "libcore/tokenizer/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "libcore/error.h"
#include "libcore/tokenizer/jinja_strings.h"

namespace lamina::tokenizer::jinja {
namespace {

void check_depth(int depth) {
  if (depth > kMaxValueDepth)
    throw Error("value nested deeper than " + std::to_string(kMaxValueDepth) + " levels");
}

template <typename JsonType>
Value value_from_json(const JsonType& json, int depth) {
  check_depth(depth);
  switch (json.type()) {
    case nlohmann::json::value_t::null:
      return Value::none();
    case nlohmann::json::value_t::boolean:
      return Value(json.template get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value(json.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      auto u = json.template get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<int64_t>(u));
      return Value(static_cast<double>(u));
    }
    case nlohmann::json::value_t::number_float:
      return Value(json.template get<double>());
    case nlohmann::json::value_t::string:
      return Value(json.template get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      items.reserve(json.size());
      for (const auto& item : json) items.push_back(value_from_json(item, depth + 1));
      return Value::list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      DictData dict;
      dict.entries.reserve(json.size());
      for (auto it = json.begin(); it != json.end(); ++it)
        dict.entries.emplace_back(Value(it.key()), value_from_json(it.value(), depth + 1));
      return Value::dict(std::move(dict));
    }
    default:
      throw Error("chat template input: unsupported JSON value (binary or discarded)");
  }
}

void append_json_string(std::string& out, const std::string& text) {
  out.push_back('"');
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
          out += buffer;
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

std::string json_float(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return format_float(value);
}

// Python json.dumps turns non-string keys into strings.
std::string json_key(const Value& key) {
  if (key.is_string()) return key.as_string();
  if (key.is_bool()) return key.as_bool() ? "true" : "false";
  if (key.is_none()) return "null";
  if (key.is_int()) return std::to_string(key.as_int());
  if (key.is_float()) return json_float(key.as_float());
  throw Error("tojson: keys must be str, int, float, bool or None, not " + key.type_name());
}

void dump(std::string& out, const Value& value, const JsonDumpOptions& options, int level) {
  check_depth(level);
  if (out.size() > options.max_bytes)
    throw Error("tojson: the text would exceed " + std::to_string(options.max_bytes) + " bytes");
  auto newline = [&](int indent_level) {
    if (out.size() + options.indent.size() * static_cast<size_t>(indent_level) > options.max_bytes)
      throw Error("tojson: the text would exceed " + std::to_string(options.max_bytes) + " bytes");
    out.push_back('\n');
    for (int i = 0; i < indent_level; ++i) out += options.indent;
  };
  switch (value.kind()) {
    case Value::Kind::None:
      out += "null";
      return;
    case Value::Kind::Bool:
      out += value.as_bool() ? "true" : "false";
      return;
    case Value::Kind::Int:
      out += std::to_string(value.as_int());
      return;
    case Value::Kind::Float:
      out += json_float(value.as_float());
      return;
    case Value::Kind::String:
      append_json_string(out, value.as_string());
      return;
    case Value::Kind::List: {
      const auto& items = value.as_list().items;
      if (items.empty()) {
        out += "[]";
        return;
      }
      out.push_back('[');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += options.item_separator;
        if (options.indent_enabled) newline(level + 1);
        dump(out, items[i], options, level + 1);
      }
      if (options.indent_enabled) newline(level);
      out.push_back(']');
      return;
    }
    case Value::Kind::Dict: {
      std::vector<std::pair<std::string, const Value*>> entries;
      for (const auto& [key, item] : value.as_dict().entries)
        entries.emplace_back(json_key(key), &item);
      if (options.sort_keys)
        std::stable_sort(entries.begin(), entries.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
      if (entries.empty()) {
        out += "{}";
        return;
      }
      out.push_back('{');
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) out += options.item_separator;
        if (options.indent_enabled) newline(level + 1);
        append_json_string(out, entries[i].first);
        out += options.key_separator;
        dump(out, *entries[i].second, options, level + 1);
      }
      if (options.indent_enabled) newline(level);
      out.push_back('}');
      return;
    }
    default:
      throw Error("tojson: object of type " + value.type_name() + " is not JSON serializable");
  }
}

}  // namespace

const Value* DictData::find(const Value& key) const {
  for (const auto& entry : entries)
    if (equals(entry.first, key)) return &entry.second;
  return nullptr;
}

const Value* DictData::find(std::string_view key) const {
  for (const auto& entry : entries)
    if (entry.first.is_string() && entry.first.as_string() == key) return &entry.second;
  return nullptr;
}

void DictData::set(const Value& key, Value value) {
  for (auto& entry : entries) {
    if (equals(entry.first, key)) {
      entry.second = std::move(value);
      return;
    }
  }
  entries.emplace_back(key, std::move(value));
}

const Value* CallArgs::get(std::string_view name, size_t index) const {
  for (const auto& [key, value] : keyword)
    if (key == name) return &value;
  if (index < positional.size()) return &positional[index];
  return nullptr;
}

Value Object::get_attr(std::string_view name) const { return Value::undefined(std::string(name)); }
bool Object::set_attr(const std::string&, Value) { return false; }
std::string Object::repr(int) const { return "<" + type_name() + " object>"; }

Value Value::list(std::vector<Value> items, bool is_tuple) {
  auto data = std::make_shared<ListData>();
  int depth = 0;
  bool holds = false;
  for (const auto& item : items) {
    depth = std::max(depth, item.depth());
    holds = holds || item.holds_objects();
  }
  check_depth(depth + 1);
  data->items = std::move(items);
  data->is_tuple = is_tuple;
  data->depth = depth + 1;
  data->holds_objects = holds;
  return Value(Data(ListPtr(std::move(data))));
}

Value Value::dict(DictData dict) {
  int depth = 0;
  bool holds = false;
  for (const auto& [key, item] : dict.entries) {
    depth = std::max(depth, item.depth());
    holds = holds || item.holds_objects();
  }
  check_depth(depth + 1);
  dict.depth = depth + 1;
  dict.holds_objects = holds;
  return Value(Data(DictPtr(std::make_shared<DictData>(std::move(dict)))));
}

Value Value::callable(std::string name, NativeFunction function) {
  return Value(Data(CallablePtr(
      std::make_shared<CallableData>(CallableData{std::move(name), std::move(function)}))));
}

Value Value::object(std::shared_ptr<Object> object) {
  return Value(Data(ObjectPtr(std::move(object))));
}

int64_t Value::as_int() const {
  if (is_bool()) return as_bool() ? 1 : 0;
  return std::get<int64_t>(data_);
}

double Value::as_float() const {
  if (is_float()) return std::get<double>(data_);
  return static_cast<double>(as_int());
}

int Value::depth() const {
  if (is_list()) return as_list().depth;
  if (is_dict()) return as_dict().depth;
  return 0;
}

bool Value::holds_objects() const {
  if (is_list()) return as_list().holds_objects;
  if (is_dict()) return as_dict().holds_objects;
  return is_callable() || is_object();
}

bool Value::truthy() const {
  switch (kind()) {
    case Kind::Undefined:
    case Kind::None:
      return false;
    case Kind::Bool:
      return as_bool();
    case Kind::Int:
      return as_int() != 0;
    case Kind::Float:
      return as_float() != 0.0;
    case Kind::String:
      return !as_string().empty();
    case Kind::List:
      return !as_list().items.empty();
    case Kind::Dict:
      return !as_dict().entries.empty();
    default:
      return true;
  }
}

std::string Value::to_string() const {
  switch (kind()) {
    case Kind::Undefined:
      return "";
    case Kind::String:
      return as_string();
    default:
      return repr();
  }
}

std::string Value::repr(int depth) const {
  check_depth(depth);
  switch (kind()) {
    case Kind::Undefined:
      return "";
    case Kind::None:
      return "None";
    case Kind::Bool:
      return as_bool() ? "True" : "False";
    case Kind::Int:
      return std::to_string(as_int());
    case Kind::Float:
      return format_float(as_float());
    case Kind::String:
      return py_repr_string(as_string());
    case Kind::List: {
      const auto& list = as_list();
      std::string out = list.is_tuple ? "(" : "[";
      for (size_t i = 0; i < list.items.size(); ++i) {
        if (i > 0) out += ", ";
        out += list.items[i].repr(depth + 1);
      }
      if (list.is_tuple && list.items.size() == 1) out += ",";
      out += list.is_tuple ? ")" : "]";
      return out;
    }
    case Kind::Dict: {
      std::string out = "{";
      bool first = true;
      for (const auto& [key, item] : as_dict().entries) {
        if (!first) out += ", ";
        first = false;
        out += key.repr(depth + 1) + ": " + item.repr(depth + 1);
      }
      return out + "}";
    }
    case Kind::Callable:
      return "<function " + as_callable().name + ">";
    case Kind::Object:
      return as_object().repr(depth + 1);
  }
  return "";
}

std::string Value::type_name() const {
  switch (kind()) {
    case Kind::Undefined:
      return "Undefined";
    case Kind::None:
      return "NoneType";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Float:
      return "float";
    case Kind::String:
      return "str";
    case Kind::List:
      return as_list().is_tuple ? "tuple" : "list";
    case Kind::Dict:
      return "dict";
    case Kind::Callable:
      return "function";
    case Kind::Object:
      return as_object().type_name();
  }
  return "?";
}

Value Value::from_json(const nlohmann::json& json, int depth) {
  return value_from_json(json, depth);
}
Value Value::from_json(const nlohmann::ordered_json& json, int depth) {
  return value_from_json(json, depth);
}

nlohmann::ordered_json Value::to_json(int depth) const {
  check_depth(depth);
  switch (kind()) {
    case Kind::None:
      return nullptr;
    case Kind::Bool:
      return as_bool();
    case Kind::Int:
      return as_int();
    case Kind::Float:
      return as_float();
    case Kind::String:
      return as_string();
    case Kind::List: {
      auto array = nlohmann::ordered_json::array();
      for (const auto& item : as_list().items) array.push_back(item.to_json(depth + 1));
      return array;
    }
    case Kind::Dict: {
      auto object = nlohmann::ordered_json::object();
      for (const auto& [key, item] : as_dict().entries)
        object[key.is_string() ? key.as_string() : key.repr()] = item.to_json(depth + 1);
      return object;
    }
    default:
      throw Error("a " + type_name() + " value cannot be converted to JSON");
  }
}

bool equals(const Value& a, const Value& b, int depth) {
  check_depth(depth);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::Undefined:
    case Value::Kind::None:
      return true;
    case Value::Kind::String:
      return a.as_string() == b.as_string();
    case Value::Kind::List: {
      const auto& x = a.as_list();
      const auto& y = b.as_list();
      if (x.is_tuple != y.is_tuple || x.items.size() != y.items.size()) return false;
      for (size_t i = 0; i < x.items.size(); ++i)
        if (!equals(x.items[i], y.items[i], depth + 1)) return false;
      return true;
    }
    case Value::Kind::Dict: {
      const auto& x = a.as_dict();
      const auto& y = b.as_dict();
      if (x.entries.size() != y.entries.size()) return false;
      for (const auto& [key, item] : x.entries) {
        const Value* other = y.find(key);
        if (!other || !equals(item, *other, depth + 1)) return false;
      }
      return true;
    }
    default:
      return same_object(a, b);
  }
}

int compare(const Value& a, const Value& b, int depth) {
  check_depth(depth);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      double x = a.as_float(), y = b.as_float();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    int64_t x = a.as_int(), y = b.as_int();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    int c = a.as_string().compare(b.as_string());  // UTF-8 byte order is code-point order
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple) {
    const auto& x = a.as_list().items;
    const auto& y = b.as_list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (equals(x[i], y[i], depth + 1)) continue;
      return compare(x[i], y[i], depth + 1);
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  throw Error("cannot compare " + a.type_name() + " with " + b.type_name());
}

bool same_object(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::Undefined:
    case Value::Kind::None:
      return true;
    case Value::Kind::Bool:
      return a.as_bool() == b.as_bool();
    case Value::Kind::Int:
      return a.as_int() == b.as_int();
    case Value::Kind::Float:
      return a.as_float() == b.as_float();
    case Value::Kind::String:
      return a.as_string() == b.as_string();
    case Value::Kind::List:
      return &a.as_list() == &b.as_list();
    case Value::Kind::Dict:
      return &a.as_dict() == &b.as_dict();
    case Value::Kind::Callable:
      return &a.as_callable() == &b.as_callable();
    case Value::Kind::Object:
      return &a.as_object() == &b.as_object();
  }
  return false;
}

std::string format_float(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  std::string sci(buffer, result.ptr);
  // sci is "[-]d[.ddd]e[+-]xx": split into sign, digits and decimal exponent.
  bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  size_t e = sci.find('e');
  int exponent = std::stoi(sci.substr(e + 1));
  std::string digits;
  for (char c : sci.substr(0, e))
    if (c != '.') digits.push_back(c);
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<size_t>(exponent) + 1 >= digits.size()) {
      out += digits + std::string(static_cast<size_t>(exponent) + 1 - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(exponent) + 1) + "." +
             digits.substr(static_cast<size_t>(exponent) + 1);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char exp_buffer[16];
  std::snprintf(exp_buffer, sizeof exp_buffer, "e%c%02d", exponent < 0 ? '-' : '+',
                exponent < 0 ? -exponent : exponent);
  return out + exp_buffer;
}

std::string json_dumps(const Value& value, const JsonDumpOptions& options) {
  std::string out;
  dump(out, value, options, 0);
  return out;
}

}  // namespace lamina::tokenizer::jinja
