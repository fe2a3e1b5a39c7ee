// Scans a checkpoint's float tensors for NaN and infinity (see non_finite_weights.h).
#include "libcore/models/non_finite_weights.h"

#include <cstdint>
#include <cstring>

#include "libcore/io/safetensors.h"

namespace lamina::models {
namespace {

struct NonFiniteCount {
  int64_t nan = 0;
  int64_t inf = 0;
  int64_t first = -1;
};

// IEEE formats by their bits: all-ones exponent is infinity (zero mantissa) or NaN. Bit
// tests stay exact whatever the compiler assumes about floating point.
template <typename Bits>
NonFiniteCount count_non_finite(const core::Array& a, Bits exponent_mask, Bits mantissa_mask) {
  NonFiniteCount count;
  const auto* p = static_cast<const uint8_t*>(a.raw_data());
  for (int64_t i = 0; i < a.size(); ++i) {
    Bits bits;
    std::memcpy(&bits, p + i * static_cast<int64_t>(sizeof(Bits)), sizeof(Bits));
    if ((bits & exponent_mask) != exponent_mask) continue;
    ((bits & mantissa_mask) != 0 ? count.nan : count.inf) += 1;
    if (count.first < 0) count.first = i;
  }
  return count;
}

NonFiniteCount count_non_finite(const core::Array& a) {
  switch (a.dtype()) {
    case core::Dtype::float32:
      return count_non_finite<uint32_t>(a, 0x7F800000u, 0x007FFFFFu);
    case core::Dtype::float16:
      return count_non_finite<uint16_t>(a, 0x7C00u, 0x03FFu);
    case core::Dtype::bfloat16:
      return count_non_finite<uint16_t>(a, 0x7F80u, 0x007Fu);
    default:
      return {};
  }
}

}  // namespace

std::optional<std::string> find_non_finite_weight(const std::string& dir) {
  for (const auto& file : io::load_model_weights(dir).files) {
    io::SafetensorsData data = io::load_safetensors(file);
    for (const auto& name : data.names) {
      const core::Array& a = data.tensors.at(name);
      // Tensors read from a file are row-contiguous, so raw order is element order.
      NonFiniteCount count = count_non_finite(a);
      if (count.first < 0) continue;
      return file + ": tensor '" + name + "' holds " + std::to_string(count.nan) + " NaN and " +
             std::to_string(count.inf) + " infinite values (the first at element " +
             std::to_string(count.first) + " of " + std::to_string(a.size()) + ")";
    }
  }
  return std::nullopt;
}

}  // namespace lamina::models
