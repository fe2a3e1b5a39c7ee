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
  if (upd.id() == update.id() && !update.is_evaluated()) {
    if (auto rope = std::dynamic_pointer_cast<Rope>(update.primitive())) {
      std::vector<Array> inputs{dst};
      inputs.insert(inputs.end(), update.inputs().begin(), update.inputs().end());
      return Array(dst.shape(), dst.dtype(), std::make_shared<SliceUpdate>(start, step, std::move(rope)),
                   std::move(inputs));
    }
  }
  return Array(dst.shape(), dst.dtype(), std::make_shared<SliceUpdate>(start, step), {dst, upd});
}

void SliceUpdate::print(std::ostream& os) const {
  os << "SliceUpdate";
  if (rope_) {
    os << "(";
    rope_->print(os);
    os << ")";
  }
}

std::vector<Array> SliceUpdate::vjp(const std::vector<Array>& inputs, const Array& g,
                                    const std::vector<int>& argnums, const Array&) {
  const Array& upd = inputs[1];  // with a rope: its x, of the region's shape too
  Shape stop(start_.size());
  for (size_t i = 0; i < start_.size(); ++i) stop[i] = start_[i] + upd.shape()[i] * step_[i];
  std::vector<Array> out;
  for (int k : argnums) {
    if (k == 0) {
      out.push_back(slice_update(g, zeros_like(upd), start_, stop, step_));
    } else if (!rope_) {
      out.push_back(slice(g, start_, stop, step_));
    } else {
      // The rope's own vjp, its inputs numbered from 0.
      out.push_back(rope_->vjp(rope_inputs(inputs), slice(g, start_, stop, step_), {k - 1}, Array())[0]);
    }
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
