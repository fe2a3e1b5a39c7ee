// Indexing op builders: check shapes and index dtypes, cast and broadcast the operands,
// then add one primitive node (or compose views and existing ops where that is enough).
#include "libcore/ops/indexing.h"

#include <memory>
#include <string>

#include "libcore/ops/creation.h"
#include "libcore/ops/elementwise.h"
#include "libcore/ops/indexing_primitives.h"
#include "libcore/ops/slice_update.h"
#include "libcore/ops/views.h"

namespace lamina::core {

namespace {

void check_indices(const Array& indices, const char* op) {
  if (!is_integral(indices.dtype())) {
    throw Error(std::string(op) + ": indices must have an integer dtype, got " +
                dtype_name(indices.dtype()));
  }
}

int indexed_axis(const Array& a, int axis, const char* op) {
  if (a.ndim() == 0) throw Error(std::string(op) + ": cannot index a scalar");
  return normalize_axis(axis, a.ndim());
}

// a.shape[:axis] + indices.shape + a.shape[axis+1:]: the shape take returns.
Shape take_shape(const Array& a, const Array& indices, int axis) {
  Shape shape(a.shape().begin(), a.shape().begin() + axis);
  shape.insert(shape.end(), indices.shape().begin(), indices.shape().end());
  shape.insert(shape.end(), a.shape().begin() + axis + 1, a.shape().end());
  return shape;
}

// `x` broadcast to `shape`, with an error that names the op and the operand.
Array broadcast_operand(const Array& x, const Shape& shape, const char* op, const char* what) {
  bool ok = true;
  try {
    ok = broadcast_shapes(x.shape(), shape) == shape;
  } catch (const Error&) {
    ok = false;
  }
  if (!ok) {
    throw Error(std::string(op) + ": " + what + " of shape " + shape_string(x.shape()) +
                " do not broadcast to " + shape_string(shape));
  }
  return broadcast_to(x, shape);
}

Array scatter_node(const Array& a, const Array& indices, const Array& updates, int axis,
                   ScatterMode mode, const char* op) {
  check_indices(indices, op);
  int ax = indexed_axis(a, axis, op);
  if (mode == ScatterMode::add && a.dtype() == Dtype::bool_) {
    throw Error(std::string(op) + ": cannot add to a bool array");
  }
  Array upd = broadcast_operand(astype(updates, a.dtype()), take_shape(a, indices, ax), op,
                                "updates");
  return Array(a.shape(), a.dtype(), std::make_shared<Scatter>(ax, mode), {a, indices, upd});
}

Array scatter_along_axis_node(const Array& a, const Array& indices, const Array& values, int axis,
                              ScatterMode mode, const char* op) {
  check_indices(indices, op);
  int ax = indexed_axis(a, axis, op);
  if (indices.ndim() != a.ndim()) {
    throw Error(std::string(op) + ": indices have " + std::to_string(indices.ndim()) +
                " dimensions but the array has " + std::to_string(a.ndim()));
  }
  if (mode == ScatterMode::add && a.dtype() == Dtype::bool_) {
    throw Error(std::string(op) + ": cannot add to a bool array");
  }
  Shape index_shape = a.shape();
  index_shape[ax] = indices.shape()[ax];
  Array idx = broadcast_operand(indices, index_shape, op, "indices");
  Array val = broadcast_operand(astype(values, a.dtype()), index_shape, op, "values");
  return Array(a.shape(), a.dtype(), std::make_shared<ScatterAlongAxis>(ax, mode), {a, idx, val});
}

// True where column - row <= k (lower) or >= k (upper), over the last two axes of `a`.
Array triangle_mask(const Array& a, int k, bool lower) {
  if (a.ndim() < 2) throw Error("tril/triu: need at least 2 dimensions, got " + shape_string(a.shape()));
  const int64_t rows = a.shape()[a.ndim() - 2], cols = a.shape()[a.ndim() - 1];
  Array r = reshape(arange(rows, Dtype::int64), {rows, 1});
  Array c = reshape(arange(cols, Dtype::int64), {1, cols});
  Array shifted = add(r, Array(static_cast<int64_t>(k)));
  return lower ? less_equal(c, shifted) : greater_equal(c, shifted);
}

const char* mode_name(ScatterMode mode) { return mode == ScatterMode::add ? "add" : "assign"; }

}  // namespace

void Scatter::print(std::ostream& os) const {
  os << "Scatter(" << axis_ << ", " << mode_name(mode_) << ")";
}

void ScatterAlongAxis::print(std::ostream& os) const {
  os << "ScatterAlongAxis(" << axis_ << ", " << mode_name(mode_) << ")";
}

Array concatenate(const std::vector<Array>& arrays, int axis) {
  if (arrays.empty()) throw Error("concatenate: no arrays given");
  const Array& first = arrays[0];
  if (first.ndim() == 0) throw Error("concatenate: cannot join scalars (use stack)");
  const int ax = normalize_axis(axis, first.ndim());
  Shape shape = first.shape();
  shape[ax] = 0;
  Dtype dtype = first.dtype();
  for (const auto& a : arrays) {
    bool match = a.ndim() == first.ndim();
    for (int i = 0; match && i < a.ndim(); ++i) match = i == ax || a.shape()[i] == first.shape()[i];
    if (!match) {
      throw Error("concatenate: shape " + shape_string(a.shape()) + " does not match " +
                  shape_string(first.shape()) + " outside axis " + std::to_string(ax));
    }
    shape[ax] += a.shape()[ax];
    dtype = promote_types(dtype, a.dtype());
  }
  if (arrays.size() == 1) return astype(first, dtype);
  std::vector<Array> inputs;
  inputs.reserve(arrays.size());
  for (const auto& a : arrays) inputs.push_back(astype(a, dtype));
  return Array(std::move(shape), dtype, std::make_shared<Concatenate>(ax), std::move(inputs));
}

Array stack(const std::vector<Array>& arrays, int axis) {
  if (arrays.empty()) throw Error("stack: no arrays given");
  const int ax = normalize_axis(axis, arrays[0].ndim() + 1);
  std::vector<Array> expanded;
  expanded.reserve(arrays.size());
  for (const auto& a : arrays) {
    if (a.shape() != arrays[0].shape()) {
      throw Error("stack: shape " + shape_string(a.shape()) + " does not match " +
                  shape_string(arrays[0].shape()));
    }
    expanded.push_back(expand_dims(a, ax));
  }
  return concatenate(expanded, ax);
}

std::vector<Array> split(const Array& a, int num_sections, int axis) {
  const int ax = indexed_axis(a, axis, "split");
  const int64_t n = a.shape()[ax];
  if (num_sections <= 0 || n % num_sections != 0) {
    throw Error("split: an axis of size " + std::to_string(n) + " does not split into " +
                std::to_string(num_sections) + " equal sections");
  }
  const int64_t step = n / num_sections;
  std::vector<Array> out;
  for (int s = 0; s < num_sections; ++s) out.push_back(slice_axis(a, ax, s * step, (s + 1) * step));
  return out;
}

std::vector<Array> split(const Array& a, const Shape& indices, int axis) {
  const int ax = indexed_axis(a, axis, "split");
  std::vector<Array> out;
  int64_t start = 0;
  for (int64_t stop : indices) {
    out.push_back(slice_axis(a, ax, start, stop));
    start = stop;
  }
  out.push_back(slice_axis(a, ax, start, a.shape()[ax]));
  return out;
}

Array pad(const Array& a, const std::vector<std::pair<int64_t, int64_t>>& widths, double value) {
  const int nd = a.ndim();
  std::vector<std::pair<int64_t, int64_t>> w = widths;
  if (w.size() == 1) w.assign(nd, widths[0]);
  if (static_cast<int>(w.size()) != nd) {
    throw Error("pad: " + std::to_string(widths.size()) + " (before, after) pairs for an array with " +
                std::to_string(nd) + " dimensions");
  }
  Shape shape = a.shape(), start(nd), stop(nd);
  bool identity = true;
  for (int i = 0; i < nd; ++i) {
    if (w[i].first < 0 || w[i].second < 0) throw Error("pad: widths must not be negative");
    shape[i] += w[i].first + w[i].second;
    start[i] = w[i].first;
    stop[i] = w[i].first + a.shape()[i];
    identity &= w[i].first == 0 && w[i].second == 0;
  }
  if (identity) return a;
  // A filled array with `a` written into its middle: SliceUpdate's vjp slices the gradient.
  return slice_update(full(shape, value, a.dtype()), a, start, stop);
}

Array take(const Array& a, const Array& indices, int axis) {
  check_indices(indices, "take");
  const int ax = indexed_axis(a, axis, "take");
  return Array(take_shape(a, indices, ax), a.dtype(), std::make_shared<Gather>(ax), {a, indices});
}

Array take(const Array& a, const Array& indices) { return take(reshape(a, {-1}), indices, 0); }

Array gather(const Array& a, const Array& indices, int axis) { return take(a, indices, axis); }

Array scatter(const Array& a, const Array& indices, const Array& updates, int axis) {
  return scatter_node(a, indices, updates, axis, ScatterMode::assign, "scatter");
}

Array scatter_add(const Array& a, const Array& indices, const Array& updates, int axis) {
  return scatter_node(a, indices, updates, axis, ScatterMode::add, "scatter_add");
}

Array take_along_axis(const Array& a, const Array& indices, int axis) {
  check_indices(indices, "take_along_axis");
  const int ax = indexed_axis(a, axis, "take_along_axis");
  if (indices.ndim() != a.ndim()) {
    throw Error("take_along_axis: indices have " + std::to_string(indices.ndim()) +
                " dimensions but the array has " + std::to_string(a.ndim()));
  }
  // Broadcast the two against each other everywhere but the indexed axis.
  Shape sa = a.shape(), si = indices.shape();
  sa[ax] = 1;
  si[ax] = 1;
  Shape common = broadcast_shapes(sa, si);
  Shape a_shape = common, index_shape = common;
  a_shape[ax] = a.shape()[ax];
  index_shape[ax] = indices.shape()[ax];
  Array ab = broadcast_to(a, a_shape);
  Array ib = broadcast_to(indices, index_shape);
  return Array(index_shape, a.dtype(), std::make_shared<GatherAlongAxis>(ax), {ab, ib});
}

Array put_along_axis(const Array& a, const Array& indices, const Array& values, int axis) {
  return scatter_along_axis_node(a, indices, values, axis, ScatterMode::assign, "put_along_axis");
}

Array scatter_add_along_axis(const Array& a, const Array& indices, const Array& values, int axis) {
  return scatter_along_axis_node(a, indices, values, axis, ScatterMode::add,
                                 "scatter_add_along_axis");
}

Array tril(const Array& a, int k) { return where(triangle_mask(a, k, true), a, zeros_like(a)); }

Array triu(const Array& a, int k) { return where(triangle_mask(a, k, false), a, zeros_like(a)); }

}  // namespace lamina::core
