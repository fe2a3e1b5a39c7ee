// Products with a folded rms_norm (matmul(rms_norm(x, w), b), fold_norm) on the GPU against
// the CPU: the float and quantized matvecs normalising x as they load it (16-byte and
// element paths, a norm weight off 16-byte alignment, batched matvecs), with and without
// subgroups, and the tiled kernels multiplying rows normalised first; each with and without
// an addend. The values themselves are checked against a double loop in
// tests/ops/matmul_norm_test.cpp.
#include <gtest/gtest.h>

#include <string>

#include "quant/quantized_primitives.h"
#include "tests/vulkan/vulkan_test_util.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

constexpr float kEps = 1e-5f;

// The norm weight [K] of dtype: at element 0 of its buffer, or (`offset`) a view 3 elements
// into a longer array (not 16-byte aligned: the kernels' element path).
Array norm_weight(int64_t K, Dtype dtype, bool offset) {
  Array w = astype(random_array({K + 3}, 5), dtype);
  return offset ? slice_axis(w, 0, 3, K + 3) : slice_axis(w, 0, 0, K);
}

TEST(VulkanMatmulNorm, FloatMatvecAndTilesMatchCpu) {
  LAMINA_REQUIRE_VULKAN();
  struct Case {
    int64_t batch, rows, K, N;
    bool offset_w;
  };
  with_and_without_subgroups([&] {
    // Matvecs (one row; K with a 16-byte tail, odd N, a batch, an unaligned weight) and the
    // tiles (a few rows, which normalise before the product).
    for (const Case s : {Case{1, 1, 64, 40, false}, Case{1, 1, 37, 9, false}, Case{3, 1, 24, 33, false},
                         Case{1, 1, 64, 40, true}, Case{1, 3, 48, 20, false}, Case{2, 2, 96, 80, false}}) {
      for (Dtype dtype : {Dtype::float32, Dtype::float16, Dtype::bfloat16}) {
        for (bool with_c : {false, true}) {
          SCOPED_TRACE(std::to_string(s.batch) + "x" + std::to_string(s.rows) + "x" + std::to_string(s.K) + "x" +
                       std::to_string(s.N) + " " + dtype_name(dtype) + (s.offset_w ? " offset w" : "") +
                       (with_c ? " + c" : ""));
          expect_gpu_matches_cpu(
              vk_device,
              [&] {
                Array x = astype(random_array({s.batch, s.rows, s.K}, 1, -3, 3), dtype);
                Array b = astype(random_array({s.N, s.K}, 2), dtype);
                Array y = matmul(fast::rms_norm(x, norm_weight(s.K, dtype, s.offset_w), kEps), transpose(b));
                if (with_c) y = y + astype(random_array({s.batch, s.rows, s.N}, 3, -4, 4), dtype);
                return expect_folded_product(y, "rms_norm");
              },
              product_tolerance(dtype), product_tolerance(dtype) / 4);
        }
      }
    }
  });
}

TEST(VulkanMatmulNorm, QuantizedMatvecAndTilesMatchCpu) {
  LAMINA_REQUIRE_VULKAN();
  const int64_t N = 72, K = 256;
  with_and_without_subgroups([&] {
    for (const XScalesDtypes dtypes : kXScalesDtypes) {
      const Dtype x_dtype = dtypes.x, w_dtype = dtypes.scales;
      for (int64_t rows : {1, 3, 4}) {
        for (bool offset_w : {false, true}) {
          for (bool with_c : {false, true}) {
            SCOPED_TRACE(std::to_string(rows) + " rows, x " + dtype_name(x_dtype) + ", scales " +
                         dtype_name(w_dtype) + (offset_w ? ", offset w" : "") + (with_c ? ", + c" : ""));
            const Dtype out_dtype = x_dtype == w_dtype ? x_dtype : Dtype::float32;
            expect_gpu_matches_cpu(
                vk_device,
                [&] {
                  auto q = quantize(astype(random_array({N, K}, 11), w_dtype), 64, 4);
                  Array x = astype(random_array({rows, K}, 12, -3, 3), x_dtype);
                  Array y = quantized_matmul(fast::rms_norm(x, norm_weight(K, x_dtype, offset_w), kEps), q.weight,
                                             q.scales, q.biases, true, 64, 4);
                  if (with_c) y = add(astype(random_array({rows, N}, 13, -4, 4), out_dtype), y);
                  return expect_folded_product(y, "rms_norm");
                },
                product_tolerance(out_dtype), product_tolerance(out_dtype) / 4);
          }
        }
      }
    }
    // The untransposed weight [K, N] (the tiled kernel, which normalises the rows first).
    expect_gpu_matches_cpu(
        vk_device,
        [&] {
          auto q = quantize(random_array({K, 128}, 14), 64, 4);
          Array x = random_array({3, K}, 15, -3, 3);
          Array xn = fast::rms_norm(x, norm_weight(K, Dtype::float32, false), kEps);
          return expect_folded_product(quantized_matmul(xn, q.weight, q.scales, q.biases, false, 64, 4), "rms_norm");
        },
        product_tolerance(Dtype::float32), product_tolerance(Dtype::float32) / 4);
  });
}

}  // namespace
}  // namespace lamina::test
