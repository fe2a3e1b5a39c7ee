// CPU evaluation of CrossEntropy and CrossEntropyGrad: targets are read and range-checked
// once, then logits rows are processed over the thread pool.
#include "kernels/cpu/cross_entropy.h"

#include <algorithm>
#include <string>
#include <vector>

#include "libcore/backend/cpu/fast_rows.h"
#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/fast_primitives.h"

namespace lamina::core {

namespace {

// Returns the targets in row-major order, each checked to lie in [0, vocab).
std::vector<int64_t> load_targets(const Array& targets, int64_t vocab) {
  std::vector<int64_t> t(static_cast<size_t>(targets.size()));
  for (int64_t i = 0; i < targets.size(); ++i) {
    double v = element_as_double(targets, i);
    if (!(v >= 0 && v < static_cast<double>(vocab))) {
      throw Error("cross_entropy: target " + std::to_string(static_cast<int64_t>(v)) +
                  " at position " + std::to_string(i) + " is outside the vocabulary [0, " +
                  std::to_string(vocab) + ")");
    }
    t[i] = static_cast<int64_t>(v);
  }
  return t;
}

}  // namespace

void CrossEntropy::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& logits = inputs[0];
  out.allocate();
  if (out.size() == 0) return;
  const int64_t vocab = logits.shape(-1);
  std::vector<int64_t> targets = load_targets(inputs[1], vocab);
  cpu::RowLayout layout(logits);
  float* loss = out.data<float>();
  cpu::parallel_for(out.size(), std::max<int64_t>(1, (1 << 14) / vocab), [&](int64_t b, int64_t e) {
    std::vector<float> row(static_cast<size_t>(2 * vocab));
    for (int64_t r = b; r < e; ++r) {
      cpu::load_row(logits, layout, r, row.data());
      loss[r] = kernels::cross_entropy_row(row.data(), vocab, targets[r], row.data() + vocab);
    }
  });
}

void CrossEntropyGrad::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const int64_t vocab = inputs[0].shape(-1);
  std::vector<int64_t> targets = load_targets(inputs[1], vocab);
  std::vector<float> g = cpu::load_all(inputs[2]);
  cpu::map_rows(inputs, {0}, out, [&](const float* x, float* dx, int64_t n, int64_t r) {
    kernels::cross_entropy_grad_row(x, n, targets[r], g[r], dx);
  });
}

}  // namespace lamina::core
