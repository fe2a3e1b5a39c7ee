// vjps of the indexing primitives, written with the indexing ops themselves. Indices are
// not differentiable: their cotangent is zero.
#include <memory>

#include "libcore/ops/creation.h"
#include "libcore/ops/elementwise.h"
#include "libcore/ops/indexing.h"
#include "libcore/ops/indexing_primitives.h"
#include "libcore/ops/views.h"

namespace lamina::core {

namespace {

// For an assigning scatter with (possibly repeated) `indices` into an axis of size n: true
// at the index positions whose update survives (the last one to write each target), shaped
// to broadcast against take(g, indices, axis) of an array with `ndim` dims.
Array surviving_updates(const Array& indices, int64_t n, int axis, int ndim) {
  Array flat = reshape(indices, {-1});
  Array position = arange(flat.size(), Dtype::int64);
  Array last_writer = scatter(full({n}, -1.0, Dtype::int64), flat, position, 0);
  Array mask = equal(take(last_writer, flat, 0), position);
  Shape shape(static_cast<size_t>(axis), 1);
  shape.insert(shape.end(), indices.shape().begin(), indices.shape().end());
  shape.insert(shape.end(), static_cast<size_t>(ndim - axis - 1), 1);
  return reshape(mask, shape);
}

// The same for put_along_axis into `a_shape`: indices has a's shape except along axis.
Array surviving_values(const Array& indices, const Shape& a_shape, int axis) {
  Shape line(indices.ndim(), 1);
  line[axis] = indices.shape()[axis];
  Array position = broadcast_to(reshape(arange(line[axis], Dtype::int64), line), indices.shape());
  Array last_writer = put_along_axis(full(a_shape, -1.0, Dtype::int64), indices, position, axis);
  return equal(take_along_axis(last_writer, indices, axis), position);
}

Array masked(const Array& mask, const Array& g) { return where(mask, g, zeros({}, g.dtype())); }

}  // namespace

std::vector<Array> Concatenate::vjp(const std::vector<Array>& inputs, const Array& g,
                                    const std::vector<int>& argnums, const Array&) {
  std::vector<int64_t> offsets(inputs.size() + 1, 0);
  for (size_t k = 0; k < inputs.size(); ++k) offsets[k + 1] = offsets[k] + inputs[k].shape()[axis_];
  std::vector<Array> out;
  for (int k : argnums) out.push_back(slice_axis(g, axis_, offsets[k], offsets[k + 1]));
  return out;
}

std::vector<Array> Gather::vjp(const std::vector<Array>& inputs, const Array& g,
                               const std::vector<int>& argnums, const Array&) {
  const Array& a = inputs[0];
  const Array& indices = inputs[1];
  std::vector<Array> out;
  for (int k : argnums) {
    // Repeated indices each add their share of the gradient.
    out.push_back(k == 0 ? scatter_add(zeros_like(a), indices, g, axis_) : zeros_like(indices));
  }
  return out;
}

std::vector<Array> Scatter::vjp(const std::vector<Array>& inputs, const Array& g,
                                const std::vector<int>& argnums, const Array&) {
  const Array& a = inputs[0];
  const Array& indices = inputs[1];
  const bool assign = mode_ == ScatterMode::assign;
  std::vector<Array> out;
  for (int k : argnums) {
    if (k == 0) {
      // Overwritten entries of a do not reach the output.
      out.push_back(assign ? scatter(g, indices, zeros({}, g.dtype()), axis_) : g);
    } else if (k == 1) {
      out.push_back(zeros_like(indices));
    } else {
      Array taken = take(g, indices, axis_);
      out.push_back(assign ? masked(surviving_updates(indices, a.shape()[axis_], axis_, a.ndim()), taken)
                           : taken);
    }
  }
  return out;
}

std::vector<Array> GatherAlongAxis::vjp(const std::vector<Array>& inputs, const Array& g,
                                        const std::vector<int>& argnums, const Array&) {
  const Array& a = inputs[0];
  const Array& indices = inputs[1];
  std::vector<Array> out;
  for (int k : argnums) {
    out.push_back(k == 0 ? scatter_add_along_axis(zeros_like(a), indices, g, axis_)
                         : zeros_like(indices));
  }
  return out;
}

std::vector<Array> ScatterAlongAxis::vjp(const std::vector<Array>& inputs, const Array& g,
                                         const std::vector<int>& argnums, const Array&) {
  const Array& a = inputs[0];
  const Array& indices = inputs[1];
  const bool assign = mode_ == ScatterMode::assign;
  std::vector<Array> out;
  for (int k : argnums) {
    if (k == 0) {
      out.push_back(assign ? put_along_axis(g, indices, zeros({}, g.dtype()), axis_) : g);
    } else if (k == 1) {
      out.push_back(zeros_like(indices));
    } else {
      Array taken = take_along_axis(g, indices, axis_);
      out.push_back(assign ? masked(surviving_values(indices, a.shape(), axis_), taken) : taken);
    }
  }
  return out;
}

}  // namespace lamina::core
