// Dtype sizes, names, half conversions and the promotion table.
#include <gtest/gtest.h>

#include <cmath>

#include "libcore/array/dtype.h"
#include "libcore/array/half.h"
#include "libcore/error.h"

using namespace lamina::core;

TEST(Dtype, SizesAndNames) {
  EXPECT_EQ(size_of(Dtype::bool_), 1);
  EXPECT_EQ(size_of(Dtype::bfloat16), 2);
  EXPECT_EQ(size_of(Dtype::int64), 8);
  EXPECT_STREQ(dtype_name(Dtype::float16), "float16");
  EXPECT_EQ(dtype_from_name("uint32"), Dtype::uint32);
  EXPECT_THROW(dtype_from_name("float64"), lamina::Error);
}

TEST(Dtype, PromotionFollowsMlx) {
  EXPECT_EQ(promote_types(Dtype::bool_, Dtype::int8), Dtype::int8);
  EXPECT_EQ(promote_types(Dtype::uint8, Dtype::int8), Dtype::int16);
  EXPECT_EQ(promote_types(Dtype::uint32, Dtype::int32), Dtype::int64);
  EXPECT_EQ(promote_types(Dtype::uint64, Dtype::int64), Dtype::float32);
  EXPECT_EQ(promote_types(Dtype::int64, Dtype::float16), Dtype::float16);
  EXPECT_EQ(promote_types(Dtype::float16, Dtype::bfloat16), Dtype::float32);
  EXPECT_EQ(promote_types(Dtype::bfloat16, Dtype::uint8), Dtype::bfloat16);
  // Symmetric everywhere.
  for (int i = 0; i < kNumDtypes; ++i) {
    for (int j = 0; j < kNumDtypes; ++j) {
      EXPECT_EQ(promote_types(Dtype(i), Dtype(j)), promote_types(Dtype(j), Dtype(i)));
    }
  }
}

TEST(Half, Float16RoundTripsEveryPattern) {
  for (uint32_t b = 0; b < 65536; ++b) {
    float f = half_bits_to_float(static_cast<uint16_t>(b));
    if (std::isnan(f)) continue;
    EXPECT_EQ(float_to_half_bits(f), b) << b;
  }
}

TEST(Half, Float16RoundsHalfToEven) {
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties to even (1.0).
  EXPECT_EQ(float_to_half_bits(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(float_to_half_bits(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(float_to_half_bits(65520.0f), 0x7c00);  // rounds to inf
  EXPECT_EQ(float_to_half_bits(65519.0f), 0x7bff);
  EXPECT_EQ(float_to_half_bits(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_half_bits(std::ldexp(1.0f, -25)), 0x0000);  // tie to even -> 0
}

TEST(Half, BFloat16RoundTripsAndRounds) {
  for (uint32_t b = 0; b < 65536; ++b) {
    float f = bfloat_bits_to_float(static_cast<uint16_t>(b));
    if (std::isnan(f)) continue;
    EXPECT_EQ(float_to_bfloat_bits(f), b);
  }
  EXPECT_EQ(float_to_bfloat_bits(1.0f + std::ldexp(1.0f, -8)), 0x3f80);  // tie to even
  EXPECT_EQ(float_to_bfloat_bits(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_TRUE(std::isnan(bfloat_bits_to_float(float_to_bfloat_bits(NAN))));
}
