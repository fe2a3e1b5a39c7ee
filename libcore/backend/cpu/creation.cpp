// CPU evaluation of creation primitives.
#include <type_traits>

#include "libcore/ops/creation_primitives.h"

namespace lamina::core {

void Arange::eval_cpu(const std::vector<Array>&, Array& out) {
  out.allocate();
  dispatch_dtype(out.dtype(), [&](auto t) {
    using T = decltype(t);
    T* p = out.data<T>();
    for (int64_t i = 0; i < out.size(); ++i) {
      double v = start_ + static_cast<double>(i) * step_;
      if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
        p[i] = T(static_cast<float>(v));
      } else {
        p[i] = static_cast<T>(v);
      }
    }
  });
}

}  // namespace lamina::core
