// Gated products (swiglu(x @ Wg, x @ Wu) as one node, fold_swiglu) on the GPU against the
// CPU: the float and quantized matvecs computing both products per team (16-byte and
// element paths, batched matvecs), with and without subgroups and a folded norm; an up
// weight laid out unlike the gate's and the tiles (a few float rows), which compute the
// two products and then swiglu. The values themselves are checked against a double loop in
// tests/ops/matmul_swiglu_test.cpp.
#include <gtest/gtest.h>

#include <string>

#include "quant/quantized_primitives.h"
#include "tests/vulkan/vulkan_test_util.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

constexpr float kEps = 1e-5f;

TEST(VulkanMatmulSwiglu, FloatMatvecAndTilesMatchCpu) {
  LAMINA_REQUIRE_VULKAN();
  struct Case {
    int64_t batch, rows, K, N;
    bool up_untransposed;  // the up weight [K, N] row-major (strides unlike the gate's)
  };
  with_and_without_subgroups([&] {
    // Matvecs (one row; K with a 16-byte tail, odd N, a batch, an up weight laid out unlike
    // the gate's) and the tiles (2-4 rows).
    for (const Case s : {Case{1, 1, 64, 40, false}, Case{1, 1, 37, 9, false}, Case{3, 1, 24, 33, false},
                         Case{1, 1, 64, 40, true}, Case{1, 3, 48, 20, false}, Case{2, 2, 96, 80, false},
                         Case{1, 4, 64, 24, false}}) {
      for (Dtype dtype : {Dtype::float32, Dtype::float16, Dtype::bfloat16}) {
        for (bool norm : {false, true}) {
          SCOPED_TRACE(std::to_string(s.batch) + "x" + std::to_string(s.rows) + "x" + std::to_string(s.K) + "x" +
                       std::to_string(s.N) + " " + dtype_name(dtype) + (s.up_untransposed ? " up [K, N]" : "") +
                       (norm ? " rms_norm" : ""));
          expect_gpu_matches_cpu(
              vk_device,
              [&] {
                Array x = astype(random_array({s.batch, s.rows, s.K}, 1, -1.5f, 1.5f), dtype);
                Array bg = astype(random_array({s.N, s.K}, 2, -0.5f, 0.5f), dtype);
                Array bu = s.up_untransposed ? astype(random_array({s.K, s.N}, 3, -0.5f, 0.5f), dtype)
                                             : transpose(astype(random_array({s.N, s.K}, 3, -0.5f, 0.5f), dtype));
                Array a = norm ? fast::rms_norm(x, astype(random_array({s.K}, 4), dtype), kEps) : x;
                return expect_folded_product(swiglu(matmul(a, transpose(bg)), matmul(a, bu)), "swiglu");
              },
              product_tolerance(dtype), product_tolerance(dtype) / 4);
        }
      }
    }
  });
}

TEST(VulkanMatmulSwiglu, QuantizedMatvecMatchesCpu) {
  LAMINA_REQUIRE_VULKAN();
  const int64_t N = 72, K = 256;
  with_and_without_subgroups([&] {
    for (const XScalesDtypes dtypes : kXScalesDtypes) {
      const Dtype x_dtype = dtypes.x, w_dtype = dtypes.scales;
      for (int64_t rows : {1, 3, 4}) {
        for (bool norm : {false, true}) {
          SCOPED_TRACE(std::to_string(rows) + " rows, x " + dtype_name(x_dtype) + ", scales " + dtype_name(w_dtype) +
                       (norm ? ", rms_norm" : ""));
          const Dtype out_dtype = x_dtype == w_dtype ? x_dtype : Dtype::float32;
          expect_gpu_matches_cpu(
              vk_device,
              [&] {
                auto qg = quantize(astype(random_array({N, K}, 11, -0.3f, 0.3f), w_dtype), 64, 4);
                auto qu = quantize(astype(random_array({N, K}, 12, -0.3f, 0.3f), w_dtype), 64, 4);
                Array x = astype(random_array({rows, K}, 13, -1.5f, 1.5f), x_dtype);
                Array a = norm ? fast::rms_norm(x, astype(random_array({K}, 14), x_dtype), kEps) : x;
                Array g = quantized_matmul(a, qg.weight, qg.scales, qg.biases, true, 64, 4);
                Array u = quantized_matmul(a, qu.weight, qu.scales, qu.biases, true, 64, 4);
                return expect_folded_product(swiglu(g, u), "swiglu");
              },
              product_tolerance(out_dtype), product_tolerance(out_dtype) / 4);
        }
      }
    }
  });
}

}  // namespace
}  // namespace lamina::test
