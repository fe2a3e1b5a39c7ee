// Random op builders: keys, splitting, and distributions composed from the RandomBits /
// RandomUnit primitives with elementwise ops; plus the global default key.
#include "libcore/ops/random.h"

#include <cmath>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "kernels/cpu/threefry.h"
#include "libcore/ops/elementwise.h"
#include "libcore/ops/random_primitives.h"
#include "libcore/ops/reduce.h"
#include "libcore/ops/views.h"

namespace lamina::core::random {

namespace {

void check_key(const Array& key, const char* op) {
  if (key.dtype() != Dtype::uint32 || key.shape() != Shape{2}) {
    throw Error(std::string(op) + ": a key is a uint32 array of shape [2], got " +
                dtype_name(key.dtype()) + " " + shape_string(key.shape()));
  }
}

void check_floating(Dtype dtype, const char* op) {
  if (!is_floating(dtype)) {
    throw Error(std::string(op) + ": needs a floating dtype, got " + dtype_name(dtype));
  }
}

template <typename P>
Array stream_node(const Array& key, const Shape& shape, Dtype dtype, const char* op) {
  check_key(key, op);
  checked_shape_size(shape, std::string(op) + " shape");
  return Array(shape, dtype, std::make_shared<P>(), {key});
}

// float32 in [0, 1) per element of shape.
Array unit(const Array& key, const Shape& shape, const char* op) {
  return stream_node<RandomUnit>(key, shape, Dtype::float32, op);
}

// The next representable value below h in its own format (16-bit formats by bit pattern:
// toward -inf is one step down in magnitude for positives, up for negatives).
float next_down(float h) { return std::nextafter(h, -INFINITY); }
template <typename H>
H next_down(H h) {
  if ((h.bits & 0x7fffu) == 0) return H::from_bits(0x8001u);  // +-0 -> smallest negative
  return H::from_bits(static_cast<uint16_t>((h.bits & 0x8000u) ? h.bits + 1 : h.bits - 1));
}

// The largest value of H strictly below `high`.
template <typename H>
double largest_below(double high) {
  H h = H(static_cast<float>(high));
  while (static_cast<double>(static_cast<float>(h)) >= high) h = next_down(h);
  return static_cast<double>(static_cast<float>(h));
}

double largest_below(double high, Dtype dtype) {
  switch (dtype) {
    case Dtype::float16: return largest_below<float16_t>(high);
    case Dtype::bfloat16: return largest_below<bfloat16_t>(high);
    default: return largest_below<float>(high);
  }
}

// State of the global default key. The keys it hands out are computed on the host, so that
// no lazy chain of splits builds up between evaluations.
struct DefaultKey {
  std::mutex mutex;
  bool seeded = false;
  uint32_t k0 = 0, k1 = 0;
  uint64_t count = 0;  // keys handed out since the last seed
};

DefaultKey& default_key() {
  static DefaultKey state;
  return state;
}

void set_seed(DefaultKey& state, uint64_t s) {
  state.k0 = static_cast<uint32_t>(s >> 32);
  state.k1 = static_cast<uint32_t>(s);
  state.count = 0;
  state.seeded = true;
}

}  // namespace

Array key(uint64_t seed) {
  return Array(std::vector<uint32_t>{static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(seed)},
               {2}, Dtype::uint32);
}

std::vector<Array> split(const Array& key, int num) {
  if (num < 1) throw Error("random::split: need at least 1 key, got " + std::to_string(num));
  Array bits = random_bits(key, {num, 2});
  std::vector<Array> keys;
  keys.reserve(static_cast<size_t>(num));
  for (int i = 0; i < num; ++i) keys.push_back(reshape(slice_axis(bits, 0, i, i + 1), {2}));
  return keys;
}

Array random_bits(const Array& key, const Shape& shape) {
  return stream_node<RandomBits>(key, shape, Dtype::uint32, "random_bits");
}

Array uniform(const Array& key, const Shape& shape, double low, double high, Dtype dtype) {
  check_floating(dtype, "uniform");
  if (!(low < high)) {
    throw Error("uniform: low (" + std::to_string(low) + ") must be below high (" +
                std::to_string(high) + ")");
  }
  Array x = astype(unit(key, shape, "uniform") * (high - low) + low, dtype);
  // Rounding (to float32, or to a 16-bit dtype) may land on high; keep the interval open.
  return minimum(x, Array(largest_below(high, dtype), dtype));
}

Array normal(const Array& key, const Shape& shape, Dtype dtype, double mean, double std) {
  check_floating(dtype, "normal");
  // Two uniforms per value from one Threefry block (words 2i and 2i + 1), so value i does
  // not depend on the shape's size.
  Shape pairs = shape;
  pairs.push_back(2);
  Array u = unit(key, pairs, "normal");
  const int last = static_cast<int>(shape.size());
  Array u1 = reshape(slice_axis(u, last, 0, 1), shape);
  Array u2 = reshape(slice_axis(u, last, 1, 2), shape);
  Array radius = sqrt(log(1.0 - u1) * -2.0);  // 1 - u1 lies in (0, 1]: the log is finite
  Array z = radius * cos(u2 * (2.0 * M_PI));
  return astype(z * std + mean, dtype);
}

Array bernoulli(const Array& key, double p, const Shape& shape) {
  return less(unit(key, shape, "bernoulli"), Array(static_cast<float>(p)));
}

Array bernoulli(const Array& key, const Array& p, const Shape& shape) {
  Array prob = broadcast_to(astype(p, Dtype::float32), shape);
  return less(unit(key, shape, "bernoulli"), prob);
}

Array categorical(const Array& key, const Array& logits, int axis) {
  if (logits.ndim() == 0) throw Error("categorical: logits must have at least 1 dimension");
  const int ax = normalize_axis(axis, logits.ndim());
  Array x = astype(logits, Dtype::float32);
  // Gumbel noise -log(-log(u)); u = 0 gives -inf noise, which never wins, so no NaN.
  Array gumbel = negative(log(negative(log(unit(key, x.shape(), "categorical")))));
  return argmax(x + gumbel, ax);
}

void seed(uint64_t s) {
  DefaultKey& state = default_key();
  std::lock_guard<std::mutex> lock(state.mutex);
  set_seed(state, s);
}

Array next_key() {
  DefaultKey& state = default_key();
  std::array<uint32_t, 2> words{};
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    if (!state.seeded) {
      std::random_device device;
      set_seed(state, (static_cast<uint64_t>(device()) << 32) | device());
    }
    // Key i is block i of the default key's stream: split(key(s), n)[i].
    words = kernels::threefry2x32(state.k0, state.k1, static_cast<uint32_t>(state.count),
                                  static_cast<uint32_t>(state.count >> 32));
    ++state.count;
  }
  return Array(std::vector<uint32_t>{words[0], words[1]}, {2}, Dtype::uint32);
}

Array uniform(const Shape& shape, double low, double high, Dtype dtype) {
  return uniform(next_key(), shape, low, high, dtype);
}

Array normal(const Shape& shape, Dtype dtype, double mean, double std) {
  return normal(next_key(), shape, dtype, mean, std);
}

Array bernoulli(double p, const Shape& shape) { return bernoulli(next_key(), p, shape); }

Array categorical(const Array& logits, int axis) { return categorical(next_key(), logits, axis); }

}  // namespace lamina::core::random
