// Primitives that create arrays from parameters alone.
#pragma once

#include "libcore/ops/primitive.h"

namespace lamina::core {

// start, start + step, ... (the output shape gives the count).
class Arange : public Primitive {
 public:
  Arange(double start, double step) : start_(start), step_(step) {}
  LAMINA_PRIMITIVE(Arange)
  void print(std::ostream& os) const override { os << "Arange(" << start_ << ", " << step_ << ")"; }
  double start() const { return start_; }
  double step() const { return step_; }

 private:
  double start_, step_;
};

}  // namespace lamina::core
