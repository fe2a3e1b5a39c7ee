// SliceUpdate(dst, update): dst with the region start + i * step replaced by update.
// With a rope, the inputs are {dst, x, [freqs], [offset]} and the region gets rope(x) (that
// Rope's inputs), computed as it is written: slice_update(cache, rope(k)) in one kernel,
// the KV cache write of every attention layer.
#pragma once

#include <memory>
#include <ostream>
#include <vector>

#include "libcore/ops/fast_primitives.h"
#include "libcore/ops/primitive.h"

namespace lamina::core {

class SliceUpdate : public Primitive {
 public:
  SliceUpdate(Shape start, Shape step, std::shared_ptr<Rope> rope = nullptr)
      : start_(std::move(start)), step_(std::move(step)), rope_(std::move(rope)) {}
  LAMINA_PRIMITIVE(SliceUpdate)
  LAMINA_VJP
  void print(std::ostream& os) const override;
  const Shape& start() const { return start_; }
  const Shape& step() const { return step_; }
  // The rope applied to the update (null: the update is written as it is).
  const std::shared_ptr<Rope>& rope() const { return rope_; }
  // With a rope: its inputs ({x, [freqs], [offset]}: all of a SliceUpdate's after dst).
  static std::vector<Array> rope_inputs(const std::vector<Array>& inputs) {
    return std::vector<Array>(inputs.begin() + 1, inputs.end());
  }

 private:
  Shape start_, step_;
  std::shared_ptr<Rope> rope_;
};

}  // namespace lamina::core
