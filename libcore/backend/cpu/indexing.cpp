// CPU evaluation of the indexing primitives: operands are made row-major (copied when they
// are strided views), indices are read once into checked, non-negative int64, then the
// kernels in kernels/cpu/gather.h move the data over the pool.
#include <algorithm>
#include <string>
#include <type_traits>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gather.h"
#include "kernels/cpu/strided_loop.h"
#include "libcore/backend/cpu/cpu_util.h"
#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/indexing_primitives.h"

namespace lamina::core {

namespace {

constexpr int64_t kGrainBytes = 1 << 16;

// `in` itself when row-major, else a row-major copy (kernels index it as [outer, n, inner]).
Array row_major(const Array& in) {
  if (in.is_row_contiguous()) return in;
  Array copy(in.shape(), in.dtype(), nullptr, {});
  copy.allocate();
  cpu::copy_convert(in, copy);
  return copy;
}

int64_t product(const Shape& shape, int begin, int end) {
  int64_t p = 1;
  for (int i = begin; i < end; ++i) p *= shape[i];
  return p;
}

// The indices in row-major order, negative ones wrapped; throws on one outside [-n, n).
std::vector<int64_t> load_indices(const Array& indices, int64_t n, int axis, const char* op) {
  std::vector<int64_t> out(static_cast<size_t>(indices.size()));
  if (out.empty()) return out;
  auto bad = [&](const std::string& value) {
    return Error(std::string(op) + ": index " + value + " is out of range for axis " +
                 std::to_string(axis) + " with size " + std::to_string(n));
  };
  auto loop = kernels::collapse_dims<1>(indices.shape(), {&indices.strides()});
  dispatch_dtype(indices.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      const T* src = indices.data<T>();
      int64_t k = 0;
      kernels::for_each_run<1>(loop, 0, indices.size(), [&](const auto& off, int64_t count, const auto& st) {
        for (int64_t i = 0; i < count; ++i) {
          const T v = src[off[0] + i * st[0]];
          int64_t x;
          if constexpr (std::is_signed_v<T>) {
            x = static_cast<int64_t>(v);
            if (x < 0) x += n;
            if (x < 0 || x >= n) throw bad(std::to_string(v));
          } else {
            // Compared unsigned first: a uint64 above INT64_MAX must not wrap to negative.
            if (static_cast<uint64_t>(v) >= static_cast<uint64_t>(n)) throw bad(std::to_string(v));
            x = static_cast<int64_t>(v);
          }
          out[k++] = x;
        }
      });
    } else {
      throw Error(std::string(op) + ": indices must have an integer dtype");
    }
  });
  return out;
}

// Calls fn(U{}) with U an unsigned type of the given byte size (moves only copy bytes).
template <typename Fn>
void dispatch_bytes(int itemsize, Fn&& fn) {
  switch (itemsize) {
    case 1: fn(uint8_t{}); return;
    case 2: fn(uint16_t{}); return;
    case 4: fn(uint32_t{}); return;
    case 8: fn(uint64_t{}); return;
  }
  throw Error("indexing: unsupported element size " + std::to_string(itemsize));
}

// Calls fn(T{}, combine) with combine(old, update) -> new for the scatter mode. Additions of
// half types run in float32.
template <typename Fn>
void dispatch_combine(Dtype dtype, ScatterMode mode, Fn&& fn) {
  if (mode == ScatterMode::assign) {
    dispatch_bytes(size_of(dtype), [&](auto tag) {
      using U = decltype(tag);
      fn(U{}, [](U, U u) { return u; });
    });
    return;
  }
  dispatch_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      throw Error("scatter_add: cannot add to a bool array");
    } else {
      using C = kernels::compute_t<T>;
      fn(T{}, [](T d, T u) { return T(static_cast<C>(static_cast<C>(d) + static_cast<C>(u))); });
    }
  });
}

// out = a copy of `a` (a's buffer when it may be donated).
void copy_destination(const Array& a, Array& out) {
  if (cpu::can_donate(a, out)) {
    out.set_data(a.buffer(), a.offset(), row_major_strides(out.shape()));
  } else {
    out.allocate();
    cpu::copy_convert(a, out);
  }
}

int64_t grain_for(int64_t bytes_per_item) {
  return std::max<int64_t>(1, kGrainBytes / std::max<int64_t>(bytes_per_item, 1));
}

}  // namespace

void Concatenate::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  out.allocate();
  const int64_t axis_stride = out.strides()[axis_];
  int64_t start = 0;
  for (const auto& in : inputs) {
    Array region = Array::from_buffer(
        out.buffer(), out.offset() + static_cast<size_t>(start * axis_stride) * out.itemsize(),
        in.shape(), out.strides(), out.dtype());
    cpu::copy_convert(in, region);
    start += in.shape()[axis_];
  }
}

void Gather::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  out.allocate();
  const Array& a = inputs[0];
  const int64_t n = a.shape()[axis_];
  std::vector<int64_t> idx = load_indices(inputs[1], n, axis_, "take");
  if (out.size() == 0) return;
  Array src = row_major(a);
  const int64_t outer = product(a.shape(), 0, axis_);
  const int64_t m = static_cast<int64_t>(idx.size());
  const size_t row_bytes = static_cast<size_t>(product(a.shape(), axis_ + 1, a.ndim()) * a.itemsize());
  const char* s = static_cast<const char*>(src.raw_data());
  char* d = static_cast<char*>(out.raw_data());
  cpu::parallel_for(outer * m, grain_for(static_cast<int64_t>(row_bytes)), [&](int64_t b, int64_t e) {
    kernels::gather_rows(s, d, idx.data(), n, m, row_bytes, b, e);
  });
}

void Scatter::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& a = inputs[0];
  const int64_t n = a.shape()[axis_];
  std::vector<int64_t> idx =
      load_indices(inputs[1], n, axis_, mode_ == ScatterMode::add ? "scatter_add" : "scatter");
  copy_destination(a, out);
  if (idx.empty() || out.size() == 0) return;
  Array upd = row_major(inputs[2]);
  const int64_t outer = product(a.shape(), 0, axis_);
  const int64_t inner = product(a.shape(), axis_ + 1, a.ndim());
  const int64_t m = static_cast<int64_t>(idx.size());
  dispatch_combine(out.dtype(), mode_, [&](auto tag, auto combine) {
    using T = decltype(tag);
    T* dst = static_cast<T*>(out.raw_data());
    const T* src = static_cast<const T*>(upd.raw_data());
    // Split over [outer, inner] columns so that each column's updates run in order.
    cpu::parallel_for(outer * inner, grain_for(m * out.itemsize()), [&](int64_t b, int64_t e) {
      kernels::scatter_rows(dst, src, idx.data(), n, m, inner, b, e, combine);
    });
  });
}

void GatherAlongAxis::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  out.allocate();
  const Array& a = inputs[0];
  const int64_t n = a.shape()[axis_];
  std::vector<int64_t> idx = load_indices(inputs[1], n, axis_, "take_along_axis");
  if (out.size() == 0) return;
  Array src = row_major(a);
  const int64_t m = out.shape()[axis_];
  const int64_t inner = product(out.shape(), axis_ + 1, out.ndim());
  dispatch_bytes(out.itemsize(), [&](auto tag) {
    using U = decltype(tag);
    const U* s = static_cast<const U*>(src.raw_data());
    U* d = static_cast<U*>(out.raw_data());
    cpu::parallel_for(out.size(), grain_for(out.itemsize()), [&](int64_t b, int64_t e) {
      kernels::gather_along_axis(s, d, idx.data(), n, m, inner, b, e);
    });
  });
}

void ScatterAlongAxis::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& a = inputs[0];
  const int64_t n = a.shape()[axis_];
  std::vector<int64_t> idx = load_indices(
      inputs[1], n, axis_, mode_ == ScatterMode::add ? "scatter_add_along_axis" : "put_along_axis");
  copy_destination(a, out);
  if (idx.empty() || out.size() == 0) return;
  Array values = row_major(inputs[2]);
  const int64_t m = values.shape()[axis_];
  const int64_t outer = product(a.shape(), 0, axis_);
  const int64_t inner = product(a.shape(), axis_ + 1, a.ndim());
  dispatch_combine(out.dtype(), mode_, [&](auto tag, auto combine) {
    using T = decltype(tag);
    T* dst = static_cast<T*>(out.raw_data());
    const T* src = static_cast<const T*>(values.raw_data());
    cpu::parallel_for(outer * inner, grain_for(m * out.itemsize()), [&](int64_t b, int64_t e) {
      kernels::scatter_along_axis(dst, src, idx.data(), n, m, inner, b, e, combine);
    });
  });
}

}  // namespace lamina::core
