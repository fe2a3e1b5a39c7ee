// CPU reductions: reduced axes are moved innermost (by strides, no copy) and collapsed;
// each output element accumulates its run in float32 (float types) or its own type.
#include <algorithm>
#include <limits>
#include <type_traits>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/strided_loop.h"
#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/reduce_primitives.h"

namespace lamina::core {

namespace {

struct SplitAxes {
  Shape outer_shape, inner_shape;
  Strides outer_strides, inner_strides;
};

SplitAxes split_axes(const Array& in, const std::vector<int>& axes) {
  SplitAxes s;
  for (int i = 0; i < in.ndim(); ++i) {
    bool reduced = std::find(axes.begin(), axes.end(), i) != axes.end();
    (reduced ? s.inner_shape : s.outer_shape).push_back(in.shape()[i]);
    (reduced ? s.inner_strides : s.outer_strides).push_back(in.strides()[i]);
  }
  return s;
}

// Element offset of row-major index `i` over shape/strides.
int64_t strided_offset(int64_t i, const Shape& shape, const Strides& strides) {
  int64_t off = 0;
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    off += (i % shape[d]) * strides[d];
    i /= shape[d];
  }
  return off;
}

template <typename Acc>
struct Reducer {
  Reduce::Type type;
  Acc init() const {
    switch (type) {
      case Reduce::Type::sum: return Acc(0);
      case Reduce::Type::prod: return Acc(1);
      case Reduce::Type::max:
        return std::numeric_limits<Acc>::has_infinity ? -std::numeric_limits<Acc>::infinity()
                                                      : std::numeric_limits<Acc>::lowest();
      case Reduce::Type::min:
        return std::numeric_limits<Acc>::has_infinity ? std::numeric_limits<Acc>::infinity()
                                                      : std::numeric_limits<Acc>::max();
    }
    return Acc(0);
  }
  template <typename T>
  Acc run(Acc acc, const T* p, int64_t n, int64_t stride) const {
    switch (type) {
      case Reduce::Type::sum:
        if (stride == 1) {
          for (int64_t i = 0; i < n; ++i) acc += static_cast<Acc>(p[i]);
        } else {
          for (int64_t i = 0; i < n; ++i) acc += static_cast<Acc>(p[i * stride]);
        }
        return acc;
      case Reduce::Type::prod:
        for (int64_t i = 0; i < n; ++i) acc *= static_cast<Acc>(p[i * stride]);
        return acc;
      case Reduce::Type::max:
        for (int64_t i = 0; i < n; ++i) {
          Acc v = static_cast<Acc>(p[i * stride]);
          if (v > acc || v != v) acc = v;
        }
        return acc;
      case Reduce::Type::min:
        for (int64_t i = 0; i < n; ++i) {
          Acc v = static_cast<Acc>(p[i * stride]);
          if (v < acc || v != v) acc = v;
        }
        return acc;
    }
    return acc;
  }
  Acc combine(Acc a, Acc b) const {
    switch (type) {
      case Reduce::Type::sum: return a + b;
      case Reduce::Type::prod: return a * b;
      case Reduce::Type::max: return (b > a || b != b) ? b : a;
      case Reduce::Type::min: return (b < a || b != b) ? b : a;
    }
    return a;
  }
};

// Floats accumulate in float32; integers in the output type (sums of small ints widen).
template <typename T, typename O>
using acc_t = std::conditional_t<
    std::is_floating_point_v<kernels::compute_t<T>> || std::is_floating_point_v<kernels::compute_t<O>>,
    float, std::conditional_t<std::is_same_v<O, bool>, int32_t, O>>;

}  // namespace

void Reduce::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& in = inputs[0];
  out.allocate();
  SplitAxes s = split_axes(in, axes_);
  int64_t n_out = out.size();
  int64_t n_in = shape_size(s.inner_shape);
  auto inner = kernels::collapse_dims<1>(s.inner_shape, {&s.inner_strides});
  dispatch_dtype(in.dtype(), [&](auto tin) {
    using T = decltype(tin);
    dispatch_dtype(out.dtype(), [&](auto tout) {
      using O = decltype(tout);
      using Acc = acc_t<T, O>;
      const T* src = in.data<T>();
      O* dst = out.data<O>();
      Reducer<Acc> r{type_};
      auto reduce_range = [&](const T* base, int64_t b, int64_t e) {
        Acc acc = r.init();
        if (n_in == 0) return acc;
        kernels::for_each_run<1>(inner, b, e, [&](const auto& off, int64_t n, const auto& st) {
          acc = r.run(acc, base + off[0], n, st[0]);
        });
        return acc;
      };
      if (n_out == 1 && n_in >= (1 << 16)) {
        // One output: split the reduced range over the threads.
        int nt = cpu::num_threads();
        std::vector<Acc> partial(nt, r.init());
        int64_t per = (n_in + nt - 1) / nt;
        cpu::parallel_for(nt, 1, [&](int64_t tb, int64_t te) {
          for (int64_t t = tb; t < te; ++t) {
            int64_t b = t * per, e = std::min(n_in, b + per);
            if (b < e) partial[t] = reduce_range(src, b, e);
          }
        });
        Acc acc = r.init();
        for (auto v : partial) acc = r.combine(acc, v);
        dst[0] = static_cast<O>(static_cast<kernels::compute_t<O>>(acc));
        return;
      }
      cpu::parallel_for(n_out, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(n_in, 1)),
                        [&](int64_t b, int64_t e) {
                          for (int64_t o = b; o < e; ++o) {
                            const T* base = src + strided_offset(o, s.outer_shape, s.outer_strides);
                            dst[o] = static_cast<O>(static_cast<kernels::compute_t<O>>(reduce_range(base, 0, n_in)));
                          }
                        });
    });
  });
}

void ArgReduce::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& in = inputs[0];
  out.allocate();
  SplitAxes s = split_axes(in, {axis_});
  int64_t n = in.shape()[axis_];
  int64_t stride = in.strides()[axis_];
  bool is_max = type_ == Type::argmax;
  dispatch_dtype(in.dtype(), [&](auto tin) {
    using T = decltype(tin);
    using C = kernels::compute_t<T>;
    const T* src = in.data<T>();
    uint32_t* dst = out.data<uint32_t>();
    cpu::parallel_for(out.size(), std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)),
                      [&](int64_t b, int64_t e) {
                        for (int64_t o = b; o < e; ++o) {
                          const T* p = src + strided_offset(o, s.outer_shape, s.outer_strides);
                          C best = static_cast<C>(p[0]);
                          uint32_t best_i = 0;
                          for (int64_t i = 1; i < n; ++i) {
                            C v = static_cast<C>(p[i * stride]);
                            if (best != best) break;  // NaN wins, first one
                            if (v != v || (is_max ? v > best : v < best)) {
                              best = v;
                              best_i = static_cast<uint32_t>(i);
                            }
                          }
                          dst[o] = best_i;
                        }
                      });
  });
}

}  // namespace lamina::core
