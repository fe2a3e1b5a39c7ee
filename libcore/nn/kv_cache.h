// KV caches for incremental decoding: KVCache grows in steps and writes in place through
// slice_update; a rotating variant (max_kv_size) keeps the first `keep` tokens and a
// window of the most recent ones.
#pragma once

#include <cstdint>
#include <utility>

#include "libcore/array/array.h"

namespace lamina::nn {

class KVCache {
 public:
  // max_size 0: unbounded. Otherwise at most max_size positions are kept: the first `keep`
  // and the most recent max_size - keep (mlx-lm's RotatingKVCache).
  explicit KVCache(int64_t max_size = 0, int64_t keep = 4) : max_size_(max_size), keep_(keep) {}

  // Appends keys/values [B, H, L, D] and returns all cached keys/values (B, H, T, D).
  std::pair<core::Array, core::Array> update_and_fetch(const core::Array& keys,
                                                       const core::Array& values);
  // Number of positions seen so far (the RoPE offset of the next token).
  int64_t offset() const { return offset_; }
  // Number of positions held now.
  int64_t size() const { return size_; }
  const core::Array& keys() const { return keys_; }
  const core::Array& values() const { return values_; }
  // Restores a cache from saved keys/values holding `offset` positions.
  void set_state(core::Array keys, core::Array values, int64_t offset);
  // Drops everything after the first n positions (n <= size; unbounded caches only).
  void trim_to(int64_t n);
  // True for a rotating cache (max_size > 0), which cannot be trimmed.
  bool bounded() const { return max_size_ > 0; }

 private:
  void grow(const core::Array& like, int64_t needed);

  core::Array keys_, values_;  // [B, H, capacity, D]
  int64_t capacity_ = 0;
  int64_t size_ = 0;
  int64_t offset_ = 0;
  int64_t max_size_;
  int64_t keep_;
};

}  // namespace lamina::nn
