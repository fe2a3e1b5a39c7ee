// CPU evaluation of Softmax: each row along the axis is handed to the row kernel in
// float32 (contiguous float32 rows in place, others through a per-chunk scratch row),
// rows split over the pool.
#include <memory>
#include <vector>

#include "kernels/cpu/half_matmul.h"
#include "kernels/cpu/softmax.h"
#include "libcore/backend/cpu/cpu_util.h"
#include "libcore/backend/cpu/thread_pool.h"
#include "libcore/ops/softmax_primitive.h"

namespace lamina::core {

namespace {

// Element offset of row-major index i over shape/strides.
int64_t strided_offset(int64_t i, const Shape& shape, const Strides& strides) {
  int64_t off = 0;
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    off += (i % shape[d]) * strides[d];
    i /= shape[d];
  }
  return off;
}

}  // namespace

void Softmax::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& in = inputs[0];
  if (in.dtype() != Dtype::float32 && in.dtype() != Dtype::float16 &&
      in.dtype() != Dtype::bfloat16) {
    throw Error(std::string("softmax: unsupported dtype ") + dtype_name(in.dtype()));
  }
  // The output is row-major; a dead row-major input may be overwritten in place.
  cpu::prepare_output(out, inputs);
  if (out.size() == 0) return;
  const int64_t n = in.shape()[axis_];
  const int64_t in_step = in.strides()[axis_];
  const int64_t out_step = out.strides()[axis_];
  Shape outer_shape;
  Strides in_outer, out_outer;
  for (int d = 0; d < in.ndim(); ++d) {
    if (d == axis_) continue;
    outer_shape.push_back(in.shape()[d]);
    in_outer.push_back(in.strides()[d]);
    out_outer.push_back(out.strides()[d]);
  }
  const int64_t rows = out.size() / n;
  const Dtype dtype = in.dtype();
  const bool half = dtype != Dtype::float32;
  const auto half_type =
      dtype == Dtype::bfloat16 ? kernels::HalfType::bfloat16 : kernels::HalfType::float16;
  const int64_t grain = std::max<int64_t>(1, (1 << 14) / n);
  cpu::parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    std::unique_ptr<float[]> row;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t io = strided_offset(r, outer_shape, in_outer);
      const int64_t oo = strided_offset(r, outer_shape, out_outer);
      if (!half && in_step == 1 && out_step == 1) {
        kernels::softmax_row(in.data<float>() + io, out.data<float>() + oo, n);
        continue;
      }
      if (!row) row = std::make_unique_for_overwrite<float[]>(static_cast<size_t>(n));
      float* buf = row.get();
      if (half) {
        const uint16_t* src = in.data<uint16_t>() + io;
        if (in_step == 1) {
          kernels::half_to_float(half_type, src, buf, n);
        } else {
          for (int64_t i = 0; i < n; ++i) {
            kernels::half_to_float(half_type, src + i * in_step, buf + i, 1, kernels::Isa::scalar);
          }
        }
      } else {
        const float* src = in.data<float>() + io;
        for (int64_t i = 0; i < n; ++i) buf[i] = src[i * in_step];
      }
      kernels::softmax_row(buf, buf, n);
      if (half) {
        uint16_t* dst = out.data<uint16_t>() + oo;
        if (out_step == 1) {
          kernels::float_to_half(half_type, buf, dst, n);
        } else {
          for (int64_t i = 0; i < n; ++i) {
            kernels::float_to_half(half_type, buf + i, dst + i * out_step, 1, kernels::Isa::scalar);
          }
        }
      } else {
        float* dst = out.data<float>() + oo;
        for (int64_t i = 0; i < n; ++i) dst[i * out_step] = buf[i];
      }
    }
  });
}

}  // namespace lamina::core
