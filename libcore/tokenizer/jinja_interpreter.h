// Tree-walking interpreter of the chat-template engine: scopes, statements, expressions,
// and the limits that keep an untrusted template from hanging or exhausting memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "libcore/tokenizer/jinja_ast.h"
#include "libcore/tokenizer/jinja_value.h"

namespace lamina::tokenizer::jinja {

// Bounds on one render; exceeding any throws lamina::Error naming the limit.
struct RenderLimits {
  // Real chat templates loop over messages and tools: thousands of iterations at most.
  // These bounds keep the worst hostile template well under a second.
  int64_t max_loop_iterations = 1'000'000;  // all loops together
  int64_t max_macro_calls = 200'000;        // macro and caller() calls together
  size_t max_output_bytes = 64ull << 20;    // the output, and any one string built on the way
  int max_call_depth = 100;                 // nested macro calls
  size_t max_bytes_built = 256ull << 20;    // all strings built, together
  size_t max_elements_built = 5'000'000;    // all list/dict elements built, together
  int64_t max_range = 100'000;              // range() length, as jinja2's sandbox allows
  double max_seconds = 2.0;                 // wall-clock safety net over all the above
};

struct RenderOptions {
  RenderLimits limits;
  // The clock strftime_now() reads; the system clock when empty.
  std::function<std::chrono::system_clock::time_point()> clock;
};

// One scope: a loop iteration, a macro call, a `with` block, or the template itself.
struct Frame {
  std::unordered_map<std::string, Value> variables;
  std::shared_ptr<Frame> parent;
  const Value* lookup(const std::string& name) const;
};
using FramePtr = std::shared_ptr<Frame>;

class Interpreter {
 public:
  explicit Interpreter(const RenderOptions& options);

  // Renders `body` with `context` (a dict) on top of the built-in globals.
  std::string render(const Body& body, const Value& context);

  const RenderOptions& options() const { return options_; }

  // ---- used by built-ins ----
  // Counts one loop iteration against max_loop_iterations.
  void charge_iteration();
  // Counts one macro call against max_macro_calls.
  void charge_call();
  // A string built by the template: charged against the limits, then wrapped.
  Value make_string(std::string text);
  // Throws when a string of `bytes` would exceed max_output_bytes.
  void check_string_size(size_t bytes) const;
  // A list built by the template: charged against max_elements_built.
  Value make_list(std::vector<Value> items, bool is_tuple = false);
  void charge_elements(size_t count);
  // Calls a callable value (macro, built-in function, bound method).
  Value call(const Value& callee, CallArgs& args);
  // Applies the named filter / test (as `value | name(args)` / `value is name(args)`).
  Value apply_filter(const std::string& name, const Value& input, CallArgs& args);
  bool apply_test(const std::string& name, const Value& input, CallArgs& args);
  // obj.name and obj[key] as Jinja resolves them; undefined when absent.
  Value get_attribute(const Value& object, const std::string& name);
  Value get_item(const Value& object, const Value& key);
  // Python iteration: list/tuple items, dict keys, string characters; undefined is empty.
  std::vector<Value> iterate(const Value& iterable);

 private:
  enum class Flow { Normal, Break, Continue };
  struct MacroCall;

  Flow exec(const Body& body, const FramePtr& frame, std::string& out);
  Flow exec_statement(const Stmt& stmt, const FramePtr& frame, std::string& out);
  Flow exec_for(const Stmt& stmt, const FramePtr& frame, std::string& out);
  void exec_set(const Target& target, Value value, const FramePtr& frame);
  void define_macro(const Stmt& stmt, const FramePtr& frame);
  Value invoke_macro(const Stmt& macro, const std::weak_ptr<Frame>& closure, CallArgs& args);
  std::string render_body(const Body& body, const FramePtr& frame);
  void append_output(std::string& out, std::string_view text);

  Value eval(const Expr& expr, const FramePtr& frame);
  Value eval_binary(const std::string& op, const Value& left, const Value& right);
  Value eval_slice(const Value& target, const Value& start, const Value& stop, const Value& step);
  bool eval_compare(const std::string& op, const Value& left, const Value& right);
  CallArgs eval_args(const Expr& expr, const FramePtr& frame, size_t first_child);

  RenderOptions options_;
  void check_time();

  int64_t iterations_ = 0;
  int64_t calls_ = 0;
  uint32_t time_check_counter_ = 0;
  std::chrono::steady_clock::time_point start_;
  size_t bytes_built_ = 0;
  size_t elements_built_ = 0;
  int call_depth_ = 0;
};

// Python `item in container`.
bool contains(const Value& container, const Value& item);

}  // namespace lamina::tokenizer::jinja
