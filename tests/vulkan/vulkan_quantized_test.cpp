// Quantized kernels on the GPU: QuantizedMatmul (matvec and tiled paths) and
// AffineDequantize against MLX's golden outputs (../shared/testdata/mlx-golden, every bits x
// group size; dequantization bit for bit) and against the CPU backend on random weights of
// awkward shapes (odd N, strided and broadcast x, float16/bfloat16 scales, the untransposed
// product of the vjp, the quantized embedding's gather + dequantize). Tolerances: float32
// as tests/quant (1e-6 of the magnitude sum) for the goldens, 1e-4 against the CPU;
// float16 4e-3, bfloat16 3e-2.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <string>

#include "libcore/backend/vulkan/instance.h"
#include "libcore/io/safetensors.h"
#include "libcore/ops/ops.h"
#include "tests/quant/mlx_golden.h"
#include "tests/vulkan/vulkan_test_util.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

TEST(VulkanQuantized, MatmulMatchesMlxGolden) {
  LAMINA_REQUIRE_VULKAN();
  with_and_without_subgroups([&] {
    for (const GoldenCase& c : all_golden_cases()) {
      SCOPED_TRACE(golden_case_name(c));
      auto t = mlx_golden(golden_case_name(c));
      uint64_t fallbacks = vulkan::fallback_count();
      // 3 rows: the matvec kernel; 12 (x broadcast over a batch of 4): the tiled kernel.
      Array y = run_on(Device::vulkan(vk_device), [&] {
        return quantized_matmul(t.at("x"), t.at("wq"), t.at("scales"), t.at("biases"), true, c.group, c.bits);
      });
      Array y4 = run_on(Device::vulkan(vk_device), [&] {
        return quantized_matmul(broadcast_to(t.at("x"), {4, 3, 256}), t.at("wq"), t.at("scales"), t.at("biases"),
                                true, c.group, c.bits);
      });
      EXPECT_EQ(vulkan::fallback_count(), fallbacks) << "ran on the CPU fallback";
      expect_quantized_matmul_matches_golden(y, t, c.group, 1);
      expect_quantized_matmul_matches_golden(y4, t, c.group, 4);
    }
  });
}

TEST(VulkanQuantized, DequantizeBitExactWithMlx) {
  LAMINA_REQUIRE_VULKAN();
  std::vector<std::pair<std::string, GoldenCase>> files;
  for (const GoldenCase& c : all_golden_cases()) files.push_back({golden_case_name(c), c});
  for (const char* d : {"bfloat16", "float16"}) {
    for (int bits : {4, 8}) {
      std::string name = "dtype_";
      name += d;
      name += "_" + golden_case_name({bits, 64});
      files.push_back({name, {bits, 64}});
    }
  }
  for (const auto& file : files) {
    const std::string& name = file.first;
    const GoldenCase c = file.second;  // a plain variable: clang 14 cannot capture bindings
    SCOPED_TRACE(name);
    auto t = mlx_golden(name);
    uint64_t fallbacks = vulkan::fallback_count();
    Array d = run_on(Device::vulkan(vk_device),
                     [&] { return dequantize(t.at("wq"), t.at("scales"), t.at("biases"), c.group, c.bits); });
    EXPECT_EQ(vulkan::fallback_count(), fallbacks) << "ran on the CPU fallback";
    ASSERT_EQ(d.dtype(), t.at("scales").dtype());
    // The dtype files carry no w_dequant: the CPU's (checked bit-exact by tests/quant) stands in.
    Array want = t.count("w_dequant") ? t.at("w_dequant")
                                      : run_on(Device::cpu(), [&] {
                                          return dequantize(t.at("wq"), t.at("scales"), t.at("biases"), c.group, c.bits);
                                        });
    EXPECT_EQ(array_bytes(d), array_bytes(want));
  }
}

TEST(VulkanQuantized, MatmulMatchesCpuOnAwkwardShapes) {
  LAMINA_REQUIRE_VULKAN();
  Array w = random_array({131, 384}, 1);
  Array x1 = random_array({1, 384}, 2);
  Array x6 = random_array({2, 3, 384}, 3);
  Array xt = transpose(random_array({384, 70}, 4));  // k stride 70: a strided view
  with_and_without_subgroups([&] {
    for (Dtype d : {Dtype::float32, Dtype::float16, Dtype::bfloat16}) {
      SCOPED_TRACE(dtype_name(d));
      const double tol = d == Dtype::float32 ? 1e-4 : d == Dtype::float16 ? 4e-3 : 3e-2;
      for (int bits : {2, 3, 4, 5, 6, 8}) {
        for (int group : {32, 64, 128}) {
          SCOPED_TRACE(std::to_string(bits) + " bits, group " + std::to_string(group));
          auto q = quantize(astype(w, d), group, bits);
          auto qmm = [&](const Array& x) {
            return [&, x] { return quantized_matmul(astype(x, d), q.weight, q.scales, q.biases, true, group, bits); };
          };
          expect_gpu_matches_cpu(vk_device, qmm(x1), tol, tol);
          expect_gpu_matches_cpu(vk_device, qmm(x6), tol, tol);
          if (bits == 4 || bits == 3) expect_gpu_matches_cpu(vk_device, qmm(xt), tol, tol);
        }
      }
      // The vjp's untransposed product x [.., 131] @ W [131, 384] (W's 131 rows, not a
      // multiple of the 32-row slices), and the vjp itself.
      for (int bits : {3, 4, 8}) {
        auto q = quantize(astype(w, d), 64, bits);
        Array g = random_array({2, 5, 131}, 11);
        expect_gpu_matches_cpu(
            vk_device, [&] { return quantized_matmul(astype(g, d), q.weight, q.scales, q.biases, false, 64, bits); },
            tol, tol);
        expect_gpu_matches_cpu(vk_device, [&] {
          auto [outs, grads] = vjp([&](const std::vector<Array>& p) {
            return std::vector<Array>{quantized_matmul(p[0], q.weight, q.scales, q.biases, true, 64, bits)};
          }, {astype(x6, d)}, {astype(random_array({2, 3, 131}, 12), d)});
          return grads[0];
        }, tol, tol);
      }
      // Mixed dtypes promote to float32: float32 x with half scales.
      auto q = quantize(astype(w, d), 64, 4);
      expect_gpu_matches_cpu(vk_device, [&] { return quantized_matmul(x6, q.weight, q.scales, q.biases, true, 64, 4); },
                             tol, tol);
    }
  });
}

// The tensor-core kernel (quantized_matmul_coopmat.comp: float16 x, 5 rows or more;
// skipped on devices without VK_NV_cooperative_matrix) against the CPU: every bits x group
// size with float16 scales, float32 scales (float32 out), x read 16 bytes at a time or
// element by element (a view one element in), 7 rows, N = 131 (a partial tile), 64- and 128-row
// tiles. Each also with LAMINA_VULKAN_COOPMAT=0.
// The tensor cores multiply W rounded to float16 (as llama.cpp's cooperative-matrix
// kernels do): up to 2^-11 relative per weight, ~1e-3 absolute (one standard deviation) on
// these outputs, and 4-5 of them among the ~700k outputs checked (seen on an H200). So the
// kernel is held tightly to the CPU's product with the same float16-rounded W, and loosely
// (1.5e-2 absolute) to the exact one.
TEST(VulkanQuantized, MatmulCooperativeMatrixMatchesCpu) {
  LAMINA_REQUIRE_VULKAN();
  if (vulkan::coopmat_shape_n(vulkan::devices()[vk_device]) == 0) {
    GTEST_SKIP() << "no VK_NV_cooperative_matrix float16 shape on this device";
  }
  Array w = random_array({131, 384}, 31);
  Array x = astype(random_array({2, 40, 385}, 32), Dtype::float16);
  Array x_big = astype(random_array({1300, 256}, 33), Dtype::float16);
  Array w_big = random_array({3000, 256}, 34);
  const double tol = 4e-3;
  for (const char* value : {"1", "0"}) {
    SCOPED_TRACE(std::string("LAMINA_VULKAN_COOPMAT=") + value);
    setenv("LAMINA_VULKAN_COOPMAT", value, 1);
    const bool coopmat = std::string(value) == "1";
    auto check = [&](const Array& in, const QuantizedArrays& q, int group, int bits) {
      auto qmm = [&] { return quantized_matmul(in, q.weight, q.scales, q.biases, true, group, bits); };
      if (!coopmat) return expect_gpu_matches_cpu(vk_device, qmm, tol, tol);
      Array got = run_on(Device::vulkan(vk_device), qmm);
      Array rounded = run_on(Device::cpu(), [&] {
        // As the kernel: scale * code + bias in float32, rounded to float16.
        Array w32 = dequantize(q.weight, astype(q.scales, Dtype::float32), astype(q.biases, Dtype::float32), group, bits);
        Array w16 = astype(astype(w32, Dtype::float16), Dtype::float32);
        return matmul(astype(in, Dtype::float32), transpose(w16));
      });
      expect_arrays_close(got, rounded, tol, tol);
      expect_gpu_matches_cpu(vk_device, qmm, 1.5e-2, tol);
    };
    Array x_aligned = slice(x, {0, 0, 0}, {2, 40, 384});
    Array x_offset = slice(x, {0, 0, 1}, {2, 40, 385});
    Array x_short = slice(x, {0, 0, 0}, {1, 7, 384});  // a short prompt: one partial tile
    for (int bits : {2, 3, 4, 5, 6, 8}) {
      for (int group : {32, 64, 128}) {
        SCOPED_TRACE(std::to_string(bits) + " bits, group " + std::to_string(group));
        for (Dtype st : {Dtype::float16, Dtype::float32}) {
          auto q = quantize(astype(w, st), group, bits);
          for (const Array& in : {x_aligned, x_offset, x_short}) check(in, q, group, bits);
        }
      }
    }
    check(x_big, quantize(astype(w_big, Dtype::float16), 64, 4), 64, 4);
  }
  unsetenv("LAMINA_VULKAN_COOPMAT");
}

// The matvec kernel's load paths and row blocking: rows of 13 packs (2- and 6-bit rows not
// 16-byte aligned: word loads; 4- and 8-bit: 16-byte loads), a weight starting past its
// first row, x read 16 bytes at a time or element by element (a view one element in),
// packs not a multiple of the lanes, and enough outputs for 2 and 4 of them per team.
TEST(VulkanQuantized, MatvecLoadPathsMatchCpu) {
  LAMINA_REQUIRE_VULKAN();
  Array w = random_array({67, 416}, 21);
  Array x = random_array({3, 417}, 22);
  Array x_rows = random_array({3, 416}, 25);
  Array tall = random_array({16411, 256}, 23);
  Array x_tall = random_array({2, 256}, 24);
  with_and_without_subgroups([&] {
    for (Dtype d : {Dtype::float32, Dtype::float16, Dtype::bfloat16}) {
      SCOPED_TRACE(dtype_name(d));
      const double tol = d == Dtype::float32 ? 1e-4 : d == Dtype::float16 ? 4e-3 : 3e-2;
      for (int bits : {2, 3, 4, 6, 8}) {
        SCOPED_TRACE(std::to_string(bits) + " bits");
        auto q = quantize(astype(w, d), 32, bits);
        const int64_t words = q.weight.shape(1), groups = q.scales.shape(1);
        Array xd = astype(x, d);
        auto qmm = [&](const Array& in, bool skip_row) {
          Array wq = skip_row ? slice(q.weight, {1, 0}, {67, words}) : q.weight;
          Array s = skip_row ? slice(q.scales, {1, 0}, {67, groups}) : q.scales;
          Array b = skip_row ? slice(q.biases, {1, 0}, {67, groups}) : q.biases;
          return quantized_matmul(in, wq, s, b, true, 32, bits);
        };
        expect_gpu_matches_cpu(vk_device, [&] { return qmm(astype(x_rows, d), false); }, tol, tol);
        expect_gpu_matches_cpu(vk_device, [&] { return qmm(slice(xd, {0, 1}, {3, 417}), false); }, tol, tol);
        expect_gpu_matches_cpu(vk_device, [&] { return qmm(slice(xd, {1, 0}, {2, 416}), true); }, tol, tol);
      }
      auto q = quantize(astype(tall, d), 64, 4);
      expect_gpu_matches_cpu(
          vk_device, [&] { return quantized_matmul(astype(x_tall, d), q.weight, q.scales, q.biases, true, 64, 4); }, tol,
          tol);
    }
  });
}

TEST(VulkanQuantized, EmbeddingGatherDequantize) {
  LAMINA_REQUIRE_VULKAN();
  Array table = random_array({50, 96}, 5);
  Array ids = Array(std::vector<int32_t>{3, 0, 49, 7, 7}, {1, 5});
  for (Dtype d : {Dtype::float32, Dtype::float16, Dtype::bfloat16}) {
    for (int bits : {3, 4, 6, 8}) {
      // Row-major scales and biases, as a model file gives them (quantize's are views).
      auto q = quantize(astype(table, d), 32, bits);
      q.scales = contiguous(q.scales);
      q.biases = contiguous(q.biases);
      eval({q.weight, q.scales, q.biases});
      // Bit for bit: the same two roundings as the CPU.
      expect_gpu_matches_cpu(vk_device, [&] {
        return dequantize(take(q.weight, ids, 0), take(q.scales, ids, 0), take(q.biases, ids, 0), 32, bits);
      }, 0, 0);
    }
  }
}

}  // namespace
}  // namespace lamina::test
