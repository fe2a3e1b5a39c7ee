// SliceUpdate(dst, update): dst with the region start + i * step replaced by update.
#pragma once

#include "libcore/ops/primitive.h"

namespace lamina::core {

class SliceUpdate : public Primitive {
 public:
  SliceUpdate(Shape start, Shape step) : start_(std::move(start)), step_(std::move(step)) {}
  LAMINA_PRIMITIVE(SliceUpdate)
  LAMINA_VJP
  const Shape& start() const { return start_; }
  const Shape& step() const { return step_; }

 private:
  Shape start_, step_;
};

}  // namespace lamina::core
