// The MLX golden files (../shared/testdata/mlx-golden, see its README): loading them, the
// bits x group-size cases they cover, and the tolerance a quantized product is held to
// against MLX's. Header-only: the CPU and the Vulkan quantization tests share it.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "libcore/array/array.h"
#include "libcore/ops/ops.h"
#include "libcore/io/safetensors.h"
#include "tests/test_util.h"

namespace lamina::test {

// The tensors of mlx-golden/<name>.safetensors.
inline std::map<std::string, core::Array> mlx_golden(const std::string& name) {
  return io::load_safetensors(testdata("mlx-golden/" + name + ".safetensors")).tensors;
}

struct GoldenCase {
  int bits, group;
};

// Every bits x group size with a golden file, and its name ("q4_g64").
inline std::vector<GoldenCase> all_golden_cases() {
  std::vector<GoldenCase> c;
  for (int b : {2, 3, 4, 5, 6, 8}) {
    for (int g : {32, 64, 128}) c.push_back({b, g});
  }
  return c;
}
inline std::string golden_case_name(const GoldenCase& c) {
  // Built by appending: GCC 12 reports a false -Wstringop-overflow for "q" + ...
  std::string name = "q";
  name += std::to_string(c.bits);
  name += "_g";
  name += std::to_string(c.group);
  return name;
}

// The bytes of a's elements in row-major order.
inline std::vector<uint8_t> array_bytes(const core::Array& a_in) {
  core::Array a = core::contiguous(a_in);
  a.eval();
  const auto* p = static_cast<const uint8_t*>(a.raw_data());
  return std::vector<uint8_t>(p, p + a.nbytes());
}

// got equals want byte for byte (shape and dtype too); names the first differing element.
inline void expect_bitwise_equal(const core::Array& got, const core::Array& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  auto g = array_bytes(got), w = array_bytes(want);
  size_t first = 0;
  while (first < g.size() && g[first] == w[first]) ++first;
  EXPECT_EQ(first, g.size()) << what << ": first differing byte " << first << " (element "
                             << first / got.itemsize() << ")";
}

// y (`repeat` copies of the golden [3, 8] product) against MLX's y_qmm within what float32
// summation can lose: 1e-6 * sum_k |x_k| (|scale * code_k| + |bias|).
inline void expect_quantized_matmul_matches_golden(const core::Array& y, const std::map<std::string, core::Array>& t,
                                                   int group, int repeat) {
  auto x = t.at("x").to_vector<double>();
  auto wd = t.at("w_dequant").to_vector<double>();
  auto bias = t.at("biases").to_vector<double>();
  auto ref = t.at("y_qmm").to_vector<double>();
  auto got = y.to_vector<double>();
  const int64_t M = 3, N = 8, K = 256;
  ASSERT_EQ(got.size(), static_cast<size_t>(repeat * M * N));
  for (int r = 0; r < repeat; ++r) {
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t n = 0; n < N; ++n) {
        double mag = 0;
        for (int64_t k = 0; k < K; ++k) {
          const double b = bias[n * (K / group) + k / group];
          mag += std::abs(x[m * K + k]) * (std::abs(wd[n * K + k] - b) + std::abs(b));
        }
        EXPECT_NEAR(got[(r * M + m) * N + n], ref[m * N + n], 1e-6 * mag + 1e-30) << "m " << m << " n " << n;
      }
    }
  }
}

}  // namespace lamina::test
