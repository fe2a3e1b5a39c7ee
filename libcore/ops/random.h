// Counter-based random numbers (Threefry-2x32): a key (uint32[2] array) and a shape fix
// every value, on any number of threads and across runs. Split a key to get independent
// keys; do not draw from a key after splitting it (its children share its stream).
//
// Functions without a key draw a fresh one from the global default key, which seed() sets;
// until seed() is called it is seeded from std::random_device (as MLX seeds from the clock).
#pragma once

#include <cstdint>
#include <vector>

#include "libcore/array/array.h"

namespace lamina::core::random {

// Returns the key for `seed`: uint32 {seed >> 32, seed & 0xffffffff}, evaluated.
Array key(uint64_t seed);
// Returns `num` new keys (uint32[2] each) derived from key: row i of random_bits(key, {num, 2}).
std::vector<Array> split(const Array& key, int num = 2);

// Returns uint32 words of the key's stream: element i (row-major) is stream word i.
Array random_bits(const Array& key, const Shape& shape);
// Returns values uniform in [low, high) (floating dtypes only; never high itself, even after
// rounding to a 16-bit dtype). Drawn from 24-bit float32 steps, then scaled and cast.
Array uniform(const Array& key, const Shape& shape, double low = 0.0, double high = 1.0,
              Dtype dtype = Dtype::float32);
// Returns normally distributed values (Box-Muller on two uniforms per value, so |z| stays
// below about 5.8 standard deviations).
Array normal(const Array& key, const Shape& shape, Dtype dtype = Dtype::float32, double mean = 0.0,
             double std = 1.0);
// Returns a bool array of `shape`, true with probability p (p broadcasts to shape).
Array bernoulli(const Array& key, double p, const Shape& shape);
Array bernoulli(const Array& key, const Array& p, const Shape& shape);
// Returns uint32 category indices sampled along axis with probabilities softmax(logits)
// (the Gumbel-max trick: argmax(logits + Gumbel noise)); -inf logits are never drawn.
Array categorical(const Array& key, const Array& logits, int axis = -1);

// Reseeds the global default key: after seed(s), the i-th key next_key() returns (from 0) is
// split(key(s), i + 1)[i].
void seed(uint64_t seed);
// Returns a fresh key from the global default key (thread-safe).
Array next_key();

// The same draws with a fresh key from the global default key.
Array uniform(const Shape& shape, double low = 0.0, double high = 1.0, Dtype dtype = Dtype::float32);
Array normal(const Shape& shape, Dtype dtype = Dtype::float32, double mean = 0.0, double std = 1.0);
Array bernoulli(double p, const Shape& shape);
Array categorical(const Array& logits, int axis = -1);

}  // namespace lamina::core::random
