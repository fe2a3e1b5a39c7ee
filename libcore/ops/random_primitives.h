// Random primitives: both read a uint32[2] key input and fill the output with the key's
// Threefry-2x32 stream (kernels/cpu/threefry.h), element i from stream word i.
#pragma once

#include "libcore/ops/primitive.h"

namespace lamina::core {

// RandomBits(key): the stream words themselves (uint32).
class RandomBits : public Primitive {
 public:
  LAMINA_PRIMITIVE(RandomBits)
};

// RandomUnit(key): float32 in [0, 1) from the top 24 bits of each stream word.
class RandomUnit : public Primitive {
 public:
  LAMINA_PRIMITIVE(RandomUnit)
};

}  // namespace lamina::core
