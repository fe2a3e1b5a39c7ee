// The eval scheduler. Nodes run in topological order; after a node has run it is detached
// from its inputs, so an intermediate's buffer is released the moment its last consumer
// has run (unless the caller still holds a handle to it).
#include "libcore/transforms/eval.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "libcore/ops/primitive.h"
#ifdef LAMINA_HAS_VULKAN
#include "libcore/backend/vulkan/transfer.h"
#endif

namespace lamina::core {

namespace {

std::atomic<uint64_t> g_evaluated{0};

// Each schedule() call marks the nodes it visits with a pass number of its own (a field
// of the node, not a hash set: no allocation per node).
std::atomic<uint64_t> g_schedule_pass{0};

// Returns unevaluated nodes reachable from `arrays`, inputs before consumers; each is
// marked with `pass`.
std::vector<Array> topological_order(const std::vector<Array>& arrays, uint64_t pass) {
  std::vector<Array> order;
  auto visit = [pass](const Array& a) {
    if (a.is_evaluated() || a.id()->schedule_pass == pass) return false;
    a.id()->schedule_pass = pass;
    return true;
  };
  struct Frame {
    Array array;
    size_t next_input;
  };
  std::vector<Frame> stack;
  for (const auto& root : arrays) {
    if (!root.valid() || !visit(root)) continue;
    stack.push_back({root, 0});
    while (!stack.empty()) {
      Frame& f = stack.back();
      const auto& inputs = f.array.inputs();
      if (f.next_input < inputs.size()) {
        const Array& in = inputs[f.next_input++];
        if (visit(in)) stack.push_back({in, 0});
        continue;
      }
      order.push_back(std::move(f.array));
      stack.pop_back();
    }
  }
  return order;
}

// True when the graph should run level by level: any node on a GPU, unless
// LAMINA_EVAL_ORDER=dfs. A GPU runs independent dispatches together but must drain
// between dependent ones (a barrier); the depth-first order interleaves branches (q
// projection, its rope, k projection, its rope, ...) so that nearly every dispatch waits
// for the one before. On the CPU, where kernels run one at a time anyway, the depth-first
// order frees intermediates soonest.
bool level_order_wanted(const std::vector<Array>& order) {
  static const char* env = std::getenv("LAMINA_EVAL_ORDER");
  if (env != nullptr && std::string(env) == "dfs") return false;
  for (const auto& node : order) {
    if (node.device().type == Device::Type::vulkan) return true;
  }
  return false;
}

// Reorders a topological order (of nodes marked with `pass`) by level (each node after
// all of its inputs, as early as they allow), keeping the depth-first order within a
// level: the independent branches of a layer (q, k and v projections; their ropes; the
// gate and up projections) meet in one level and are recorded without barriers between
// them. A counting sort over the levels kept in the nodes.
void sort_by_level(std::vector<Array>& order, uint64_t pass) {
  std::vector<size_t> per_level;
  for (const auto& node : order) {
    uint32_t l = 0;
    for (const auto& in : node.inputs()) {
      if (in.id()->schedule_pass == pass) l = std::max(l, in.id()->schedule_level + 1);
    }
    node.id()->schedule_level = l;
    if (l >= per_level.size()) per_level.resize(l + 1, 0);
    per_level[l] += 1;
  }
  // per_level[l] becomes the first position of level l.
  size_t next = 0;
  for (auto& count : per_level) next += std::exchange(count, next);
  std::vector<Array> sorted(order.size());
  for (auto& node : order) {
    const uint32_t l = node.id()->schedule_level;
    sorted[per_level[l]++] = std::move(node);
  }
  order = std::move(sorted);
}

const char* dump_target() {
  static const char* target = std::getenv("LAMINA_DUMP_GRAPH");
  return target;
}

}  // namespace

std::vector<Array> schedule(const std::vector<Array>& arrays) {
  const uint64_t pass = g_schedule_pass.fetch_add(1, std::memory_order_relaxed) + 1;
  std::vector<Array> order = topological_order(arrays, pass);
  if (level_order_wanted(order)) sort_by_level(order, pass);
  return order;
}

namespace {

// Runs the graph's kernels (a GPU's are recorded, not yet submitted).
void run_graph(const std::vector<Array>& arrays) {
  std::vector<Array> order = schedule(arrays);
  if (order.empty()) return;
  if (const char* target = dump_target(); target && *target) {
    if (std::string(target) == "1" || std::string(target) == "stderr") {
      print_graph(std::cerr, arrays);
    } else {
      std::ofstream f(target, std::ios::app);
      print_graph(f, arrays);
    }
  }
  for (auto& node : order) {
    if (!node.primitive()) throw Error("eval: unevaluated array without a primitive");
    for (const auto& in : node.inputs()) {
      if (!in.is_evaluated()) throw Error("eval: input not evaluated (graph corrupted)");
    }
    // The inputs move out of the node, so the kernel's handles are the only extra ones
    // (it may donate an input's buffer when nothing else holds it).
    auto primitive = node.primitive();
    std::vector<Array> inputs = node.detach();
    eval_primitive(*primitive, inputs, node);
    inputs.clear();
    node = Array();  // release our handle; consumers keep theirs
    g_evaluated.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace

void eval(const std::vector<Array>& arrays) {
  run_graph(arrays);
#ifdef LAMINA_HAS_VULKAN
  vulkan::flush_all();  // start the GPU on what this eval recorded; nothing waits here
#endif
}

void async_eval(const std::vector<Array>& arrays) {
  run_graph(arrays);
#ifdef LAMINA_HAS_VULKAN
  // The copies to host memory go into the same submission as the work that produces them.
  for (const auto& a : arrays) {
    if (a.valid()) vulkan::prefetch_to_host(a);
  }
  vulkan::flush_all();
#endif
}

uint64_t evaluated_node_count() { return g_evaluated.load(); }

void print_graph(std::ostream& os, const std::vector<Array>& arrays) {
  std::unordered_map<ArrayNode*, int> ids;
  std::vector<Array> nodes;
  // Collect every node (evaluated ones are printed as constants).
  std::vector<Array> stack(arrays.begin(), arrays.end());
  std::vector<Array> post;
  std::unordered_set<ArrayNode*> seen;
  struct Frame {
    Array a;
    size_t i;
  };
  std::vector<Frame> st;
  for (const auto& r : arrays) {
    if (!r.valid() || seen.count(r.id())) continue;
    seen.insert(r.id());
    st.push_back({r, 0});
    while (!st.empty()) {
      auto& f = st.back();
      if (f.i < f.a.inputs().size()) {
        const Array& in = f.a.inputs()[f.i++];
        if (!seen.count(in.id())) {
          seen.insert(in.id());
          st.push_back({in, 0});
        }
        continue;
      }
      post.push_back(f.a);
      st.pop_back();
    }
  }
  for (const auto& a : post) ids[a.id()] = static_cast<int>(ids.size());
  for (const auto& a : post) {
    os << "%" << ids[a.id()] << " = ";
    if (a.primitive()) {
      a.primitive()->print(os);
    } else {
      os << (a.is_evaluated() ? "Constant" : "Leaf");
    }
    os << "(";
    for (size_t i = 0; i < a.inputs().size(); ++i) {
      os << (i ? ", " : "") << "%" << ids[a.inputs()[i].id()];
    }
    os << ") : " << dtype_name(a.dtype()) << shape_string(a.shape()) << "\n";
  }
}

}  // namespace lamina::core
