// The Softmax primitive: softmax along one axis of a floating array (any strides in, a
// row-major output of the same dtype). Multi-axis softmax is built on it by the op.
#pragma once

#include "libcore/ops/primitive.h"

namespace lamina::core {

class Softmax : public Primitive {
 public:
  Softmax(int axis, bool precise) : axis_(axis), precise_(precise) {}
  LAMINA_PRIMITIVE(Softmax)
  LAMINA_VJP
  void print(std::ostream& os) const override;
  int axis() const { return axis_; }
  bool precise() const { return precise_; }

 private:
  int axis_;
  bool precise_;
};

}  // namespace lamina::core
