// Array: a cheap handle to a node of the lazy graph (shape, strides, dtype, the primitive
// that computes it and its inputs) and, once evaluated, the buffer holding its elements.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "libcore/array/buffer.h"
#include "libcore/array/device.h"
#include "libcore/array/dtype.h"
#include "libcore/array/shape.h"
#include "libcore/error.h"

namespace lamina::core {

class Primitive;
class Array;

struct ArrayNode {
  Shape shape;
  Strides strides;
  Dtype dtype = Dtype::float32;
  Device device;
  std::shared_ptr<Primitive> primitive;  // null once evaluated (or for a leaf)
  std::vector<Array> inputs;             // cleared once evaluated
  std::shared_ptr<Buffer> buffer;        // set once evaluated
  size_t offset = 0;                     // bytes from buffer->data() to element 0
  // The scheduler's scratch words (transforms/eval.cpp): the pass that last visited the
  // node and the level it gave it. Meaningless outside one schedule() call.
  uint64_t schedule_pass = 0;
  uint32_t schedule_level = 0;
  ArrayNode() = default;
  ArrayNode(const ArrayNode&) = delete;
  ArrayNode& operator=(const ArrayNode&) = delete;
  // Releases the input chain iteratively: a long unevaluated graph must not recurse.
  ~ArrayNode();
};

class Array {
 public:
  Array() = default;
  // A lazy node: `primitive` applied to `inputs` gives an array of this shape and dtype.
  Array(Shape shape, Dtype dtype, std::shared_ptr<Primitive> primitive,
        std::vector<Array> inputs);
  // A scalar holding value (converted to dtype).
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
  explicit Array(T value, Dtype dtype = dtype_of_scalar<T>());
  // A float16/bfloat16 scalar.
  explicit Array(float16_t value);
  explicit Array(bfloat16_t value);
  // An array of the given shape from values (converted to dtype).
  template <typename T>
  Array(const std::vector<T>& values, Shape shape, Dtype dtype = dtype_of_scalar<T>());
  // An evaluated array that views `buffer` at byte `offset` with the given strides.
  static Array from_buffer(std::shared_ptr<Buffer> buffer, size_t offset, Shape shape,
                           Strides strides, Dtype dtype);
  // An evaluated row-major array holding a copy of `bytes` (shape_size * size_of bytes).
  static Array from_bytes(const void* bytes, Shape shape, Dtype dtype);

  bool valid() const { return node_ != nullptr; }
  const Shape& shape() const { return node_->shape; }
  int64_t shape(int axis) const;
  int ndim() const { return static_cast<int>(node_->shape.size()); }
  int64_t size() const { return shape_size(node_->shape); }
  Dtype dtype() const { return node_->dtype; }
  int itemsize() const { return size_of(node_->dtype); }
  size_t nbytes() const { return static_cast<size_t>(size()) * itemsize(); }
  const Strides& strides() const { return node_->strides; }
  Device device() const { return node_->device; }
  bool is_evaluated() const { return node_->buffer != nullptr; }
  bool is_row_contiguous() const { return core::is_row_contiguous(shape(), strides()); }

  // Graph structure (empty/null once evaluated).
  const std::shared_ptr<Primitive>& primitive() const { return node_->primitive; }
  const std::vector<Array>& inputs() const { return node_->inputs; }
  // A stable identity for this node (used by eval, vjp and graph dumps).
  ArrayNode* id() const { return node_.get(); }
  long use_count() const { return node_.use_count(); }

  // Evaluates this array (and what it depends on).
  void eval() const;

  // Raw element access; the array must be evaluated. Element i along axis k is at
  // data<T>()[sum(index_k * strides[k])].
  template <typename T>
  T* data() const {
    return reinterpret_cast<T*>(raw_data());
  }
  void* raw_data() const;
  const std::shared_ptr<Buffer>& buffer() const { return node_->buffer; }
  size_t offset() const { return node_->offset; }

  // Evaluates and returns element 0 (of a size-1 array) converted to T.
  template <typename T>
  T item() const;
  // Evaluates and returns all elements in row-major order, converted to T.
  template <typename T>
  std::vector<T> to_vector() const;

  // For primitives: set the output's data. allocate() gives a fresh row-major buffer;
  // share() makes this array a view into another evaluated array's buffer.
  void allocate();
  void set_data(std::shared_ptr<Buffer> buffer, size_t offset, Strides strides);
  void share(const Array& source, size_t offset, Strides strides);
  // Drops the primitive and hands back the inputs (moved out, not copied) once
  // evaluated, so that intermediates can be freed.
  std::vector<Array> detach();
  // Moves the node onto another device record (used by the scheduler and by `to`).
  void set_device(const Device& d) { node_->device = d; }

  template <typename T>
  static constexpr Dtype dtype_of_scalar() {
    if constexpr (std::is_same_v<T, bool>) return Dtype::bool_;
    else if constexpr (std::is_same_v<T, double>) return Dtype::float32;
    else if constexpr (std::is_same_v<T, long> || std::is_same_v<T, long long>) return Dtype::int64;
    else if constexpr (std::is_same_v<T, unsigned long> || std::is_same_v<T, unsigned long long>) return Dtype::uint64;
    else return dtype_of<T>::value;
  }

 private:
  std::shared_ptr<ArrayNode> node_;
  void init_leaf(Shape shape, Dtype dtype);
  void fill_from(const double* values, int64_t n);
  void fill_from_int(const int64_t* values, int64_t n);
  std::vector<double> to_doubles() const;
};

// Reads element `flat_index` (row-major over the logical shape) as double.
double element_as_double(const Array& a, int64_t flat_index);

// ---- template definitions ----

template <typename T, typename>
Array::Array(T value, Dtype dtype) {
  init_leaf({}, dtype);
  if constexpr (std::is_floating_point_v<T>) {
    double v = static_cast<double>(value);
    fill_from(&v, 1);
  } else {
    int64_t v = static_cast<int64_t>(value);
    fill_from_int(&v, 1);
  }
}

template <typename T>
Array::Array(const std::vector<T>& values, Shape shape, Dtype dtype) {
  if (static_cast<int64_t>(values.size()) != shape_size(shape)) {
    throw Error("array: " + std::to_string(values.size()) + " values do not fill shape " +
                shape_string(shape));
  }
  init_leaf(std::move(shape), dtype);
  if constexpr (std::is_floating_point_v<T> || std::is_same_v<T, float16_t> ||
                std::is_same_v<T, bfloat16_t>) {
    std::vector<double> v(values.begin(), values.end());
    fill_from(v.data(), static_cast<int64_t>(v.size()));
  } else {
    std::vector<int64_t> v(values.size());
    for (size_t i = 0; i < values.size(); ++i) v[i] = static_cast<int64_t>(values[i]);
    fill_from_int(v.data(), static_cast<int64_t>(v.size()));
  }
}

template <typename T>
T Array::item() const {
  eval();
  if (size() != 1) throw Error("item() needs an array of size 1, got " + shape_string(shape()));
  return static_cast<T>(element_as_double(*this, 0));
}

template <typename T>
std::vector<T> Array::to_vector() const {
  eval();
  std::vector<T> out(static_cast<size_t>(size()));
  for (int64_t i = 0; i < size(); ++i) out[i] = static_cast<T>(element_as_double(*this, i));
  return out;
}

}  // namespace lamina::core
