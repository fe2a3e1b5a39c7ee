// CPU evaluation of the elementwise primitives: pick the output buffer (donating the
// input's when nothing else uses it), then run the kernel over the pool.
#include <type_traits>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/elementwise_ops.h"
#include "libcore/backend/cpu/cpu_util.h"
#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/elementwise_primitives.h"

namespace lamina::core {

namespace {

using kernels::compute_t;
constexpr int64_t kGrain = 1 << 14;

// Which element types an op is instantiated for.
enum class Types { floats, numbers, booleans };

template <Types kTypes, typename T>
constexpr bool supported() {
  if constexpr (kTypes == Types::booleans) return std::is_same_v<T, bool>;
  else if constexpr (kTypes == Types::floats) return std::is_floating_point_v<compute_t<T>>;
  else return !std::is_same_v<T, bool>;
}

template <Types kTypes, typename Op>
void unary(const std::vector<Array>& inputs, Array& out, Op op) {
  const Array& in = inputs[0];
  cpu::prepare_output(out, inputs);
  auto loop = kernels::collapse_dims<2>(out.shape(), {&in.strides(), &out.strides()});
  dispatch_dtype(in.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (supported<kTypes, T>()) {
      const T* src = in.data<T>();
      T* dst = out.data<T>();
      cpu::parallel_for(out.size(), kGrain, [&](int64_t b, int64_t e) {
        kernels::for_each_run<2>(loop, b, e, [&](const auto& off, int64_t n, const auto& st) {
          kernels::unary_run(src + off[0], st[0], dst + off[1], st[1], n, op);
        });
      });
    } else {
      throw Error(std::string("elementwise op does not support dtype ") + dtype_name(in.dtype()));
    }
  });
}

template <Types kTypes, typename Op>
void binary(const std::vector<Array>& inputs, Array& out, Op op) {
  const Array& a = inputs[0];
  const Array& b = inputs[1];
  cpu::prepare_output(out, inputs);
  auto loop = kernels::collapse_dims<3>(out.shape(), {&a.strides(), &b.strides(), &out.strides()});
  dispatch_dtype(a.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (supported<kTypes, T>()) {
      using R = decltype(op(compute_t<T>{}, compute_t<T>{}));
      using Out = std::conditional_t<std::is_same_v<R, bool>, bool, T>;
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      Out* po = out.data<Out>();
      cpu::parallel_for(out.size(), kGrain, [&](int64_t lo, int64_t hi) {
        kernels::for_each_run<3>(loop, lo, hi, [&](const auto& off, int64_t n, const auto& st) {
          kernels::binary_run(pa + off[0], st[0], pb + off[1], st[1], po + off[2], st[2], n, op);
        });
      });
    } else {
      throw Error(std::string("elementwise op does not support dtype ") + dtype_name(a.dtype()));
    }
  });
}

}  // namespace

#define LAMINA_UNARY_CPU(NAME, TYPES) \
  void NAME::eval_cpu(const std::vector<Array>& inputs, Array& out) { \
    unary<Types::TYPES>(inputs, out, kernels::ops::NAME{});          \
  }
#define LAMINA_BINARY_CPU(NAME, TYPES) \
  void NAME::eval_cpu(const std::vector<Array>& inputs, Array& out) { \
    binary<Types::TYPES>(inputs, out, kernels::ops::NAME{});         \
  }

LAMINA_UNARY_CPU(Negative, numbers)
LAMINA_UNARY_CPU(Abs, numbers)
LAMINA_UNARY_CPU(Exp, floats)
LAMINA_UNARY_CPU(Log, floats)
LAMINA_UNARY_CPU(Log1p, floats)
LAMINA_UNARY_CPU(Sqrt, floats)
LAMINA_UNARY_CPU(Rsqrt, floats)
LAMINA_UNARY_CPU(Square, numbers)
LAMINA_UNARY_CPU(Sin, floats)
LAMINA_UNARY_CPU(Cos, floats)
LAMINA_UNARY_CPU(Tanh, floats)
LAMINA_UNARY_CPU(Sigmoid, floats)
LAMINA_UNARY_CPU(Erf, floats)
LAMINA_UNARY_CPU(Silu, floats)
LAMINA_UNARY_CPU(Gelu, floats)
LAMINA_UNARY_CPU(GeluTanh, floats)
LAMINA_UNARY_CPU(Floor, numbers)
LAMINA_UNARY_CPU(Ceil, numbers)
LAMINA_UNARY_CPU(Round, numbers)
LAMINA_UNARY_CPU(Sign, numbers)
LAMINA_UNARY_CPU(LogicalNot, booleans)

LAMINA_BINARY_CPU(Add, numbers)
LAMINA_BINARY_CPU(Subtract, numbers)
LAMINA_BINARY_CPU(Multiply, numbers)
LAMINA_BINARY_CPU(Divide, numbers)
LAMINA_BINARY_CPU(Power, numbers)
LAMINA_BINARY_CPU(Maximum, numbers)
LAMINA_BINARY_CPU(Minimum, numbers)
LAMINA_BINARY_CPU(Equal, numbers)
LAMINA_BINARY_CPU(NotEqual, numbers)
LAMINA_BINARY_CPU(Less, numbers)
LAMINA_BINARY_CPU(LessEqual, numbers)
LAMINA_BINARY_CPU(Greater, numbers)
LAMINA_BINARY_CPU(GreaterEqual, numbers)
LAMINA_BINARY_CPU(LogicalAnd, booleans)
LAMINA_BINARY_CPU(LogicalOr, booleans)

void SiluMultiply::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  dispatch_dtype(out.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (supported<Types::floats, T>()) {
      binary<Types::floats>(inputs, out, kernels::ops::SiluMultiply<T>{});
    } else {
      throw Error(std::string("swiglu does not support dtype ") + dtype_name(out.dtype()));
    }
  });
}

void Select::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& c = inputs[0];
  const Array& a = inputs[1];
  const Array& b = inputs[2];
  cpu::prepare_output(out, inputs);
  auto loop = kernels::collapse_dims<4>(
      out.shape(), {&c.strides(), &a.strides(), &b.strides(), &out.strides()});
  dispatch_dtype(out.dtype(), [&](auto t) {
    using T = decltype(t);
    const bool* pc = c.data<bool>();
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    cpu::parallel_for(out.size(), kGrain, [&](int64_t lo, int64_t hi) {
      kernels::for_each_run<4>(loop, lo, hi, [&](const auto& off, int64_t n, const auto& st) {
        for (int64_t i = 0; i < n; ++i) {
          po[off[3] + i * st[3]] =
              pc[off[0] + i * st[0]] ? pa[off[1] + i * st[1]] : pb[off[2] + i * st[2]];
        }
      });
    });
  });
}

}  // namespace lamina::core
