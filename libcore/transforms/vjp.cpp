// Reverse mode: trace fun on fresh tracer nodes, then walk the graph from the outputs back
// to the tracers in reverse topological order, asking each primitive for its vjp.
#include "libcore/transforms/vjp.h"

#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "libcore/ops/creation.h"
#include "libcore/ops/elementwise.h"
#include "libcore/ops/primitive.h"
#include "libcore/ops/view_primitives.h"
#include "libcore/ops/views.h"

namespace lamina::core {

namespace {

// Marks the primal tracers: an identity node per primal.
class Tracer : public Primitive {
 public:
  LAMINA_PRIMITIVE(Tracer)
  LAMINA_VULKAN_OVERRIDE
};

// Returns the graph between tracers and outputs in topological order; `depends` gets the
// nodes through which a tracer reaches an output.
std::vector<Array> trace_order(const std::vector<Array>& outputs,
                               const std::unordered_set<ArrayNode*>& tracers,
                               std::unordered_set<ArrayNode*>& depends) {
  std::vector<Array> order;
  std::unordered_set<ArrayNode*> visited;
  struct Frame {
    Array a;
    size_t i;
  };
  std::vector<Frame> stack;
  for (const auto& root : outputs) {
    if (visited.count(root.id())) continue;
    visited.insert(root.id());
    stack.push_back({root, 0});
    while (!stack.empty()) {
      auto& f = stack.back();
      bool is_tracer = tracers.count(f.a.id()) > 0;
      if (!is_tracer && f.i < f.a.inputs().size()) {
        const Array& in = f.a.inputs()[f.i++];
        if (!visited.count(in.id())) {
          visited.insert(in.id());
          stack.push_back({in, 0});
        }
        continue;
      }
      if (is_tracer) {
        depends.insert(f.a.id());
      } else if (f.a.primitive() && !dynamic_cast<StopGradient*>(f.a.primitive().get())) {
        for (const auto& in : f.a.inputs()) {
          if (depends.count(in.id())) {
            depends.insert(f.a.id());
            break;
          }
        }
      }
      order.push_back(f.a);
      stack.pop_back();
    }
  }
  return order;
}

}  // namespace

void Tracer::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  out.share(inputs[0], inputs[0].offset(), inputs[0].strides());
}

#ifdef LAMINA_HAS_VULKAN
void Tracer::eval_vulkan(const std::vector<Array>& inputs, Array& out) {
  out.share(inputs[0], inputs[0].offset(), inputs[0].strides());
}
#endif

namespace {

using CotangentMaker = std::function<std::vector<Array>(const std::vector<Array>& outputs)>;

// vjp with the cotangents made from the traced outputs (grad seeds them with ones).
std::pair<std::vector<Array>, std::vector<Array>> vjp_impl(const ArrayFunction& fun,
                                                           const std::vector<Array>& primals,
                                                           const CotangentMaker& make_cotangents) {
  std::vector<Array> tracers;
  std::unordered_set<ArrayNode*> tracer_ids;
  for (const auto& p : primals) {
    tracers.emplace_back(p.shape(), p.dtype(), std::make_shared<Tracer>(), std::vector<Array>{p});
    tracer_ids.insert(tracers.back().id());
  }
  std::vector<Array> outputs = fun(tracers);
  std::vector<Array> cotangents = make_cotangents(outputs);
  if (outputs.size() != cotangents.size()) {
    throw Error("vjp: " + std::to_string(cotangents.size()) + " cotangents for " +
                std::to_string(outputs.size()) + " outputs");
  }
  std::unordered_set<ArrayNode*> depends;
  std::vector<Array> order = trace_order(outputs, tracer_ids, depends);

  std::unordered_map<ArrayNode*, Array> cotan;
  auto accumulate = [&](const Array& node, const Array& g) {
    if (g.shape() != node.shape()) {
      throw Error("vjp: cotangent of shape " + shape_string(g.shape()) + " for an array of shape " +
                  shape_string(node.shape()));
    }
    auto it = cotan.find(node.id());
    if (it == cotan.end()) {
      cotan.emplace(node.id(), g);
    } else {
      it->second = add(it->second, g);
    }
  };
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (depends.count(outputs[i].id())) {
      accumulate(outputs[i], astype(cotangents[i], outputs[i].dtype()));
    }
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Array& node = *it;
    if (tracer_ids.count(node.id()) || !depends.count(node.id())) continue;
    auto c = cotan.find(node.id());
    if (c == cotan.end()) continue;
    Array g = c->second;
    cotan.erase(c);
    const auto& inputs = node.inputs();
    std::vector<int> argnums;
    for (size_t k = 0; k < inputs.size(); ++k) {
      if (depends.count(inputs[k].id())) argnums.push_back(static_cast<int>(k));
    }
    if (argnums.empty()) continue;
    std::vector<Array> grads = node.primitive()->vjp(inputs, g, argnums, node);
    for (size_t k = 0; k < argnums.size(); ++k) {
      const Array& in = inputs[argnums[k]];
      accumulate(in, astype(grads[k], in.dtype()));
    }
  }
  std::vector<Array> result;
  for (const auto& t : tracers) {
    auto c = cotan.find(t.id());
    result.push_back(c == cotan.end() ? zeros_like(t) : c->second);
  }
  return {outputs, result};
}

}  // namespace

std::pair<std::vector<Array>, std::vector<Array>> vjp(const ArrayFunction& fun,
                                                      const std::vector<Array>& primals,
                                                      const std::vector<Array>& cotangents) {
  return vjp_impl(fun, primals, [&](const std::vector<Array>&) { return cotangents; });
}

std::pair<Array, std::vector<Array>> value_and_grad(const ScalarFunction& fun,
                                                    const std::vector<Array>& primals) {
  auto [outputs, grads] = vjp_impl(
      [&](const std::vector<Array>& x) { return std::vector<Array>{fun(x)}; }, primals,
      [](const std::vector<Array>& out) {
        if (out[0].size() != 1) {
          throw Error("grad: the function must return a scalar, got shape " +
                      shape_string(out[0].shape()));
        }
        return std::vector<Array>{ones(out[0].shape(), out[0].dtype())};
      });
  return {outputs[0], grads};
}

std::vector<Array> grad(const ScalarFunction& fun, const std::vector<Array>& primals) {
  return value_and_grad(fun, primals).second;
}

namespace {

// Identity over the checkpointed output; its vjp re-traces fun from the primals.
class Checkpoint : public Primitive {
 public:
  explicit Checkpoint(ScalarFunction fun) : fun_(std::move(fun)) {}
  LAMINA_PRIMITIVE(Checkpoint)
  LAMINA_VULKAN_OVERRIDE
  LAMINA_VJP

 private:
  ScalarFunction fun_;
};

void Checkpoint::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& value = inputs.back();
  out.share(value, value.offset(), value.strides());
}

#ifdef LAMINA_HAS_VULKAN
void Checkpoint::eval_vulkan(const std::vector<Array>& inputs, Array& out) {
  const Array& value = inputs.back();
  out.share(value, value.offset(), value.strides());
}
#endif

std::vector<Array> Checkpoint::vjp(const std::vector<Array>& inputs, const Array& cotangent,
                                   const std::vector<int>& argnums, const Array&) {
  std::vector<Array> primals(inputs.begin(), inputs.end() - 1);
  auto fun = fun_;
  auto [outs, grads] = core::vjp(
      [fun](const std::vector<Array>& x) { return std::vector<Array>{fun(x)}; }, primals,
      {cotangent});
  std::vector<Array> result;
  for (int k : argnums) {
    result.push_back(k < static_cast<int>(grads.size()) ? grads[k] : zeros_like(inputs[k]));
  }
  return result;
}

}  // namespace

ScalarFunction checkpoint(ScalarFunction fun) {
  return [fun](const std::vector<Array>& primals) {
    Array value = stop_gradient(fun(primals));
    std::vector<Array> inputs(primals);
    inputs.push_back(value);
    Shape shape = value.shape();
    return Array(std::move(shape), value.dtype(), std::make_shared<Checkpoint>(fun),
                 std::move(inputs));
  };
}

}  // namespace lamina::core
