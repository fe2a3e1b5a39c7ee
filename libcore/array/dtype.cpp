// Dtype sizes, names and the promotion table.
#include "libcore/array/dtype.h"

#include <array>

#include "libcore/error.h"

namespace lamina::core {

namespace {
struct DtypeInfo {
  const char* name;
  int size;
};
constexpr std::array<DtypeInfo, kNumDtypes> kInfo = {{
    {"bool", 1},
    {"uint8", 1},
    {"uint16", 2},
    {"uint32", 4},
    {"uint64", 8},
    {"int8", 1},
    {"int16", 2},
    {"int32", 4},
    {"int64", 8},
    {"float16", 2},
    {"bfloat16", 2},
    {"float32", 4},
}};

// MLX's promotion table (mlx/dtype.cpp), in the order of the Dtype enum.
// b=bool u1..u8 i1..i8 f2=float16 bf=bfloat16 f4=float32.
using D = Dtype;
constexpr D b = D::bool_, u1 = D::uint8, u2 = D::uint16, u4 = D::uint32, u8 = D::uint64,
            i1 = D::int8, i2 = D::int16, i4 = D::int32, i8 = D::int64, f2 = D::float16,
            bf = D::bfloat16, f4 = D::float32;
constexpr D kPromote[kNumDtypes][kNumDtypes] = {
    //        b   u1  u2  u4  u8  i1  i2  i4  i8  f2  bf  f4
    /* b  */ {b, u1, u2, u4, u8, i1, i2, i4, i8, f2, bf, f4},
    /* u1 */ {u1, u1, u2, u4, u8, i2, i2, i4, i8, f2, bf, f4},
    /* u2 */ {u2, u2, u2, u4, u8, i4, i4, i4, i8, f2, bf, f4},
    /* u4 */ {u4, u4, u4, u4, u8, i8, i8, i8, i8, f2, bf, f4},
    /* u8 */ {u8, u8, u8, u8, u8, f4, f4, f4, f4, f2, bf, f4},
    /* i1 */ {i1, i2, i4, i8, f4, i1, i2, i4, i8, f2, bf, f4},
    /* i2 */ {i2, i2, i4, i8, f4, i2, i2, i4, i8, f2, bf, f4},
    /* i4 */ {i4, i4, i4, i8, f4, i4, i4, i4, i8, f2, bf, f4},
    /* i8 */ {i8, i8, i8, i8, f4, i8, i8, i8, i8, f2, bf, f4},
    /* f2 */ {f2, f2, f2, f2, f2, f2, f2, f2, f2, f2, f4, f4},
    /* bf */ {bf, bf, bf, bf, bf, bf, bf, bf, bf, f4, bf, f4},
    /* f4 */ {f4, f4, f4, f4, f4, f4, f4, f4, f4, f4, f4, f4},
};
}  // namespace

int size_of(Dtype dtype) { return kInfo[static_cast<int>(dtype)].size; }

const char* dtype_name(Dtype dtype) { return kInfo[static_cast<int>(dtype)].name; }

Dtype dtype_from_name(const std::string& name) {
  for (int i = 0; i < kNumDtypes; ++i) {
    if (name == kInfo[i].name) return static_cast<Dtype>(i);
  }
  throw Error("unknown dtype '" + name + "'");
}

bool is_floating(Dtype d) { return d == D::float16 || d == D::bfloat16 || d == D::float32; }

bool is_unsigned_integral(Dtype d) {
  return d == D::uint8 || d == D::uint16 || d == D::uint32 || d == D::uint64;
}

bool is_signed_integral(Dtype d) {
  return d == D::int8 || d == D::int16 || d == D::int32 || d == D::int64;
}

bool is_integral(Dtype d) { return is_signed_integral(d) || is_unsigned_integral(d); }

Dtype promote_types(Dtype a, Dtype bb) {
  return kPromote[static_cast<int>(a)][static_cast<int>(bb)];
}

}  // namespace lamina::core
