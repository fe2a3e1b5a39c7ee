// Length-sorted batching with padding and loss masks.
#include "lora/batches.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "libcore/error.h"

namespace lamina::lora {

using namespace lamina::core;

namespace {
constexpr int64_t kPadMultiple = 32;  // mlx-lm pads rows to 1 + a multiple of this
}

Batch make_batch(const std::vector<const Example*>& examples, int64_t max_seq_length) {
  const int64_t B = static_cast<int64_t>(examples.size());
  int64_t longest = 0;
  bool truncated = false;
  for (const Example* e : examples) longest = std::max<int64_t>(longest, static_cast<int64_t>(e->tokens.size()));
  if (longest > max_seq_length) truncated = true;
  int64_t L = 1 + kPadMultiple * ((longest + kPadMultiple - 1) / kPadMultiple);
  L = std::min(L, max_seq_length);
  std::vector<int32_t> tokens(static_cast<size_t>(B * L), 0);
  std::vector<float> mask(static_cast<size_t>(B * (L - 1)), 0.0f);
  int64_t counted = 0;
  for (int64_t r = 0; r < B; ++r) {
    const Example& e = *examples[r];
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(e.tokens.size()), L);
    std::copy(e.tokens.begin(), e.tokens.begin() + n, tokens.begin() + r * L);
    // Target t (token t + 1) counts when offset <= t + 1 < n.
    for (int64_t t = 0; t + 1 < L; ++t) {
      if (t + 1 >= e.offset && t + 1 < n) {
        mask[static_cast<size_t>(r * (L - 1) + t)] = 1.0f;
        ++counted;
      }
    }
  }
  return Batch{Array(tokens, {B, L}, Dtype::int32), Array(mask, {B, L - 1}, Dtype::float32), counted, truncated};
}

BatchIterator::BatchIterator(const std::vector<Example>& data, int batch_size, int64_t max_seq_length, bool shuffle,
                             uint64_t seed, const std::string& what)
    : data_(data), max_seq_length_(max_seq_length), shuffle_(shuffle), seed_(seed) {
  if (batch_size <= 0) throw Error("batch size must be positive");
  if (max_seq_length < 2) throw Error("max sequence length must be at least 2");
  if (static_cast<int64_t>(data.size()) < batch_size) {
    throw Error(what + ": " + std::to_string(data.size()) + " examples, fewer than one batch of " +
                std::to_string(batch_size) + " (lower --batch-size or add examples)");
  }
  std::vector<int64_t> idx(data.size());
  std::iota(idx.begin(), idx.end(), 0);
  if (shuffle) {
    std::stable_sort(idx.begin(), idx.end(),
                     [&](int64_t a, int64_t b) { return data[a].tokens.size() < data[b].tokens.size(); });
  }
  for (size_t i = 0; i + batch_size <= idx.size(); i += batch_size) {
    groups_.emplace_back(idx.begin() + i, idx.begin() + i + batch_size);
  }
  order_ = epoch_order(0);
}

std::vector<int64_t> BatchIterator::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(groups_.size());
  std::iota(order.begin(), order.end(), 0);
  if (shuffle_) {
    // Each epoch's order depends only on (seed, epoch), so a checkpoint stores a position.
    std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch));
    std::shuffle(order.begin(), order.end(), rng);
  }
  return order;
}

void BatchIterator::set_position(Position p) {
  if (p.epoch < 0 || p.index < 0 || p.index > batches_per_epoch()) {
    throw Error("data position (epoch " + std::to_string(p.epoch) + ", batch " + std::to_string(p.index) +
                ") does not fit this data set");
  }
  position_ = p;
  order_ = epoch_order(p.epoch);
}

Batch BatchIterator::batch(int64_t i) const {
  std::vector<const Example*> rows;
  for (int64_t j : groups_.at(static_cast<size_t>(i))) rows.push_back(&data_[j]);
  return make_batch(rows, max_seq_length_);
}

Batch BatchIterator::next() {
  if (position_.index >= batches_per_epoch()) set_position({position_.epoch + 1, 0});
  return batch(order_[static_cast<size_t>(position_.index++)]);
}

}  // namespace lamina::lora
