// The value type of the chat-template (Jinja subset) interpreter: Python-like none, bool,
// int, float, string, list/tuple, insertion-ordered dict, callables and attribute objects.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace lamina::tokenizer::jinja {

class Value;
class Interpreter;

// Containers deeper than this are refused (input JSON, template-built values): every
// recursive walk over values stays well inside the native stack.
inline constexpr int kMaxValueDepth = 256;

struct ListData {
  std::vector<Value> items;
  bool is_tuple = false;
  int depth = 1;               // set by Value::list
  bool holds_objects = false;  // a callable or object somewhere inside; set by Value::list
};

// Keys keep insertion order, like Python dicts; lookups are linear (chat data is small).
struct DictData {
  std::vector<std::pair<Value, Value>> entries;
  int depth = 1;               // set by Value::dict
  bool holds_objects = false;  // set by Value::dict
  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  void set(const Value& key, Value value);
};

// Positional and keyword arguments of a call.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  // Keyword `name`, or positional `index` when given, or nullptr.
  const Value* get(std::string_view name, size_t index) const;
};

using NativeFunction = std::function<Value(Interpreter&, CallArgs&)>;

struct CallableData {
  std::string name;
  NativeFunction function;
};

// Something with attributes but no items: namespace(), the `loop` variable, cycler.
class Object {
 public:
  virtual ~Object() = default;
  virtual std::string type_name() const = 0;
  // The attribute, or an undefined value when there is none.
  virtual Value get_attr(std::string_view name) const;
  // Stores an attribute; false when the object is read-only.
  virtual bool set_attr(const std::string& name, Value value);
  virtual std::string repr(int depth) const;
};

struct Undefined {
  std::shared_ptr<const std::string> name;  // what was looked up, for error messages
};
struct None {};

class Value {
 public:
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Callable, Object };

  Value() : data_(Undefined{}) {}
  static Value undefined(std::string name = {}) {
    return Value(
        Undefined{name.empty() ? nullptr : std::make_shared<const std::string>(std::move(name))});
  }
  static Value none() { return Value(None{}); }
  Value(bool b) : data_(b) {}          // NOLINT(google-explicit-constructor)
  Value(int64_t i) : data_(i) {}       // NOLINT(google-explicit-constructor)
  Value(int i) : data_(int64_t{i}) {}  // NOLINT(google-explicit-constructor)
  Value(double f) : data_(f) {}        // NOLINT(google-explicit-constructor)
  Value(std::string s)                 // NOLINT(google-explicit-constructor)
      : data_(std::make_shared<const std::string>(std::move(s))) {}
  Value(const char* s) : Value(std::string(s)) {}  // NOLINT(google-explicit-constructor)
  static Value list(std::vector<Value> items, bool is_tuple = false);
  static Value dict(DictData data);
  static Value callable(std::string name, NativeFunction function);
  static Value object(std::shared_ptr<Object> object);

  Kind kind() const { return static_cast<Kind>(data_.index()); }
  bool is_undefined() const { return kind() == Kind::Undefined; }
  bool is_none() const { return kind() == Kind::None; }
  bool is_bool() const { return kind() == Kind::Bool; }
  bool is_int() const { return kind() == Kind::Int; }
  bool is_float() const { return kind() == Kind::Float; }
  // int or float or bool (bool is an int in Python).
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return kind() == Kind::String; }
  bool is_list() const { return kind() == Kind::List; }
  bool is_dict() const { return kind() == Kind::Dict; }
  bool is_callable() const { return kind() == Kind::Callable; }
  bool is_object() const { return kind() == Kind::Object; }

  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const;   // bool or int
  double as_float() const;  // bool, int or float
  const std::string& as_string() const { return *std::get<StringPtr>(data_); }
  const ListData& as_list() const { return *std::get<ListPtr>(data_); }
  const DictData& as_dict() const { return *std::get<DictPtr>(data_); }
  const CallableData& as_callable() const { return *std::get<CallablePtr>(data_); }
  Object& as_object() const { return *std::get<ObjectPtr>(data_); }
  // What was looked up to give this undefined value ("" when unknown).
  std::string undefined_name() const {
    const auto& name = std::get<Undefined>(data_).name;
    return name ? *name : std::string();
  }
  // Nesting depth of lists and dicts (0 for scalars).
  int depth() const;
  // True for callables and objects, and containers holding one.
  bool holds_objects() const;

  // Python truthiness.
  bool truthy() const;
  // Python str(): what {{ value }} prints (undefined prints "").
  std::string to_string() const;
  // Python repr().
  std::string repr(int depth = 0) const;
  // Python type name, for error messages.
  std::string type_name() const;

  static Value from_json(const nlohmann::json& json, int depth = 0);
  static Value from_json(const nlohmann::ordered_json& json, int depth = 0);
  // Throws lamina::Error for values JSON cannot hold (undefined, callables, objects).
  nlohmann::ordered_json to_json(int depth = 0) const;

 private:
  using StringPtr = std::shared_ptr<const std::string>;
  using ListPtr = std::shared_ptr<const ListData>;
  using DictPtr = std::shared_ptr<const DictData>;
  using CallablePtr = std::shared_ptr<const CallableData>;
  using ObjectPtr = std::shared_ptr<Object>;
  using Data = std::variant<Undefined, None, bool, int64_t, double, StringPtr, ListPtr, DictPtr,
                            CallablePtr, ObjectPtr>;
  explicit Value(Data data) : data_(std::move(data)) {}
  Data data_;
  friend bool same_object(const Value& a, const Value& b);
};

// Python ==.
bool equals(const Value& a, const Value& b, int depth = 0);
// Python <: -1, 0, 1; throws lamina::Error for unorderable types.
int compare(const Value& a, const Value& b, int depth = 0);
// Identity (Jinja's `sameas`): same container, or equal scalars of the same kind.
bool same_object(const Value& a, const Value& b);

// Python repr() of a float: shortest round-trip digits, "1.0", "1e+20", "inf", "nan".
std::string format_float(double value);

// Options of json.dumps as transformers' tojson passes them (ensure_ascii is always False).
struct JsonDumpOptions {
  bool indent_enabled = false;
  std::string indent;  // one level of indentation when indent_enabled
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
  size_t max_bytes = SIZE_MAX;  // throws lamina::Error when the text would grow past this
};
// Python json.dumps(value, ensure_ascii=False, ...).
std::string json_dumps(const Value& value, const JsonDumpOptions& options);

}  // namespace lamina::tokenizer::jinja
