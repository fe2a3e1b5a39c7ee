// CPU evaluation of view primitives: views share the input buffer with new strides;
// AsType and Copy write a row-major buffer.
#include "libcore/backend/cpu/cpu_util.h"
#include "libcore/ops/view_primitives.h"

namespace lamina::core {

namespace {

// Strides for viewing `in` as `shape` without a copy, or empty when impossible.
// Groups of input dims that multiply to groups of output dims must each be contiguous.
bool reshape_strides(const Array& in, const Shape& shape, Strides& out) {
  const Shape& is = in.shape();
  const Strides& st = in.strides();
  out.assign(shape.size(), 0);
  size_t i = 0, o = 0;
  while (i < is.size() || o < shape.size()) {
    // Skip size-1 dims on both sides.
    if (i < is.size() && is[i] == 1) { ++i; continue; }
    if (o < shape.size() && shape[o] == 1) { out[o] = 0; ++o; continue; }
    if (i >= is.size() || o >= shape.size()) return false;
    size_t i0 = i, o0 = o;
    int64_t pi = is[i++], po = shape[o++];
    while (pi != po) {
      if (pi < po) {
        if (i >= is.size()) return false;
        pi *= is[i++];
      } else {
        if (o >= shape.size()) return false;
        po *= shape[o++];
      }
    }
    // Input dims [i0, i) must be contiguous with each other (ignoring size-1 dims).
    int64_t last_stride = -1, last_size = 1;
    for (size_t k = i; k-- > i0;) {
      if (is[k] == 1) continue;
      if (last_stride >= 0 && st[k] != last_stride * last_size) return false;
      last_stride = st[k];
      last_size = is[k];
    }
    // Innermost stride of the group.
    int64_t inner = 0;
    for (size_t k = i; k-- > i0;) {
      if (is[k] != 1) { inner = st[k]; break; }
    }
    int64_t acc = inner;
    for (size_t k = o; k-- > o0;) {
      out[k] = shape[k] == 1 ? 0 : acc;
      acc *= shape[k];
    }
  }
  return true;
}

}  // namespace

void Reshape::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& in = inputs[0];
  Strides strides;
  if (reshape_strides(in, out.shape(), strides)) {
    out.share(in, in.offset(), std::move(strides));
  } else {
    out.allocate();
    Array view = Array::from_buffer(out.buffer(), 0, in.shape(), row_major_strides(in.shape()),
                                    out.dtype());
    cpu::copy_convert(in, view);
  }
}

void Transpose::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& in = inputs[0];
  Strides strides(axes_.size());
  for (size_t i = 0; i < axes_.size(); ++i) strides[i] = in.strides()[axes_[i]];
  out.share(in, in.offset(), std::move(strides));
}

void Slice::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& in = inputs[0];
  int64_t offset = 0;
  Strides strides(in.ndim());
  for (int i = 0; i < in.ndim(); ++i) {
    if (out.shape()[i] > 0) offset += start_[i] * in.strides()[i];
    strides[i] = in.strides()[i] * step_[i];
  }
  out.share(in, in.offset() + static_cast<size_t>(offset) * in.itemsize(), std::move(strides));
}

void Broadcast::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& in = inputs[0];
  int lead = out.ndim() - in.ndim();
  Strides strides(out.ndim(), 0);
  for (int i = 0; i < in.ndim(); ++i) {
    strides[lead + i] = in.shape()[i] == 1 ? 0 : in.strides()[i];
  }
  out.share(in, in.offset(), std::move(strides));
}

void AsType::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  cpu::prepare_output(out, inputs);
  cpu::copy_convert(inputs[0], out);
}

void Copy::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  out.allocate();
  cpu::copy_convert(inputs[0], out);
}

void StopGradient::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  out.share(inputs[0], inputs[0].offset(), inputs[0].strides());
}

}  // namespace lamina::core
