// Array construction, element access and output allocation.
#include "libcore/array/array.h"

#include <cstring>
#include <utility>

#include "libcore/ops/primitive.h"
#include "libcore/transforms/eval.h"
#ifdef LAMINA_HAS_VULKAN
#include "libcore/backend/vulkan/transfer.h"
#endif

namespace lamina::core {

ArrayNode::~ArrayNode() {
  if (inputs.empty()) return;
  std::vector<Array> stack = std::move(inputs);
  while (!stack.empty()) {
    Array a = std::move(stack.back());
    stack.pop_back();
    if (a.valid() && a.use_count() == 1) {
      for (auto& in : a.id()->inputs) stack.push_back(std::move(in));
      a.id()->inputs.clear();
    }
  }
}

Array::Array(Shape shape, Dtype dtype, std::shared_ptr<Primitive> primitive,
             std::vector<Array> inputs)
    : node_(std::make_shared<ArrayNode>()) {
  node_->strides = row_major_strides(shape);
  node_->shape = std::move(shape);
  node_->dtype = dtype;
  node_->device = default_device();
  node_->primitive = std::move(primitive);
  node_->inputs = std::move(inputs);
}

void Array::init_leaf(Shape shape, Dtype dtype) {
  node_ = std::make_shared<ArrayNode>();
  node_->strides = row_major_strides(shape);
  node_->shape = std::move(shape);
  node_->dtype = dtype;
  node_->device = default_device();
  allocate();
}

Array::Array(float16_t value) {
  init_leaf({}, Dtype::float16);
  *data<float16_t>() = value;
}

Array::Array(bfloat16_t value) {
  init_leaf({}, Dtype::bfloat16);
  *data<bfloat16_t>() = value;
}

void Array::fill_from(const double* values, int64_t n) {
  dispatch_dtype(dtype(), [&](auto t) {
    using T = decltype(t);
    T* out = data<T>();
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
        out[i] = T(static_cast<float>(values[i]));
      } else {
        out[i] = static_cast<T>(values[i]);
      }
    }
  });
}

void Array::fill_from_int(const int64_t* values, int64_t n) {
  dispatch_dtype(dtype(), [&](auto t) {
    using T = decltype(t);
    T* out = data<T>();
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
        out[i] = T(static_cast<float>(values[i]));
      } else {
        out[i] = static_cast<T>(values[i]);
      }
    }
  });
}

Array Array::from_buffer(std::shared_ptr<Buffer> buffer, size_t offset, Shape shape,
                         Strides strides, Dtype dtype) {
  Array a;
  a.node_ = std::make_shared<ArrayNode>();
  a.node_->shape = std::move(shape);
  a.node_->dtype = dtype;
  a.node_->device = Device::cpu();
  a.set_data(std::move(buffer), offset, std::move(strides));
  return a;
}

Array Array::from_bytes(const void* bytes, Shape shape, Dtype dtype) {
  Array a;
  a.init_leaf(std::move(shape), dtype);
  if (a.nbytes() > 0) std::memcpy(a.raw_data(), bytes, a.nbytes());
  return a;
}

int64_t Array::shape(int axis) const { return node_->shape[normalize_axis(axis, ndim())]; }

void Array::eval() const { core::eval({*this}); }

void* Array::raw_data() const {
  if (!node_->buffer) throw Error("array data accessed before evaluation");
#ifdef LAMINA_HAS_VULKAN
  // The host reads an array that lives on a GPU: bring it back first.
  if (node_->buffer->data() == nullptr && node_->buffer->device().type == Device::Type::vulkan) {
    vulkan::move_to_host(*this);
  }
#endif
  return static_cast<char*>(node_->buffer->data()) + node_->offset;
}

void Array::allocate() {
  node_->strides = row_major_strides(node_->shape);
  node_->buffer = allocator::malloc(nbytes());
  node_->offset = 0;
}

void Array::set_data(std::shared_ptr<Buffer> buffer, size_t offset, Strides strides) {
  node_->buffer = std::move(buffer);
  node_->offset = offset;
  node_->strides = std::move(strides);
}

void Array::share(const Array& source, size_t offset, Strides strides) {
  set_data(source.buffer(), offset, std::move(strides));
}

std::vector<Array> Array::detach() {
  node_->primitive.reset();
  return std::exchange(node_->inputs, {});
}

double element_as_double(const Array& a, int64_t flat_index) {
  // Convert the row-major flat index into a strided element offset.
  int64_t offset = 0;
  int64_t rem = flat_index;
  for (int i = a.ndim() - 1; i >= 0; --i) {
    int64_t d = a.shape()[i];
    offset += (rem % d) * a.strides()[i];
    rem /= d;
  }
  return dispatch_dtype(a.dtype(), [&](auto t) -> double {
    using T = decltype(t);
    const T* p = a.data<T>();
    if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
      return static_cast<double>(static_cast<float>(p[offset]));
    } else {
      return static_cast<double>(p[offset]);
    }
  });
}

}  // namespace lamina::core
