// slice_update builder, vjp, and the vjps of the view primitives (which need it).
#include "libcore/ops/slice_update.h"

#include <algorithm>
#include <memory>

#include "libcore/ops/creation.h"
#include "libcore/ops/elementwise.h"
#include "libcore/ops/reduce.h"
#include "libcore/ops/slice_update_primitive.h"
#include "libcore/ops/view_primitives.h"
#include "libcore/ops/views.h"
#include "quant/quantized_primitives.h"

namespace lamina::core {

Array slice_update(const Array& dst, const Array& update, Shape start, Shape stop, Shape step) {
  const int nd = dst.ndim();
  if (step.empty()) step.assign(nd, 1);
  if (static_cast<int>(start.size()) != nd || static_cast<int>(stop.size()) != nd ||
      static_cast<int>(step.size()) != nd) {
    throw Error("slice_update: start/stop/step must have one entry per dimension");
  }
  Shape region(nd);
  for (int i = 0; i < nd; ++i) {
    int64_t n = dst.shape()[i];
    if (step[i] <= 0) throw Error("slice_update: step must be positive");
    int64_t s = std::clamp<int64_t>(start[i] < 0 ? start[i] + n : start[i], 0, n);
    int64_t e = std::clamp<int64_t>(stop[i] < 0 ? stop[i] + n : stop[i], 0, n);
    start[i] = s;
    region[i] = e > s ? (e - s + step[i] - 1) / step[i] : 0;
  }
  Array upd = broadcast_to(astype(update, dst.dtype()), region);
  // update = rope(x) not evaluated yet and written as it is (no cast, no broadcast): the
  // kernel rotates x's rows into the region, one dispatch instead of two (the rope's node
  // stays for any other user). Same values: the rope's kernel computes them either way.
  std::shared_ptr<Rope> rope;
  if (upd.id() == update.id() && !update.is_evaluated()) rope = std::dynamic_pointer_cast<Rope>(update.primitive());
  // The update (or the rope's x) a pending one-row product: its kernel writes the region.
  const bool rope_folds = rope && !rope->params().inverse && !rope->params().has_offset_array &&
                          rope->params().dims == region.back() && nd >= 2 && region[nd - 2] == 1;
  if (upd.id() == update.id() && (!rope || rope_folds)) {
    if (auto product = fold_product(rope ? update.inputs()[0] : update, dst.dtype())) {
      std::vector<Array> inputs{dst};
      inputs.insert(inputs.end(), product->inputs().begin(), product->inputs().end());
      if (rope) inputs.insert(inputs.end(), update.inputs().begin() + 1, update.inputs().end());
      return Array(dst.shape(), dst.dtype(),
                   std::make_shared<SliceUpdate>(start, step, std::move(rope), product->primitive(),
                                                 static_cast<int>(product->inputs().size()), product->shape(), region),
                   std::move(inputs));
    }
  }
  if (rope) {
    std::vector<Array> inputs{dst};
    inputs.insert(inputs.end(), update.inputs().begin(), update.inputs().end());
    return Array(dst.shape(), dst.dtype(), std::make_shared<SliceUpdate>(start, step, std::move(rope)),
                 std::move(inputs));
  }
  return Array(dst.shape(), dst.dtype(), std::make_shared<SliceUpdate>(start, step), {dst, upd});
}

std::optional<Array> fold_product(Array source, Dtype t) {
  // Views that keep the row-major order: reshapes, and transposes that move only axes of
  // size 1.
  while (!source.is_evaluated()) {
    if (std::dynamic_pointer_cast<Reshape>(source.primitive())) {
      source = source.inputs()[0];
    } else if (auto tr = std::dynamic_pointer_cast<Transpose>(source.primitive())) {
      const Shape& in = source.inputs()[0].shape();
      int last = -1;
      for (int axis : tr->axes()) {
        if (in[axis] == 1) continue;
        if (axis < last) return std::nullopt;
        last = axis;
      }
      source = source.inputs()[0];
    } else {
      break;
    }
  }
  if (source.is_evaluated() || source.dtype() != t || source.ndim() < 1 || source.size() != source.shape(-1)) {
    return std::nullopt;
  }
  const auto* q = dynamic_cast<const QuantizedMatmul*>(source.primitive().get());
  if (q && q->transpose() && !q->gated()) return source;
  return std::nullopt;
}

Array SliceUpdate::source_now(const std::vector<Array>& inputs, const Device& device) const {
  if (!product_) return inputs[1];
  Array y(product_shape_, inputs[0].dtype(), nullptr, {});
  y.set_device(device);
  eval_primitive(*product_, product_inputs(inputs), y);
  Array x = Array::from_buffer(y.buffer(), y.offset(), region_, row_major_strides(region_), y.dtype());
  x.set_device(device);
  return x;
}

void SliceUpdate::print(std::ostream& os) const {
  os << "SliceUpdate";
  if (rope_ || product_) {
    os << "(";
    if (rope_) rope_->print(os);
    if (rope_ && product_) os << ", ";
    if (product_) product_->print(os);
    os << ")";
  }
}

std::vector<Array> SliceUpdate::vjp(const std::vector<Array>& inputs, const Array& g,
                                    const std::vector<int>& argnums, const Array&) {
  const Shape region = this->region(inputs);
  Shape stop(start_.size());
  for (size_t i = 0; i < start_.size(); ++i) stop[i] = start_[i] + region[i] * step_[i];
  const int first_rope = 1 + (product_ ? product_inputs_ : 1);  // the rope's freqs / offset
  std::vector<Array> out;
  for (int k : argnums) {
    if (k == 0) {
      out.push_back(slice_update(g, zeros(region, g.dtype()), start_, stop, step_));
      continue;
    }
    Array d = slice(g, start_, stop, step_);
    if (rope_) {
      // The rope's own vjp, its inputs numbered from 0 (x first).
      const Array x = product_ ? reshape(Array(product_shape_, inputs[0].dtype(), product_, product_inputs(inputs)),
                                         region)
                               : inputs[1];
      const int rk = k >= first_rope ? k - first_rope + 1 : 0;
      d = rope_->vjp(rope_inputs(inputs, x), d, {rk}, Array())[0];
      if (rk != 0) {
        out.push_back(d);
        continue;
      }
    }
    if (product_) d = product_->vjp(product_inputs(inputs), reshape(d, product_shape_), {k - 1}, Array())[0];
    out.push_back(d);
  }
  return out;
}

// ---- vjps of the view primitives ----

std::vector<Array> Reshape::vjp(const std::vector<Array>& inputs, const Array& g,
                                const std::vector<int>&, const Array&) {
  return {reshape(g, inputs[0].shape())};
}

std::vector<Array> Transpose::vjp(const std::vector<Array>&, const Array& g,
                                  const std::vector<int>&, const Array&) {
  std::vector<int> inverse(axes_.size());
  for (size_t i = 0; i < axes_.size(); ++i) inverse[axes_[i]] = static_cast<int>(i);
  return {transpose(g, inverse)};
}

std::vector<Array> Slice::vjp(const std::vector<Array>& inputs, const Array& g,
                              const std::vector<int>&, const Array&) {
  const Array& x = inputs[0];
  Shape stop(start_.size());
  for (size_t i = 0; i < start_.size(); ++i) stop[i] = start_[i] + g.shape()[i] * step_[i];
  return {slice_update(zeros_like(x), g, start_, stop, step_)};
}

std::vector<Array> Broadcast::vjp(const std::vector<Array>& inputs, const Array& g,
                                  const std::vector<int>&, const Array&) {
  const Array& x = inputs[0];
  int lead = g.ndim() - x.ndim();
  std::vector<int> axes;
  for (int i = 0; i < g.ndim(); ++i) {
    if (i < lead || (x.shape()[i - lead] == 1 && g.shape()[i] != 1)) axes.push_back(i);
  }
  if (axes.empty()) return {reshape(g, x.shape())};
  return {reshape(sum(g, axes, true), x.shape())};
}

std::vector<Array> AsType::vjp(const std::vector<Array>& inputs, const Array& g,
                               const std::vector<int>&, const Array&) {
  return {astype(g, inputs[0].dtype())};
}

std::vector<Array> Copy::vjp(const std::vector<Array>&, const Array& g, const std::vector<int>&,
                             const Array&) {
  return {g};
}

std::vector<Array> StopGradient::vjp(const std::vector<Array>& inputs, const Array&,
                                     const std::vector<int>&, const Array&) {
  return {zeros_like(inputs[0])};
}

}  // namespace lamina::core
