// Affine quantization against MLX's own outputs (../shared/testdata/mlx-golden): packed
// words, scales and biases bit for bit, dequantization bit for bit, quantized_matmul
// within float32 rounding (direct and panel paths), its vjp, and the argument checks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "libcore/io/safetensors.h"
#include "libcore/ops/ops.h"
#include "tests/quant/mlx_golden.h"
#include "tests/test_util.h"

using namespace lamina;
using namespace lamina::core;
using namespace lamina::test;

namespace {

TEST(QuantizeGolden, PackedScalesBiasesBitExact) {
  for (const GoldenCase& c : all_golden_cases()) {
    SCOPED_TRACE(golden_case_name(c));
    auto t = mlx_golden(golden_case_name(c));
    auto q = quantize(t.at("w"), c.group, c.bits);
    eval({q.weight, q.scales, q.biases});
    expect_bitwise_equal(q.weight, t.at("wq"), "wq");
    expect_bitwise_equal(q.scales, t.at("scales"), "scales");
    expect_bitwise_equal(q.biases, t.at("biases"), "biases");
  }
}

TEST(QuantizeGolden, DequantizeBitExact) {
  for (const GoldenCase& c : all_golden_cases()) {
    SCOPED_TRACE(golden_case_name(c));
    auto t = mlx_golden(golden_case_name(c));
    Array d = dequantize(t.at("wq"), t.at("scales"), t.at("biases"), c.group, c.bits);
    expect_bitwise_equal(d, t.at("w_dequant"), "w_dequant");
  }
}

TEST(QuantizeGolden, HalfPrecisionInputs) {
  for (std::string dtype : {"bfloat16", "float16"}) {
    for (int bits : {4, 8}) {
      std::string name = "dtype_" + dtype + "_q" + std::to_string(bits) + "_g64";
      SCOPED_TRACE(name);
      auto t = mlx_golden(name);
      auto q = quantize(t.at("w"), 64, bits);
      eval({q.weight, q.scales, q.biases});
      expect_bitwise_equal(q.weight, t.at("wq"), "wq");
      expect_bitwise_equal(q.scales, t.at("scales"), "scales");
      expect_bitwise_equal(q.biases, t.at("biases"), "biases");
      Array d = dequantize(t.at("wq"), t.at("scales"), t.at("biases"), 64, bits);
      expect_bitwise_equal(d, t.at("w_dequant"), "w_dequant");
    }
  }
}

TEST(QuantizeGolden, PackingExamples) {
  for (int bits : {2, 3, 4, 5, 6, 8}) {
    SCOPED_TRACE(bits);
    auto t = mlx_golden("packing_q" + std::to_string(bits));
    auto q = quantize(t.at("w"), 64, bits);
    eval({q.weight, q.scales, q.biases});
    expect_bitwise_equal(q.weight, t.at("wq"), "wq");
    expect_bitwise_equal(q.scales, t.at("scales"), "scales");
    expect_bitwise_equal(q.biases, t.at("biases"), "biases");
    // Dequantizing gives back the codes shifted by the bias (all exact in float32).
    Array d = dequantize(t.at("wq"), t.at("scales"), t.at("biases"), 64, bits);
    expect_bitwise_equal(d, t.at("w"), "dequantized");
  }
}

TEST(QuantizedMatmulGolden, DirectPathMatchesMlx) {
  for (const GoldenCase& c : all_golden_cases()) {
    SCOPED_TRACE(golden_case_name(c));
    auto t = mlx_golden(golden_case_name(c));
    Array y = quantized_matmul(t.at("x"), t.at("wq"), t.at("scales"), t.at("biases"), true,
                               c.group, c.bits);
    ASSERT_EQ(y.shape(), (Shape{3, 8}));
    expect_quantized_matmul_matches_golden(y, t, c.group, 1);
  }
}

TEST(QuantizedMatmulGolden, PanelPathMatchesMlx) {
  // 12 rows (x repeated 4 times, as a [4, 3, 256] batch) take the dequantize + sgemm path.
  for (const GoldenCase& c : all_golden_cases()) {
    SCOPED_TRACE(golden_case_name(c));
    auto t = mlx_golden(golden_case_name(c));
    Array x = broadcast_to(t.at("x"), {4, 3, 256});
    Array y = quantized_matmul(x, t.at("wq"), t.at("scales"), t.at("biases"), true, c.group, c.bits);
    ASSERT_EQ(y.shape(), (Shape{4, 3, 8}));
    expect_quantized_matmul_matches_golden(y, t, c.group, 4);
  }
}

TEST(QuantizedMatmulGolden, HalfInputsPromote) {
  auto t = mlx_golden("q4_g64");
  Array y = quantized_matmul(astype(t.at("x"), Dtype::bfloat16), t.at("wq"), t.at("scales"),
                             t.at("biases"), true, 64, 4);
  EXPECT_EQ(y.dtype(), Dtype::float32);  // promoted with the float32 scales
  auto ref = t.at("y_qmm").to_vector<double>();
  auto got = y.to_vector<double>();
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(got[i], ref[i], 0.05 * (1 + std::abs(ref[i])));
}

TEST(QuantizedMatmulGolden, VjpWithRespectToInput) {
  // d/dx sum(x @ W^T) = column sums of W; d/dx sum(x @ W) (untransposed, a [256, N] weight
  // built from the golden rows) likewise, both from MLX's w_dequant.
  for (const GoldenCase& c : all_golden_cases()) {
    SCOPED_TRACE(golden_case_name(c));
    auto t = mlx_golden(golden_case_name(c));
    Array wq = t.at("wq"), s = t.at("scales"), b = t.at("biases");
    auto [out, grads] = vjp(
        [&](const std::vector<Array>& p) {
          return std::vector<Array>{quantized_matmul(p[0], wq, s, b, true, c.group, c.bits)};
        },
        {t.at("x")}, {ones({3, 8})});
    auto wd = t.at("w_dequant").to_vector<double>();
    auto dx = grads[0].to_vector<double>();
    ASSERT_EQ(grads[0].shape(), (Shape{3, 256}));
    for (int64_t m = 0; m < 3; ++m) {
      for (int64_t k = 0; k < 256; ++k) {
        double want = 0, mag = 0;
        for (int64_t n = 0; n < 8; ++n) {
          want += wd[n * 256 + k];
          mag += std::abs(wd[n * 256 + k]);
        }
        EXPECT_NEAR(dx[m * 256 + k], want, 1e-5 * mag + 1e-6) << m << "," << k;
      }
    }
    // The untransposed product x2 [2, 8] @ W [8, 256] against the golden dequantized rows.
    Array x2 = Array(std::vector<float>{1, -2, 0.5f, 3, -1, 0.25f, 2, -0.75f, 0.1f, 0.2f, 0.3f,
                                        0.4f, -0.5f, -0.6f, 0.7f, 0.8f},
                     {2, 8});
    Array y2 = quantized_matmul(x2, wq, s, b, false, c.group, c.bits);
    ASSERT_EQ(y2.shape(), (Shape{2, 256}));
    auto xv = x2.to_vector<double>();
    auto yv = y2.to_vector<double>();
    for (int64_t m = 0; m < 2; ++m) {
      for (int64_t k = 0; k < 256; ++k) {
        double want = 0, mag = 0;
        for (int64_t n = 0; n < 8; ++n) {
          want += xv[m * 8 + n] * wd[n * 256 + k];
          mag += std::abs(xv[m * 8 + n] * wd[n * 256 + k]);
        }
        EXPECT_NEAR(yv[m * 256 + k], want, 1e-5 * mag + 1e-6);
      }
    }
  }
}

TEST(QuantizeErrors, UnsupportedBitsAndGroupSizes) {
  Array w = test::random_array({4, 256}, 1);
  for (int bits : {1, 7, 9}) {
    try {
      quantize(w, 64, bits);
      FAIL() << "bits " << bits << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("number of bits " + std::to_string(bits)), std::string::npos)
          << e.what();
    }
  }
  for (int group : {16, 256}) {
    try {
      quantize(w, group, 4);
      FAIL() << "group " << group << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("group size " + std::to_string(group)), std::string::npos)
          << e.what();
    }
  }
}

TEST(QuantizeErrors, IndivisibleLastDimension) {
  Array w = test::random_array({4, 96}, 2);
  EXPECT_THROW(quantize(w, 64, 4), Error);
  EXPECT_NO_THROW(quantize(w, 32, 4));
}

TEST(QuantizeErrors, ScalesShapeDisagreesWithBits) {
  auto t = mlx_golden("q4_g64");
  // 4-bit g64 tensors read as 8-bit or as group 32: the scales no longer fit.
  EXPECT_THROW(dequantize(t.at("wq"), t.at("scales"), t.at("biases"), 64, 8), Error);
  EXPECT_THROW(dequantize(t.at("wq"), t.at("scales"), t.at("biases"), 32, 4), Error);
  EXPECT_THROW(quantized_matmul(t.at("x"), t.at("wq"), t.at("scales"), t.at("biases"), true, 64, 8),
               Error);
  EXPECT_THROW(quantized_matmul(t.at("x"), t.at("wq"), slice_axis(t.at("scales"), 1, 0, 2),
                                t.at("biases"), true, 64, 4),
               Error);
}

}  // namespace
