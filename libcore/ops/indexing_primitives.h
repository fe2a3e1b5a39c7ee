// Indexing primitives. Builders (indexing.cpp) check, cast and broadcast the inputs first,
// so each primitive sees consistent shapes: for an axis, an operand is viewed as
// [outer, axis size, inner].
#pragma once

#include "libcore/ops/primitive.h"

namespace lamina::core {

// Concatenate(a0, a1, ...): the inputs (one dtype) joined along axis.
class Concatenate : public Primitive {
 public:
  explicit Concatenate(int axis) : axis_(axis) {}
  LAMINA_PRIMITIVE(Concatenate)
  LAMINA_VJP
  void print(std::ostream& os) const override { os << "Concatenate(" << axis_ << ")"; }
  int axis() const { return axis_; }

 private:
  int axis_;
};

// Gather(a, indices): take along axis; out = a.shape[:axis] + indices.shape + a.shape[axis+1:].
class Gather : public Primitive {
 public:
  explicit Gather(int axis) : axis_(axis) {}
  LAMINA_PRIMITIVE(Gather)
  LAMINA_VJP
  void print(std::ostream& os) const override { os << "Gather(" << axis_ << ")"; }
  int axis() const { return axis_; }

 private:
  int axis_;
};

// How a scatter combines an update with the value already there.
enum class ScatterMode { assign, add };

// Scatter(a, indices, updates): a with rows at indices along axis replaced or added to;
// updates has Gather's output shape and a's dtype.
class Scatter : public Primitive {
 public:
  Scatter(int axis, ScatterMode mode) : axis_(axis), mode_(mode) {}
  LAMINA_PRIMITIVE(Scatter)
  LAMINA_VJP
  void print(std::ostream& os) const override;
  int axis() const { return axis_; }
  ScatterMode mode() const { return mode_; }

 private:
  int axis_;
  ScatterMode mode_;
};

// GatherAlongAxis(a, indices): out[o, j, i] = a[o, indices[o, j, i], i]; a and indices agree
// on every axis but `axis`.
class GatherAlongAxis : public Primitive {
 public:
  explicit GatherAlongAxis(int axis) : axis_(axis) {}
  LAMINA_PRIMITIVE(GatherAlongAxis)
  LAMINA_VJP
  void print(std::ostream& os) const override { os << "GatherAlongAxis(" << axis_ << ")"; }
  int axis() const { return axis_; }

 private:
  int axis_;
};

// ScatterAlongAxis(a, indices, values): a with a[o, indices[o, j, i], i] set to (or added
// to by) values[o, j, i]; values has indices' shape and a's dtype.
class ScatterAlongAxis : public Primitive {
 public:
  ScatterAlongAxis(int axis, ScatterMode mode) : axis_(axis), mode_(mode) {}
  LAMINA_PRIMITIVE(ScatterAlongAxis)
  LAMINA_VJP
  void print(std::ostream& os) const override;
  int axis() const { return axis_; }
  ScatterMode mode() const { return mode_; }

 private:
  int axis_;
  ScatterMode mode_;
};

}  // namespace lamina::core
