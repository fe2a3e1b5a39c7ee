// CPU evaluation of the random primitives: each chunk of the pool computes its own range
// of stream words, so the output does not depend on how the work is split.
#include <algorithm>
#include <array>

#include "kernels/cpu/threefry.h"
#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/random_primitives.h"

namespace lamina::core {

namespace {

constexpr int64_t kGrain = 1 << 13;
constexpr int64_t kBlock = 256;  // words converted per stack buffer

// The key's two words (the key may be a strided view, e.g. a row of split's output).
std::array<uint32_t, 2> read_key(const Array& key) {
  const uint32_t* p = key.data<uint32_t>();
  return {p[0], p[key.strides()[0]]};
}

}  // namespace

void RandomBits::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  out.allocate();
  const auto k = read_key(inputs[0]);
  uint32_t* dst = out.data<uint32_t>();
  cpu::parallel_for(out.size(), kGrain, [&](int64_t b, int64_t e) {
    kernels::threefry_stream(k[0], k[1], b, e, dst + b);
  });
}

void RandomUnit::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  out.allocate();
  const auto k = read_key(inputs[0]);
  float* dst = out.data<float>();
  cpu::parallel_for(out.size(), kGrain, [&](int64_t b, int64_t e) {
    uint32_t words[kBlock];
    for (int64_t w = b; w < e; w += kBlock) {
      const int64_t end = std::min(e, w + kBlock);
      kernels::threefry_stream(k[0], k[1], w, end, words);
      for (int64_t i = w; i < end; ++i) dst[i] = kernels::unit_float(words[i - w]);
    }
  });
}

}  // namespace lamina::core
