// Products with an addend (add(c, matmul) folded into one node, fold_addend) on the GPU
// against the CPU: the float matvec, the tiled and the quantized matvec and tiled kernels
// adding c in their store loops, with and without subgroups, c row-major or strided (a
// row-major copy), batched matvecs. The values themselves are checked against a double
// loop in tests/ops/matmul_addend_test.cpp.
#include <gtest/gtest.h>

#include <string>

#include "quant/quantized_primitives.h"
#include "tests/vulkan/vulkan_test_util.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

TEST(VulkanMatmulAddend, FloatMatvecAndTilesMatchCpu) {
  LAMINA_REQUIRE_VULKAN();
  struct Case {
    int64_t batch, rows, K, N;
  };
  with_and_without_subgroups([&] {
    // Matvecs (one row; K with a 16-byte tail, odd N, a batch), a few rows, a tile shape.
    for (const Case s : {Case{1, 1, 64, 40}, Case{1, 1, 37, 9}, Case{3, 1, 24, 33}, Case{1, 3, 48, 20},
                         Case{2, 70, 96, 80}}) {
      for (Dtype dtype : {Dtype::float32, Dtype::float16, Dtype::bfloat16}) {
        for (bool strided_c : {false, true}) {
          SCOPED_TRACE(std::to_string(s.batch) + "x" + std::to_string(s.rows) + "x" + std::to_string(s.K) + "x" +
                       std::to_string(s.N) + " " + dtype_name(dtype) + (strided_c ? " strided c" : ""));
          expect_gpu_matches_cpu(
              vk_device,
              [&] {
                Array a = astype(random_array({s.batch, s.rows, s.K}, 1), dtype);
                Array w = astype(random_array({s.N, s.K}, 2), dtype);
                Array c = strided_c ? transpose(astype(random_array({s.N, s.rows, s.batch}, 3, -4, 4), dtype))
                                    : astype(random_array({s.batch, s.rows, s.N}, 3, -4, 4), dtype);
                return expect_folded_product(matmul(a, transpose(w)) + c, "+c");
              },
              product_tolerance(dtype), product_tolerance(dtype) / 4);
        }
      }
    }
  });
}

TEST(VulkanMatmulAddend, QuantizedMatvecAndTilesMatchCpu) {
  LAMINA_REQUIRE_VULKAN();
  const int64_t N = 72, K = 256;
  with_and_without_subgroups([&] {
    for (const XScalesDtypes dtypes : kXScalesDtypes) {
      const Dtype x_dtype = dtypes.x, w_dtype = dtypes.scales;
      for (int bits : {4, 8}) {
        for (int64_t rows : {1, 3, 70}) {
          SCOPED_TRACE(std::to_string(rows) + " rows, x " + dtype_name(x_dtype) + ", scales " +
                       dtype_name(w_dtype) + ", " + std::to_string(bits) + " bits");
          const Dtype out_dtype = x_dtype == w_dtype ? x_dtype : Dtype::float32;
          expect_gpu_matches_cpu(
              vk_device,
              [&] {
                auto q = quantize(astype(random_array({N, K}, 11), w_dtype), 64, bits);
                Array x = astype(random_array({rows, K}, 12), x_dtype);
                Array c = astype(random_array({rows, N}, 13, -4, 4), out_dtype);
                Array y = quantized_matmul(x, q.weight, q.scales, q.biases, true, 64, bits);
                return expect_folded_product(add(c, y), "+c");
              },
              product_tolerance(out_dtype), product_tolerance(out_dtype) / 4);
        }
      }
    }
  });
}

}  // namespace
}  // namespace lamina::test
