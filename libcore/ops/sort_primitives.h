// Primitives that work on whole rows along one axis: Sort, ArgSort, ArgPartition, CumSum.
// The builders (sort.cpp) normalize the axis; outputs keep the input's shape.
#pragma once

#include "libcore/ops/primitive.h"

namespace lamina::core {

// Sort(a): a sorted ascending along axis (same dtype).
class Sort : public Primitive {
 public:
  explicit Sort(int axis) : axis_(axis) {}
  LAMINA_PRIMITIVE(Sort)
  LAMINA_VJP
  void print(std::ostream& os) const override { os << "Sort(" << axis_ << ")"; }
  int axis() const { return axis_; }

 private:
  int axis_;
};

// ArgSort(a): uint32 positions that sort a stably along axis.
class ArgSort : public Primitive {
 public:
  explicit ArgSort(int axis) : axis_(axis) {}
  LAMINA_PRIMITIVE(ArgSort)
  LAMINA_VJP
  void print(std::ostream& os) const override { os << "ArgSort(" << axis_ << ")"; }
  int axis() const { return axis_; }

 private:
  int axis_;
};

// ArgPartition(a): uint32 positions along axis with the kth smallest at kth.
class ArgPartition : public Primitive {
 public:
  ArgPartition(int64_t kth, int axis) : kth_(kth), axis_(axis) {}
  LAMINA_PRIMITIVE(ArgPartition)
  LAMINA_VJP
  void print(std::ostream& os) const override {
    os << "ArgPartition(kth=" << kth_ << ", " << axis_ << ")";
  }
  int64_t kth() const { return kth_; }
  int axis() const { return axis_; }

 private:
  int64_t kth_;
  int axis_;
};

// CumSum(a): running sums along axis (the output dtype is set by the builder).
class CumSum : public Primitive {
 public:
  CumSum(int axis, bool reverse, bool inclusive)
      : axis_(axis), reverse_(reverse), inclusive_(inclusive) {}
  LAMINA_PRIMITIVE(CumSum)
  LAMINA_VJP
  void print(std::ostream& os) const override {
    os << "CumSum(" << axis_ << (reverse_ ? ", reverse" : "") << (inclusive_ ? "" : ", exclusive")
       << ")";
  }
  int axis() const { return axis_; }
  bool reverse() const { return reverse_; }
  bool inclusive() const { return inclusive_; }

 private:
  int axis_;
  bool reverse_, inclusive_;
};

}  // namespace lamina::core
