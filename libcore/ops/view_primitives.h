// Primitives that change how an array is viewed (no copy where the layout allows) or its
// dtype: Reshape, Transpose, Slice, Broadcast, AsType, Copy, StopGradient.
#pragma once

#include "libcore/ops/primitive.h"

namespace lamina::core {

class Reshape : public Primitive {
 public:
  LAMINA_PRIMITIVE(Reshape)
  LAMINA_VJP
};

class Transpose : public Primitive {
 public:
  explicit Transpose(std::vector<int> axes) : axes_(std::move(axes)) {}
  LAMINA_PRIMITIVE(Transpose)
  LAMINA_VJP
  void print(std::ostream& os) const override;
  // Output axis i is input axis axes()[i].
  const std::vector<int>& axes() const { return axes_; }

 private:
  std::vector<int> axes_;
};

// Slice with per-axis start and positive step; the output shape gives the counts.
class Slice : public Primitive {
 public:
  Slice(Shape start, Shape step) : start_(std::move(start)), step_(std::move(step)) {}
  LAMINA_PRIMITIVE(Slice)
  LAMINA_VJP
  void print(std::ostream& os) const override;
  const Shape& start() const { return start_; }
  const Shape& step() const { return step_; }

 private:
  Shape start_, step_;
};

class Broadcast : public Primitive {
 public:
  LAMINA_PRIMITIVE(Broadcast)
  LAMINA_VJP
};

class AsType : public Primitive {
 public:
  LAMINA_PRIMITIVE(AsType)
  LAMINA_VJP
};

// A row-major copy.
class Copy : public Primitive {
 public:
  LAMINA_PRIMITIVE(Copy)
  LAMINA_VJP
};

// Identity whose vjp is zero.
class StopGradient : public Primitive {
 public:
  LAMINA_PRIMITIVE(StopGradient)
  LAMINA_VJP
};

}  // namespace lamina::core
