// Reduction op builders and vjps.
#include "libcore/ops/reduce.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>

#include "libcore/ops/creation.h"
#include "libcore/ops/elementwise.h"
#include "libcore/ops/reduce_primitives.h"
#include "libcore/ops/views.h"

namespace lamina::core {

namespace {

std::vector<int> normalize_axes(std::vector<int> axes, int ndim) {
  if (axes.empty()) {
    axes.resize(ndim);
    std::iota(axes.begin(), axes.end(), 0);
  }
  for (auto& a : axes) a = normalize_axis(a, ndim);
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) {
    throw Error("reduction: repeated axis");
  }
  return axes;
}

Shape kept_shape(const Shape& shape, const std::vector<int>& axes) {
  Shape out(shape);
  for (int a : axes) out[a] = 1;
  return out;
}

Shape dropped_shape(const Shape& shape, const std::vector<int>& axes) {
  Shape out;
  for (int i = 0; i < static_cast<int>(shape.size()); ++i) {
    if (!std::binary_search(axes.begin(), axes.end(), i)) out.push_back(shape[i]);
  }
  return out;
}

Array reduce(const Array& a, Reduce::Type type, std::vector<int> axes, bool keepdims) {
  axes = normalize_axes(std::move(axes), a.ndim());
  Dtype dtype = a.dtype();
  if (type == Reduce::Type::sum || type == Reduce::Type::prod) {
    if (dtype == Dtype::bool_ || dtype == Dtype::int8 || dtype == Dtype::int16) dtype = Dtype::int32;
    if (dtype == Dtype::uint8 || dtype == Dtype::uint16) dtype = Dtype::uint32;
  }
  if ((type == Reduce::Type::max || type == Reduce::Type::min) && a.size() == 0) {
    throw Error("max/min of an empty array");
  }
  Array out(kept_shape(a.shape(), axes), dtype, std::make_shared<Reduce>(type, axes), {a});
  return keepdims ? out : reshape(out, dropped_shape(a.shape(), axes));
}

Array arg_reduce(const Array& a, ArgReduce::Type type, int axis, bool keepdims) {
  int ax = normalize_axis(axis, a.ndim());
  if (a.shape()[ax] == 0) throw Error("argmax/argmin along an empty axis");
  Array out(kept_shape(a.shape(), {ax}), Dtype::uint32, std::make_shared<ArgReduce>(type, ax), {a});
  return keepdims ? out : reshape(out, dropped_shape(a.shape(), {ax}));
}

}  // namespace

void Reduce::print(std::ostream& os) const {
  static const char* names[] = {"sum", "prod", "max", "min"};
  os << "Reduce(" << names[static_cast<int>(type_)] << ", axes=[";
  for (size_t i = 0; i < axes_.size(); ++i) os << (i ? ", " : "") << axes_[i];
  os << "])";
}

Array sum(const Array& a, std::vector<int> axes, bool keepdims) {
  return reduce(a, Reduce::Type::sum, std::move(axes), keepdims);
}
Array prod(const Array& a, std::vector<int> axes, bool keepdims) {
  return reduce(a, Reduce::Type::prod, std::move(axes), keepdims);
}
Array max(const Array& a, std::vector<int> axes, bool keepdims) {
  return reduce(a, Reduce::Type::max, std::move(axes), keepdims);
}
Array min(const Array& a, std::vector<int> axes, bool keepdims) {
  return reduce(a, Reduce::Type::min, std::move(axes), keepdims);
}

Array mean(const Array& a, std::vector<int> axes, bool keepdims) {
  axes = normalize_axes(std::move(axes), a.ndim());
  int64_t count = 1;
  for (int ax : axes) count *= a.shape()[ax];
  Array x = is_floating(a.dtype()) ? a : astype(a, Dtype::float32);
  return sum(x, axes, keepdims) / static_cast<double>(count);
}

Array var(const Array& a, std::vector<int> axes, bool keepdims, int ddof) {
  axes = normalize_axes(std::move(axes), a.ndim());
  int64_t count = 1;
  for (int ax : axes) count *= a.shape()[ax];
  Array x = is_floating(a.dtype()) ? a : astype(a, Dtype::float32);
  Array centered = x - mean(x, axes, true);
  return sum(square(centered), axes, keepdims) / static_cast<double>(std::max<int64_t>(count - ddof, 0));
}

Array logsumexp(const Array& a, std::vector<int> axes, bool keepdims) {
  axes = normalize_axes(std::move(axes), a.ndim());
  Array x = is_floating(a.dtype()) ? a : astype(a, Dtype::float32);
  Array m = stop_gradient(max(x, axes, true));
  // An all -inf slice has max -inf; use 0 there so that the result is -inf, not nan.
  m = where(equal(abs(m), scalar_like(HUGE_VAL, m)), zeros_like(m), m);
  Array out = log(sum(exp(x - m), axes, true)) + m;
  return keepdims ? out : reshape(out, dropped_shape(a.shape(), axes));
}

Array argmax(const Array& a, int axis, bool keepdims) {
  return arg_reduce(a, ArgReduce::Type::argmax, axis, keepdims);
}
Array argmin(const Array& a, int axis, bool keepdims) {
  return arg_reduce(a, ArgReduce::Type::argmin, axis, keepdims);
}
Array argmax(const Array& a) { return argmax(reshape(a, {-1}), 0); }
Array argmin(const Array& a) { return argmin(reshape(a, {-1}), 0); }

std::vector<Array> Reduce::vjp(const std::vector<Array>& inputs, const Array& g,
                               const std::vector<int>&, const Array& out) {
  const Array& x = inputs[0];
  Array gb = broadcast_to(g, x.shape());
  switch (type_) {
    case Type::sum:
      return {gb};
    case Type::prod:
      return {gb * broadcast_to(out, x.shape()) / x};
    case Type::max:
    case Type::min: {
      Array mask = astype(equal(x, broadcast_to(out, x.shape())), g.dtype());
      Array count = broadcast_to(sum(mask, axes_, true), x.shape());
      return {gb * mask / count};
    }
  }
  return {gb};
}

std::vector<Array> ArgReduce::vjp(const std::vector<Array>& inputs, const Array&,
                                  const std::vector<int>&, const Array&) {
  return {zeros_like(inputs[0])};
}

}  // namespace lamina::core
