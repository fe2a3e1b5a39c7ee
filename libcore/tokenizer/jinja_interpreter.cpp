// Statement execution and scoping of the chat-template interpreter (see jinja_interpreter.h).
// Scopes follow Jinja: each loop iteration, macro call and `with` block gets a fresh frame,
// so `set` inside a loop body does not leak out (templates use namespace() for that).
#include "libcore/tokenizer/jinja_interpreter.h"

#include <algorithm>
#include <string_view>

#include "libcore/error.h"
#include "libcore/tokenizer/jinja_builtins.h"

namespace lamina::tokenizer::jinja {
namespace {

constexpr std::string_view kErrorPrefix = "chat template: ";

// The `loop` variable of a for loop; reads the loop's current position.
class LoopObject : public Object {
 public:
  explicit LoopObject(const std::vector<Value>* items) : items_(items) {}
  std::string type_name() const override { return "LoopContext"; }
  Value get_attr(std::string_view name) const override {
    auto n = static_cast<int64_t>(items_->size());
    auto i = static_cast<int64_t>(index);
    if (name == "index") return Value(i + 1);
    if (name == "index0") return Value(i);
    if (name == "revindex") return Value(n - i);
    if (name == "revindex0") return Value(n - i - 1);
    if (name == "first") return Value(i == 0);
    if (name == "last") return Value(i == n - 1);
    if (name == "length") return Value(n);
    if (name == "depth") return Value(int64_t{1});
    if (name == "depth0") return Value(int64_t{0});
    if (name == "previtem") return i > 0 ? (*items_)[index - 1] : Value::undefined("previtem");
    if (name == "nextitem") return i + 1 < n ? (*items_)[index + 1] : Value::undefined("nextitem");
    if (name == "cycle") {
      size_t position = index;
      return Value::callable("loop.cycle", [position](Interpreter&, CallArgs& args) -> Value {
        if (args.positional.empty()) throw Error("loop.cycle() needs at least one argument");
        return args.positional[position % args.positional.size()];
      });
    }
    return Value::undefined(std::string(name));
  }
  size_t index = 0;

 private:
  const std::vector<Value>* items_;
};

class CallDepthGuard {
 public:
  CallDepthGuard(int& depth, int limit) : depth_(depth) {
    if (++depth_ > limit) {
      --depth_;
      throw Error("macro calls nested deeper than " + std::to_string(limit) +
                  " levels (runaway recursion?)");
    }
  }
  ~CallDepthGuard() { --depth_; }
  CallDepthGuard(const CallDepthGuard&) = delete;
  CallDepthGuard& operator=(const CallDepthGuard&) = delete;

 private:
  int& depth_;
};

// Binds `value` to a for/set/with target: one name, or unpacking into several.
void bind_target(Interpreter& interpreter, const Target& target, const Value& value, Frame& frame) {
  if (!target.is_tuple) {
    frame.variables[target.names[0]] = value;
    return;
  }
  std::vector<Value> items = interpreter.iterate(value);
  if (items.size() != target.names.size())
    throw Error((items.size() < target.names.size() ? "not enough" : "too many") +
                std::string(" values to unpack (expected ") + std::to_string(target.names.size()) +
                ", got " + std::to_string(items.size()) + ")");
  for (size_t i = 0; i < items.size(); ++i) frame.variables[target.names[i]] = items[i];
}

// Binds call arguments to macro-style parameters in `frame`.
void bind_params(Interpreter& interpreter, const std::vector<MacroParam>& params, CallArgs& args,
                 const FramePtr& frame, const std::function<Value(const Expr&)>& eval_default) {
  std::vector<bool> bound(params.size(), false);
  std::vector<Value> varargs;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < params.size()) {
      frame->variables[params[i].name] = args.positional[i];
      bound[i] = true;
    } else {
      varargs.push_back(args.positional[i]);
    }
  }
  DictData kwargs;
  for (auto& [name, value] : args.keyword) {
    bool matched = false;
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i].name != name) continue;
      if (bound[i]) throw Error("macro got multiple values for argument '" + name + "'");
      frame->variables[name] = value;
      bound[i] = matched = true;
    }
    if (matched) continue;
    if (name == "caller") {
      frame->variables["caller"] = value;
    } else {
      kwargs.set(Value(name), value);
    }
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (bound[i]) continue;
    frame->variables[params[i].name] = params[i].default_value
                                           ? eval_default(*params[i].default_value)
                                           : Value::undefined(params[i].name);
  }
  frame->variables["varargs"] = interpreter.make_list(std::move(varargs), true);
  frame->variables["kwargs"] = Value::dict(std::move(kwargs));
}

}  // namespace

const Value* Frame::lookup(const std::string& name) const {
  for (const Frame* frame = this; frame; frame = frame->parent.get()) {
    auto it = frame->variables.find(name);
    if (it != frame->variables.end()) return &it->second;
  }
  return nullptr;
}

Interpreter::Interpreter(const RenderOptions& options)
    : options_(options), start_(std::chrono::steady_clock::now()) {}

void Interpreter::check_time() {
  if ((++time_check_counter_ & 1023) != 0) return;
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
  if (elapsed.count() > options_.limits.max_seconds)
    throw Error("template rendering took longer than " +
                std::to_string(options_.limits.max_seconds) + " s (runaway template?)");
}

std::string Interpreter::render(const Body& body, const Value& context) {
  auto globals = std::make_shared<Frame>();
  install_globals(*globals);
  auto frame = std::make_shared<Frame>();
  frame->parent = globals;
  if (context.is_dict())
    for (const auto& [key, value] : context.as_dict().entries)
      if (key.is_string()) frame->variables[key.as_string()] = value;
  std::string out;
  exec(body, frame, out);
  return out;
}

void Interpreter::charge_iteration() {
  check_time();
  if (++iterations_ > options_.limits.max_loop_iterations)
    throw Error("template exceeded " + std::to_string(options_.limits.max_loop_iterations) +
                " loop iterations (runaway loop?)");
}

void Interpreter::charge_call() {
  check_time();
  if (++calls_ > options_.limits.max_macro_calls)
    throw Error("template made more than " + std::to_string(options_.limits.max_macro_calls) +
                " macro calls (runaway recursion?)");
}

void Interpreter::check_string_size(size_t bytes) const {
  if (bytes > options_.limits.max_output_bytes)
    throw Error("template built a string of more than " +
                std::to_string(options_.limits.max_output_bytes) + " bytes");
}

Value Interpreter::make_string(std::string text) {
  check_string_size(text.size());
  bytes_built_ += text.size();
  check_time();
  if (bytes_built_ > options_.limits.max_bytes_built)
    throw Error("template built more than " + std::to_string(options_.limits.max_bytes_built) +
                " bytes of strings in total (runaway template?)");
  return Value(std::move(text));
}

void Interpreter::charge_elements(size_t count) {
  elements_built_ += count;
  check_time();
  if (elements_built_ > options_.limits.max_elements_built)
    throw Error("template built more than " + std::to_string(options_.limits.max_elements_built) +
                " list elements in total (runaway template?)");
}

Value Interpreter::make_list(std::vector<Value> items, bool is_tuple) {
  charge_elements(items.size());
  return Value::list(std::move(items), is_tuple);
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
  if (callee.is_callable()) return callee.as_callable().function(*this, args);
  if (callee.is_undefined())
    throw Error("'" +
                (callee.undefined_name().empty() ? std::string("value") : callee.undefined_name()) +
                "' is undefined (cannot call it)");
  throw Error("'" + callee.type_name() + "' object is not callable");
}

Value Interpreter::apply_filter(const std::string& name, const Value& input, CallArgs& args) {
  FilterFunction filter = find_filter(name);
  if (!filter) throw Error("no filter named '" + name + "'");
  return filter(*this, input, args);
}

bool Interpreter::apply_test(const std::string& name, const Value& input, CallArgs& args) {
  TestFunction test = find_test(name);
  if (!test) throw Error("no test named '" + name + "'");
  return test(*this, input, args);
}

std::vector<Value> Interpreter::iterate(const Value& iterable) {
  switch (iterable.kind()) {
    case Value::Kind::Undefined:
      return {};
    case Value::Kind::List:
      return iterable.as_list().items;
    case Value::Kind::Dict: {
      std::vector<Value> keys;
      charge_elements(iterable.as_dict().entries.size());
      for (const auto& entry : iterable.as_dict().entries) keys.push_back(entry.first);
      return keys;
    }
    case Value::Kind::String: {
      std::vector<Value> chars;
      const std::string& text = iterable.as_string();
      charge_elements(text.size());
      size_t i = 0;
      while (i < text.size()) {
        size_t n = 1;
        while (i + n < text.size() && (static_cast<unsigned char>(text[i + n]) & 0xc0) == 0x80) ++n;
        chars.emplace_back(text.substr(i, n));
        i += n;
      }
      return chars;
    }
    default:
      throw Error("'" + iterable.type_name() + "' object is not iterable");
  }
}

void Interpreter::append_output(std::string& out, std::string_view text) {
  if (out.size() + text.size() > options_.limits.max_output_bytes)
    throw Error("template output exceeds " + std::to_string(options_.limits.max_output_bytes) +
                " bytes");
  out.append(text);
}

Interpreter::Flow Interpreter::exec(const Body& body, const FramePtr& frame, std::string& out) {
  for (const auto& stmt : body) {
    Flow flow = exec_statement(*stmt, frame, out);
    if (flow != Flow::Normal) return flow;
  }
  return Flow::Normal;
}

std::string Interpreter::render_body(const Body& body, const FramePtr& frame) {
  std::string out;
  exec(body, frame, out);
  return out;
}

Interpreter::Flow Interpreter::exec_statement(const Stmt& stmt, const FramePtr& frame,
                                              std::string& out) {
  try {
    switch (stmt.kind) {
      case Stmt::Kind::Text:
        append_output(out, stmt.text);
        return Flow::Normal;
      case Stmt::Kind::Output: {
        Value value = eval(*stmt.expr, frame);
        if (value.is_string()) {
          append_output(out, value.as_string());
        } else {
          append_output(out, value.to_string());
        }
        return Flow::Normal;
      }
      case Stmt::Kind::If:
        for (size_t i = 0; i < stmt.conditions.size(); ++i)
          if (eval(*stmt.conditions[i], frame).truthy()) return exec(stmt.bodies[i], frame, out);
        return exec(stmt.else_body, frame, out);
      case Stmt::Kind::For:
        return exec_for(stmt, frame, out);
      case Stmt::Kind::Set:
        exec_set(stmt.target, eval(*stmt.expr, frame), frame);
        return Flow::Normal;
      case Stmt::Kind::SetBlock:
      case Stmt::Kind::FilterBlock: {
        Value value = make_string(render_body(stmt.body, frame));
        if (stmt.expr) {
          // The filter chain's innermost node has no input: feed it the rendered body.
          std::vector<const Expr*> chain;
          for (const Expr* e = stmt.expr.get(); e; e = e->children[0].get()) chain.push_back(e);
          for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
            CallArgs args = eval_args(**it, frame, 1);
            value = apply_filter((*it)->name, value, args);
          }
        }
        if (stmt.kind == Stmt::Kind::SetBlock) {
          exec_set(stmt.target, value, frame);
        } else {
          append_output(out, value.to_string());
        }
        return Flow::Normal;
      }
      case Stmt::Kind::Macro:
        define_macro(stmt, frame);
        return Flow::Normal;
      case Stmt::Kind::CallBlock: {
        const Expr& call_expr = *stmt.expr;
        Value callee = eval(*call_expr.children[0], frame);
        CallArgs args = eval_args(call_expr, frame, 1);
        const Stmt* block = &stmt;
        std::weak_ptr<Frame> closure = frame;
        args.keyword.emplace_back(
            "caller",
            Value::callable("caller", [block, closure](Interpreter& in, CallArgs& caller_args) {
              FramePtr parent = closure.lock();
              if (!parent) throw Error("caller() used outside its call block");
              CallDepthGuard guard(in.call_depth_, in.options_.limits.max_call_depth);
              in.charge_call();
              auto caller_frame = std::make_shared<Frame>();
              caller_frame->parent = parent;
              bind_params(in, block->params, caller_args, caller_frame,
                          [&](const Expr& e) { return in.eval(e, caller_frame); });
              return in.make_string(in.render_body(block->body, caller_frame));
            }));
        append_output(out, call(callee, args).to_string());
        return Flow::Normal;
      }
      case Stmt::Kind::With: {
        auto inner = std::make_shared<Frame>();
        inner->parent = frame;
        for (const auto& [target, expr] : stmt.assignments)
          bind_target(*this, target, eval(*expr, frame), *inner);
        return exec(stmt.body, inner, out);
      }
      case Stmt::Kind::Break:
        return Flow::Break;
      case Stmt::Kind::Continue:
        return Flow::Continue;
      case Stmt::Kind::Block:
        return exec(stmt.body, frame, out);
    }
    return Flow::Normal;
  } catch (const Error& error) {
    if (std::string_view(error.what()).substr(0, kErrorPrefix.size()) == kErrorPrefix) throw;
    throw Error(std::string(kErrorPrefix) + "line " + std::to_string(stmt.line) + ": " +
                error.what());
  }
}

Interpreter::Flow Interpreter::exec_for(const Stmt& stmt, const FramePtr& frame, std::string& out) {
  Value iterable = eval(*stmt.expr, frame);
  std::vector<Value> storage;
  const std::vector<Value>* items = nullptr;
  if (iterable.is_list()) {
    items = &iterable.as_list().items;
  } else {
    storage = iterate(iterable);
    items = &storage;
  }
  auto iteration = std::make_shared<Frame>();
  iteration->parent = frame;
  if (stmt.condition) {
    std::vector<Value> kept;
    for (const Value& item : *items) {
      charge_iteration();
      iteration->variables.clear();
      bind_target(*this, stmt.target, item, *iteration);
      if (eval(*stmt.condition, iteration).truthy()) kept.push_back(item);
    }
    storage = std::move(kept);
    items = &storage;
  }
  auto loop = std::make_shared<LoopObject>(items);
  Value loop_value = Value::object(loop);
  // Each iteration starts from a fresh scope; when the body set nothing, the scope only
  // holds `loop` and the targets, which are overwritten in place (no allocation).
  size_t loop_variables = stmt.target.names.size() + 1;
  iteration->variables.clear();
  for (size_t i = 0; i < items->size(); ++i) {
    charge_iteration();
    if (iteration->variables.size() > loop_variables) {
      // Drop what the previous iteration's body set, keeping the nodes of the loop names.
      for (auto it = iteration->variables.begin(); it != iteration->variables.end();) {
        bool keep = it->first == "loop" ||
                    std::find(stmt.target.names.begin(), stmt.target.names.end(), it->first) !=
                        stmt.target.names.end();
        it = keep ? std::next(it) : iteration->variables.erase(it);
      }
    }
    loop->index = i;
    iteration->variables["loop"] = loop_value;
    bind_target(*this, stmt.target, (*items)[i], *iteration);
    if (exec(stmt.body, iteration, out) == Flow::Break) break;
  }
  if (items->empty()) return exec(stmt.else_body, frame, out);
  return Flow::Normal;
}

void Interpreter::exec_set(const Target& target, Value value, const FramePtr& frame) {
  if (target.attribute.empty()) {
    bind_target(*this, target, value, *frame);
    return;
  }
  const Value* object = frame->lookup(target.names[0]);
  if (!object || !object->is_object() ||
      !object->as_object().set_attr(target.attribute, std::move(value)))
    throw Error("cannot assign attribute '" + target.attribute + "' of '" + target.names[0] +
                "': only namespace() objects take attribute assignments");
}

void Interpreter::define_macro(const Stmt& stmt, const FramePtr& frame) {
  const Stmt* macro = &stmt;
  std::weak_ptr<Frame> closure = frame;
  frame->variables[stmt.text] =
      Value::callable(stmt.text, [macro, closure](Interpreter& in, CallArgs& args) {
        return in.invoke_macro(*macro, closure, args);
      });
}

Value Interpreter::invoke_macro(const Stmt& macro, const std::weak_ptr<Frame>& closure,
                                CallArgs& args) {
  FramePtr parent = closure.lock();
  if (!parent) throw Error("macro '" + macro.text + "' called outside the scope that defined it");
  CallDepthGuard guard(call_depth_, options_.limits.max_call_depth);
  charge_call();
  auto frame = std::make_shared<Frame>();
  frame->parent = parent;
  bind_params(*this, macro.params, args, frame, [&](const Expr& e) { return eval(e, frame); });
  return make_string(render_body(macro.body, frame));
}

}  // namespace lamina::tokenizer::jinja
