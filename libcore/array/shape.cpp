// Shape helpers.
#include "libcore/array/shape.h"

#include <limits>

#include "libcore/error.h"

namespace lamina::core {

int64_t shape_size(const Shape& shape) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

int64_t checked_shape_size(const Shape& shape, const std::string& what) {
  int64_t n = 1;
  for (auto d : shape) {
    if (d < 0) throw Error(what + ": negative dimension in shape " + shape_string(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) {
      throw Error(what + ": shape " + shape_string(shape) + " has too many elements");
    }
    n *= d;
  }
  return n;
}

Strides row_major_strides(const Shape& shape) {
  Strides s(shape.size());
  int64_t acc = 1;
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int normalize_axis(int axis, int ndim) {
  int a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim) {
    throw Error("axis " + std::to_string(axis) + " is out of range for an array with " +
                std::to_string(ndim) + " dimensions");
  }
  return a;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1) {
      throw Error("shapes " + shape_string(a) + " and " + shape_string(b) +
                  " cannot be broadcast together");
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

bool is_row_contiguous(const Shape& shape, const Strides& strides) {
  int64_t expected = 1;
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    if (shape[i] == 1) continue;
    if (strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

}  // namespace lamina::core
