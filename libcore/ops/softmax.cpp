// softmax op builder and the vjp of the Softmax primitive.
#include "libcore/ops/softmax.h"

#include <algorithm>
#include <memory>
#include <numeric>

#include "libcore/ops/elementwise.h"
#include "libcore/ops/reduce.h"
#include "libcore/ops/softmax_primitive.h"
#include "libcore/ops/views.h"

namespace lamina::core {

void Softmax::print(std::ostream& os) const {
  os << "Softmax(axis=" << axis_ << (precise_ ? ", precise" : "") << ")";
}

Array softmax(const Array& a_in, std::vector<int> axes, bool precise) {
  Array a = is_floating(a_in.dtype()) ? a_in : astype(a_in, Dtype::float32);
  const int nd = a.ndim();
  if (nd == 0) return reshape(softmax(reshape(a, {1}), 0, precise), {});
  if (axes.empty()) {
    axes.resize(nd);
    std::iota(axes.begin(), axes.end(), 0);
  }
  for (auto& ax : axes) ax = normalize_axis(ax, nd);
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) {
    throw Error("softmax: repeated axis");
  }
  if (axes.size() == 1) {
    return Array(a.shape(), a.dtype(), std::make_shared<Softmax>(axes[0], precise), {a});
  }
  // Several axes: move them last, merge them into one, and undo both afterwards.
  std::vector<int> perm;
  for (int i = 0; i < nd; ++i) {
    if (!std::binary_search(axes.begin(), axes.end(), i)) perm.push_back(i);
  }
  perm.insert(perm.end(), axes.begin(), axes.end());
  Array t = transpose(a, perm);
  const int kept = nd - static_cast<int>(axes.size());
  Shape merged(t.shape().begin(), t.shape().begin() + kept);
  int64_t n = 1;
  for (int i = kept; i < nd; ++i) n *= t.shape()[i];
  merged.push_back(n);
  Array y = softmax(reshape(t, merged), -1, precise);
  std::vector<int> inverse(nd);
  for (int i = 0; i < nd; ++i) inverse[perm[i]] = i;
  return transpose(reshape(y, t.shape()), inverse);
}

Array softmax(const Array& a, int axis, bool precise) {
  if (a.ndim() == 0) return softmax(a, std::vector<int>{}, precise);
  return softmax(a, std::vector<int>{axis}, precise);
}

std::vector<Array> Softmax::vjp(const std::vector<Array>&, const Array& g,
                                const std::vector<int>&, const Array& out) {
  // dx = y * (g - sum(g * y)) along the axis.
  return {out * (g - sum(g * out, {axis_}, true))};
}

}  // namespace lamina::core
