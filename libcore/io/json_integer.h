// Reading a JSON number as a C++ integer without undefined behaviour: nlohmann's get<int>()
// on 1e30 casts a double out of range, and on 2^40 silently truncates.
#pragma once

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <type_traits>

namespace lamina::io {

// `v` as T when it is an integer (or a float with an integral value, as some configs
// write "4096.0") that T can hold; nullopt otherwise.
template <typename T, typename Json>
std::optional<T> json_integer(const Json& v) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  using Limits = std::numeric_limits<T>;
  if (v.is_number_unsigned()) {
    auto u = v.template get<uint64_t>();
    if (u > static_cast<uint64_t>(Limits::max())) return std::nullopt;
    return static_cast<T>(u);
  }
  if (v.is_number_integer()) {
    auto i = v.template get<int64_t>();
    if constexpr (std::is_signed_v<T>) {
      if (i < static_cast<int64_t>(Limits::min()) || i > static_cast<int64_t>(Limits::max())) return std::nullopt;
    } else {
      if (i < 0 || static_cast<uint64_t>(i) > static_cast<uint64_t>(Limits::max())) return std::nullopt;
    }
    return static_cast<T>(i);
  }
  if (v.is_number_float()) {
    double d = v.template get<double>();
    // Both bounds are exact powers of two, so the comparison is exact.
    if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(Limits::min()) ||
        d >= std::ldexp(1.0, Limits::digits)) {
      return std::nullopt;
    }
    return static_cast<T>(d);
  }
  return std::nullopt;
}

}  // namespace lamina::io
