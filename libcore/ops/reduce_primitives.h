// Reduction primitives: Reduce (sum/prod/max/min over axes, keeping them as size 1) and
// ArgReduce (argmax/argmin along one axis, kept as size 1).
#pragma once

#include "libcore/ops/primitive.h"

namespace lamina::core {

class Reduce : public Primitive {
 public:
  enum class Type { sum, prod, max, min };
  Reduce(Type type, std::vector<int> axes) : type_(type), axes_(std::move(axes)) {}
  LAMINA_PRIMITIVE(Reduce)
  LAMINA_VJP
  void print(std::ostream& os) const override;
  Type type() const { return type_; }
  const std::vector<int>& axes() const { return axes_; }

 private:
  Type type_;
  std::vector<int> axes_;
};

class ArgReduce : public Primitive {
 public:
  enum class Type { argmax, argmin };
  ArgReduce(Type type, int axis) : type_(type), axis_(axis) {}
  LAMINA_PRIMITIVE(ArgReduce)
  LAMINA_VJP
  Type type() const { return type_; }
  int axis() const { return axis_; }

 private:
  Type type_;
  int axis_;
};

}  // namespace lamina::core
