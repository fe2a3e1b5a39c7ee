// View and dtype op builders.
#include "libcore/ops/views.h"

#include <algorithm>
#include <memory>
#include <numeric>
#include <sstream>

#include "libcore/ops/view_primitives.h"

namespace lamina::core {

void Transpose::print(std::ostream& os) const {
  os << "Transpose(";
  for (size_t i = 0; i < axes_.size(); ++i) os << (i ? ", " : "") << axes_[i];
  os << ")";
}

void Slice::print(std::ostream& os) const {
  os << "Slice(start=" << shape_string(start_) << ", step=" << shape_string(step_) << ")";
}

Array reshape(const Array& a, Shape shape) {
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw Error("reshape: more than one -1 in " + shape_string(shape));
      infer = static_cast<int>(i);
    } else if (shape[i] < 0) {
      throw Error("reshape: negative dimension in " + shape_string(shape));
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || a.size() % known != 0) {
      throw Error("reshape: cannot reshape " + shape_string(a.shape()) + " to " +
                  shape_string(shape));
    }
    shape[infer] = a.size() / known;
  }
  if (shape_size(shape) != a.size()) {
    throw Error("reshape: cannot reshape " + shape_string(a.shape()) + " to " + shape_string(shape));
  }
  if (shape == a.shape()) return a;
  return Array(std::move(shape), a.dtype(), std::make_shared<Reshape>(), {a});
}

Array transpose(const Array& a, std::vector<int> axes) {
  if (axes.empty()) {
    axes.resize(a.ndim());
    std::iota(axes.rbegin(), axes.rend(), 0);
  }
  if (static_cast<int>(axes.size()) != a.ndim()) {
    throw Error("transpose: " + std::to_string(axes.size()) + " axes for an array with " +
                std::to_string(a.ndim()) + " dimensions");
  }
  std::vector<bool> seen(a.ndim(), false);
  Shape shape(a.ndim());
  for (size_t i = 0; i < axes.size(); ++i) {
    axes[i] = normalize_axis(axes[i], a.ndim());
    if (seen[axes[i]]) throw Error("transpose: repeated axis");
    seen[axes[i]] = true;
    shape[i] = a.shape()[axes[i]];
  }
  bool identity = true;
  for (size_t i = 0; i < axes.size(); ++i) identity &= axes[i] == static_cast<int>(i);
  if (identity) return a;
  return Array(std::move(shape), a.dtype(), std::make_shared<Transpose>(axes), {a});
}

Array swapaxes(const Array& a, int axis1, int axis2) {
  std::vector<int> axes(a.ndim());
  std::iota(axes.begin(), axes.end(), 0);
  std::swap(axes[normalize_axis(axis1, a.ndim())], axes[normalize_axis(axis2, a.ndim())]);
  return transpose(a, axes);
}

Array moveaxis(const Array& a, int source, int destination) {
  int s = normalize_axis(source, a.ndim());
  int d = normalize_axis(destination, a.ndim());
  std::vector<int> axes;
  for (int i = 0; i < a.ndim(); ++i) {
    if (i != s) axes.push_back(i);
  }
  axes.insert(axes.begin() + d, s);
  return transpose(a, axes);
}

Array slice(const Array& a, Shape start, Shape stop, Shape step) {
  const int nd = a.ndim();
  if (step.empty()) step.assign(nd, 1);
  if (static_cast<int>(start.size()) != nd || static_cast<int>(stop.size()) != nd ||
      static_cast<int>(step.size()) != nd) {
    throw Error("slice: start/stop/step must have one entry per dimension");
  }
  Shape shape(nd);
  bool identity = true;
  for (int i = 0; i < nd; ++i) {
    int64_t n = a.shape()[i];
    if (step[i] <= 0) throw Error("slice: step must be positive");
    int64_t s = start[i] < 0 ? start[i] + n : start[i];
    int64_t e = stop[i] < 0 ? stop[i] + n : stop[i];
    s = std::clamp<int64_t>(s, 0, n);
    e = std::clamp<int64_t>(e, 0, n);
    start[i] = s;
    shape[i] = e > s ? (e - s + step[i] - 1) / step[i] : 0;
    identity &= s == 0 && shape[i] == n && step[i] == 1;
  }
  if (identity) return a;
  return Array(std::move(shape), a.dtype(), std::make_shared<Slice>(start, step), {a});
}

Array slice_axis(const Array& a, int axis, int64_t start, int64_t stop, int64_t step) {
  int ax = normalize_axis(axis, a.ndim());
  Shape s(a.ndim(), 0), e(a.shape()), st(a.ndim(), 1);
  s[ax] = start;
  e[ax] = stop;
  st[ax] = step;
  return slice(a, s, e, st);
}

Array broadcast_to(const Array& a, const Shape& shape) {
  if (a.shape() == shape) return a;
  if (broadcast_shapes(a.shape(), shape) != shape) {
    throw Error("broadcast_to: cannot broadcast " + shape_string(a.shape()) + " to " +
                shape_string(shape));
  }
  return Array(shape, a.dtype(), std::make_shared<Broadcast>(), {a});
}

std::vector<Array> broadcast_arrays(const std::vector<Array>& arrays) {
  Shape shape;
  for (const auto& a : arrays) shape = broadcast_shapes(shape, a.shape());
  std::vector<Array> out;
  out.reserve(arrays.size());
  for (const auto& a : arrays) out.push_back(broadcast_to(a, shape));
  return out;
}

Array expand_dims(const Array& a, int axis) { return expand_dims(a, std::vector<int>{axis}); }

Array expand_dims(const Array& a, std::vector<int> axes) {
  int nd = a.ndim() + static_cast<int>(axes.size());
  for (auto& ax : axes) ax = normalize_axis(ax, nd);
  std::sort(axes.begin(), axes.end());
  Shape shape(a.shape());
  for (int ax : axes) shape.insert(shape.begin() + ax, 1);
  return reshape(a, shape);
}

Array squeeze(const Array& a, std::vector<int> axes) {
  Shape shape;
  if (axes.empty()) {
    for (auto d : a.shape()) {
      if (d != 1) shape.push_back(d);
    }
  } else {
    std::vector<bool> drop(a.ndim(), false);
    for (int ax : axes) {
      int n = normalize_axis(ax, a.ndim());
      if (a.shape()[n] != 1) throw Error("squeeze: axis " + std::to_string(ax) + " is not size 1");
      drop[n] = true;
    }
    for (int i = 0; i < a.ndim(); ++i) {
      if (!drop[i]) shape.push_back(a.shape()[i]);
    }
  }
  return reshape(a, shape);
}

Array flatten(const Array& a, int start_axis, int end_axis) {
  if (a.ndim() == 0) return reshape(a, {1});
  int s = normalize_axis(start_axis, a.ndim());
  int e = normalize_axis(end_axis, a.ndim());
  Shape shape(a.shape().begin(), a.shape().begin() + s);
  int64_t merged = 1;
  for (int i = s; i <= e; ++i) merged *= a.shape()[i];
  shape.push_back(merged);
  shape.insert(shape.end(), a.shape().begin() + e + 1, a.shape().end());
  return reshape(a, shape);
}

Array astype(const Array& a, Dtype dtype) {
  if (a.dtype() == dtype) return a;
  return Array(a.shape(), dtype, std::make_shared<AsType>(), {a});
}

Array contiguous(const Array& a) {
  if (a.is_evaluated() && a.is_row_contiguous()) return a;
  return Array(a.shape(), a.dtype(), std::make_shared<Copy>(), {a});
}

Array copy(const Array& a) { return Array(a.shape(), a.dtype(), std::make_shared<Copy>(), {a}); }

Array stop_gradient(const Array& a) {
  return Array(a.shape(), a.dtype(), std::make_shared<StopGradient>(), {a});
}

}  // namespace lamina::core
