// KV cache storage management.
#include "libcore/nn/kv_cache.h"

#include <algorithm>

#include "libcore/ops/indexing.h"
#include "libcore/ops/ops.h"

namespace lamina::nn {

using namespace lamina::core;

namespace {
constexpr int64_t kStep = 256;  // positions added per growth
}

void KVCache::grow(const Array& like, int64_t needed) {
  int64_t new_capacity = (needed + kStep - 1) / kStep * kStep;
  if (max_size_ > 0) new_capacity = std::min(new_capacity, std::max(max_size_, needed));
  Shape shape = like.shape();
  shape[2] = new_capacity;
  Array k = zeros(shape, like.dtype());
  Array v = zeros(shape, like.dtype());
  if (size_ > 0) {
    k = slice_update(k, slice_axis(keys_, 2, 0, size_), {0, 0, 0, 0}, {shape[0], shape[1], size_, shape[3]});
    Shape vshape = shape;
    v = slice_update(v, slice_axis(values_, 2, 0, size_), {0, 0, 0, 0}, {vshape[0], vshape[1], size_, vshape[3]});
  }
  keys_ = k;
  values_ = v;
  capacity_ = new_capacity;
}

std::pair<Array, Array> KVCache::update_and_fetch(const Array& keys, const Array& values) {
  const int64_t n = keys.shape(2);
  if (max_size_ > 0 && size_ + n > max_size_) {
    // Rotating: keep the first `keep` positions and the newest ones that fit.
    Array k_all = size_ > 0 ? concatenate({slice_axis(keys_, 2, 0, size_), keys}, 2) : keys;
    Array v_all = size_ > 0 ? concatenate({slice_axis(values_, 2, 0, size_), values}, 2) : values;
    int64_t total = k_all.shape(2);
    int64_t keep = std::min(keep_, max_size_);
    int64_t recent = max_size_ - keep;
    if (n > max_size_) {
      // A prompt chunk larger than the window attends to everything it needs now; the
      // cache keeps only the window afterwards.
      offset_ += n;
      Array kk = concatenate({slice_axis(k_all, 2, 0, keep), slice_axis(k_all, 2, total - recent, total)}, 2);
      Array vv = concatenate({slice_axis(v_all, 2, 0, keep), slice_axis(v_all, 2, total - recent, total)}, 2);
      keys_ = contiguous(kk);
      values_ = contiguous(vv);
      size_ = capacity_ = max_size_;
      return {k_all, v_all};
    }
    keys_ = contiguous(concatenate({slice_axis(k_all, 2, 0, keep), slice_axis(k_all, 2, total - recent, total)}, 2));
    values_ = contiguous(concatenate({slice_axis(v_all, 2, 0, keep), slice_axis(v_all, 2, total - recent, total)}, 2));
    size_ = capacity_ = max_size_;
    offset_ += n;
    return {keys_, values_};
  }
  if (!keys_.valid() || size_ + n > capacity_) grow(keys, size_ + n);
  Shape start{0, 0, size_, 0};
  Shape stop{keys.shape(0), keys.shape(1), size_ + n, keys.shape(3)};
  keys_ = slice_update(keys_, keys, start, stop);
  Shape vstop{values.shape(0), values.shape(1), size_ + n, values.shape(3)};
  values_ = slice_update(values_, values, start, vstop);
  size_ += n;
  offset_ += n;
  return {slice_axis(keys_, 2, 0, size_), slice_axis(values_, 2, 0, size_)};
}

void KVCache::set_state(Array keys, Array values, int64_t offset) {
  size_ = capacity_ = keys.shape(2);
  keys_ = std::move(keys);
  values_ = std::move(values);
  offset_ = offset;
}

void KVCache::trim_to(int64_t n) {
  n = std::clamp<int64_t>(n, 0, size_);
  size_ = n;
  offset_ = n;
}

}  // namespace lamina::nn
