// Built-ins of the chat-template engine: filters, tests, str/dict/list methods and the
// global functions (range, namespace, dict, raise_exception, strftime_now, cycler, joiner).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "libcore/tokenizer/jinja_interpreter.h"
#include "libcore/tokenizer/jinja_value.h"

namespace lamina::tokenizer::jinja {

using FilterFunction = Value (*)(Interpreter&, const Value& input, CallArgs& args);
using TestFunction = bool (*)(Interpreter&, const Value& input, CallArgs& args);

// nullptr when there is no such filter / test.
FilterFunction find_filter(std::string_view name);
TestFunction find_test(std::string_view name);

// The bound method `object.name` of a str, dict or list (e.g. "a b".split), or undefined.
Value find_method(const Value& object, const std::string& name);

// Python's `format % args` for the subset templates use (%s %r %d %i %f, precision, %%).
std::string percent_format(const std::string& format, const Value& args);

// Helpers for reading call arguments: keyword `name` or positional `index`.
const Value* argument(const CallArgs& args, std::string_view name, size_t index);
int64_t int_argument(const CallArgs& args, std::string_view name, size_t index, int64_t fallback);
bool bool_argument(const CallArgs& args, std::string_view name, size_t index, bool fallback);
// A string argument; nullopt when absent or none.
std::optional<std::string> string_argument(const CallArgs& args, std::string_view name,
                                           size_t index);

// Adds the global functions to `frame`.
void install_globals(Frame& frame);

// The namespace() object: attributes settable with {% set ns.attr = ... %}.
class NamespaceObject : public Object {
 public:
  std::string type_name() const override { return "Namespace"; }
  Value get_attr(std::string_view name) const override;
  bool set_attr(const std::string& name, Value value) override;
  std::string repr(int depth) const override;
  DictData attributes;
};

}  // namespace lamina::tokenizer::jinja
