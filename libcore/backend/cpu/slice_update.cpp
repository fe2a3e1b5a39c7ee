// CPU SliceUpdate: take over (or copy) the destination, then write the region (with a folded
// product or rope, computed first).
#include "libcore/backend/cpu/cpu_util.h"
#include "libcore/ops/slice_update_primitive.h"

namespace lamina::core {

void SliceUpdate::eval_cpu(const std::vector<Array>& inputs, Array& out) {
  const Array& dst = inputs[0];
  // A folded product first (its kernel into a temporary), then the rope's kernel, then
  // the copy below.
  Array upd = source_now(inputs, Device::cpu());
  if (rope_) {
    const std::vector<Array> rope_in = rope_inputs(inputs, upd);
    upd = Array(upd.shape(), upd.dtype(), rope_, rope_in);
    rope_->eval_cpu(rope_in, upd);
  }
  if (cpu::can_donate(dst, out)) {
    out.set_data(dst.buffer(), dst.offset(), row_major_strides(out.shape()));
  } else {
    out.allocate();
    cpu::copy_convert(dst, out);
  }
  if (upd.size() == 0) return;
  int64_t offset = 0;
  Strides strides(out.ndim());
  for (int i = 0; i < out.ndim(); ++i) {
    offset += start_[i] * out.strides()[i];
    strides[i] = out.strides()[i] * step_[i];
  }
  Array region = Array::from_buffer(out.buffer(), out.offset() + offset * out.itemsize(),
                                    upd.shape(), strides, out.dtype());
  cpu::copy_convert(upd, region);
}

}  // namespace lamina::core
