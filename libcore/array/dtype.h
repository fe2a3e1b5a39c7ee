// Dtype: the element types of arrays, their sizes and names, and type promotion (MLX rules).
#pragma once

#include <cstdint>
#include <string>

#include "libcore/array/half.h"

namespace lamina::core {

enum class Dtype : uint8_t {
  bool_,
  uint8,
  uint16,
  uint32,
  uint64,
  int8,
  int16,
  int32,
  int64,
  float16,
  bfloat16,
  float32,
};

inline constexpr int kNumDtypes = 12;

// Returns the size of one element in bytes.
int size_of(Dtype dtype);
// Returns the lower-case name ("float32", "bfloat16", "bool", ...).
const char* dtype_name(Dtype dtype);
// Parses a dtype name as dtype_name writes it; throws lamina::Error on an unknown name.
Dtype dtype_from_name(const std::string& name);
bool is_floating(Dtype dtype);
bool is_integral(Dtype dtype);  // bool excluded
bool is_signed_integral(Dtype dtype);
bool is_unsigned_integral(Dtype dtype);
// Returns the dtype both operands convert to in a binary op (MLX/NumPy promotion).
Dtype promote_types(Dtype a, Dtype b);

// Maps a C++ element type to its Dtype.
template <typename T> struct dtype_of;
template <> struct dtype_of<bool> { static constexpr Dtype value = Dtype::bool_; };
template <> struct dtype_of<uint8_t> { static constexpr Dtype value = Dtype::uint8; };
template <> struct dtype_of<uint16_t> { static constexpr Dtype value = Dtype::uint16; };
template <> struct dtype_of<uint32_t> { static constexpr Dtype value = Dtype::uint32; };
template <> struct dtype_of<uint64_t> { static constexpr Dtype value = Dtype::uint64; };
template <> struct dtype_of<int8_t> { static constexpr Dtype value = Dtype::int8; };
template <> struct dtype_of<int16_t> { static constexpr Dtype value = Dtype::int16; };
template <> struct dtype_of<int32_t> { static constexpr Dtype value = Dtype::int32; };
template <> struct dtype_of<int64_t> { static constexpr Dtype value = Dtype::int64; };
template <> struct dtype_of<float16_t> { static constexpr Dtype value = Dtype::float16; };
template <> struct dtype_of<bfloat16_t> { static constexpr Dtype value = Dtype::bfloat16; };
template <> struct dtype_of<float> { static constexpr Dtype value = Dtype::float32; };

// Calls fn(T{}) with T the C++ element type of dtype.
template <typename Fn>
decltype(auto) dispatch_dtype(Dtype dtype, Fn&& fn) {
  switch (dtype) {
    case Dtype::bool_: return fn(bool{});
    case Dtype::uint8: return fn(uint8_t{});
    case Dtype::uint16: return fn(uint16_t{});
    case Dtype::uint32: return fn(uint32_t{});
    case Dtype::uint64: return fn(uint64_t{});
    case Dtype::int8: return fn(int8_t{});
    case Dtype::int16: return fn(int16_t{});
    case Dtype::int32: return fn(int32_t{});
    case Dtype::int64: return fn(int64_t{});
    case Dtype::float16: return fn(float16_t{});
    case Dtype::bfloat16: return fn(bfloat16_t{});
    case Dtype::float32: return fn(float{});
  }
  return fn(float{});
}

}  // namespace lamina::core
