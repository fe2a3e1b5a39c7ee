// Creation op builders and the Arange primitive.
#include "libcore/ops/creation.h"

#include <cmath>
#include <memory>

#include "libcore/ops/creation_primitives.h"
#include "libcore/ops/views.h"

namespace lamina::core {

Array full(const Shape& shape, double value, Dtype dtype) {
  return broadcast_to(Array(value, dtype), shape);
}

Array full(const Shape& shape, const Array& value) { return broadcast_to(value, shape); }

Array zeros(const Shape& shape, Dtype dtype) { return full(shape, 0.0, dtype); }
Array ones(const Shape& shape, Dtype dtype) { return full(shape, 1.0, dtype); }
Array zeros_like(const Array& a) { return zeros(a.shape(), a.dtype()); }
Array ones_like(const Array& a) { return ones(a.shape(), a.dtype()); }

Array arange(double start, double stop, double step, Dtype dtype) {
  if (step == 0) throw Error("arange: step must not be zero");
  double n = std::ceil((stop - start) / step);
  int64_t count = n > 0 ? static_cast<int64_t>(n) : 0;
  return Array({count}, dtype, std::make_shared<Arange>(start, step), {});
}

Array arange(int64_t stop, Dtype dtype) { return arange(0.0, static_cast<double>(stop), 1.0, dtype); }

}  // namespace lamina::core
