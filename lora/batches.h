// Batching as mlx-lm's iterate_batches does it: examples sorted by length and grouped
// into batches (the remainder dropped), the batches visited in a fresh random order each
// epoch, rows padded to 1 + a multiple of 32 tokens and cut at max_seq_length. Without
// shuffling the batches are consecutive examples in file order.
#pragma once

#include <cstdint>
#include <vector>

#include "libcore/array/array.h"
#include "lora/dataset.h"

namespace lamina::lora {

struct Batch {
  core::Array tokens;      // int32 [B, L] (zero padded)
  core::Array loss_mask;   // float32 [B, L - 1]: 1 where target tokens[:, 1:] counts
  int64_t counted_tokens;  // sum of loss_mask
  bool truncated = false;  // an example was longer than max_seq_length
};

// Builds the batch of `examples` (rows in that order).
Batch make_batch(const std::vector<const Example*>& examples, int64_t max_seq_length);

class BatchIterator {
 public:
  // Throws lamina::Error when the data has fewer examples than one batch.
  BatchIterator(const std::vector<Example>& data, int batch_size, int64_t max_seq_length, bool shuffle,
                uint64_t seed, const std::string& what);
  // The next batch (wrapping into a new epoch at the end).
  Batch next();
  // Batch i of the unshuffled order (0 <= i < batches_per_epoch()): what evaluation reads.
  Batch batch(int64_t i) const;
  int64_t batches_per_epoch() const { return static_cast<int64_t>(groups_.size()); }

  // Where next() is: epoch and index within the epoch's order (for checkpoints).
  struct Position {
    int64_t epoch = 0;
    int64_t index = 0;
  };
  Position position() const { return position_; }
  void set_position(Position p);

 private:
  std::vector<int64_t> epoch_order(int64_t epoch) const;

  const std::vector<Example>& data_;
  int64_t max_seq_length_;
  bool shuffle_;
  uint64_t seed_;
  std::vector<std::vector<int64_t>> groups_;
  Position position_;
  std::vector<int64_t> order_;  // of position_.epoch
};

}  // namespace lamina::lora
