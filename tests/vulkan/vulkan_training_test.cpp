// The training and quantizing kernels on the GPU: CrossEntropy / CrossEntropyGrad,
// RmsNormGrad / LayerNormGrad against the CPU backend on random inputs of awkward shapes
// (odd sizes, strided views, a 151936-entry vocabulary, float32/float16/bfloat16);
// quantize (AffineQuantParams + AffinePack) bit for bit with every MLX golden file and with
// the CPU; and `lamina lora --device vulkan` steps against the CPU's losses.
// Tolerances: the loss (float32 out) 2e-5 absolute + 1e-5 relative whatever the logits'
// dtype; gradients in float32 1e-6 + 1e-4 relative, float16 1e-5 + 4e-3, bfloat16
// 1e-4 + 3e-2 (one rounding of a value the two backends sum in another order).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "libcore/ops/fast.h"
#include "libcore/ops/fast_primitives.h"
#include "libcore/ops/ops.h"
#include "libcore/transforms/vjp.h"
#include "quant/quantized_ops.h"
#include "tests/quant/mlx_golden.h"
#include "tests/vulkan/vulkan_test_util.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

const Dtype kFloats[] = {Dtype::float32, Dtype::float16, Dtype::bfloat16};

double grad_atol(Dtype d) { return d == Dtype::float32 ? 1e-6 : d == Dtype::float16 ? 1e-5 : 1e-4; }
double grad_rtol(Dtype d) { return d == Dtype::float32 ? 1e-4 : d == Dtype::float16 ? 4e-3 : 3e-2; }

// Random targets in [0, vocab) of `dtype`.
Array random_targets(const Shape& shape, int64_t vocab, uint32_t seed, Dtype dtype = Dtype::int32) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int64_t> dist(0, vocab - 1);
  std::vector<int64_t> v(static_cast<size_t>(shape_size(shape)));
  for (auto& t : v) t = dist(gen);
  return Array(v, shape, dtype);
}

Array cross_entropy_grad(const Array& logits, const Array& targets, const Array& g) {
  return Array(logits.shape(), logits.dtype(), std::make_shared<CrossEntropyGrad>(),
               std::vector<Array>{logits, targets, g});
}

TEST(VulkanTraining, CrossEntropyOnStridedRows) {
  LAMINA_REQUIRE_VULKAN();
  // [3, 5, 37] logits as a transposed view (row step 15), large values for the max shift.
  Array base = random_array({37, 15}, 11, -30.0f, 30.0f);
  Array targets = random_targets({3, 5}, 37, 12);
  Array targets_u32 = astype(targets, Dtype::uint32);
  Array g = random_array({5, 3}, 13, -2.0f, 2.0f);  // transposed below: a strided cotangent
  for (Dtype d : kFloats) {
    SCOPED_TRACE(dtype_name(d));
    auto logits = [&] { return reshape(transpose(astype(base, d)), {3, 5, 37}); };
    expect_gpu_matches_cpu(vk_device, [&] { return fast::cross_entropy(logits(), targets); }, 2e-5, 1e-5);
    expect_gpu_matches_cpu(vk_device, [&] { return fast::cross_entropy(logits(), targets_u32); }, 2e-5, 1e-5);
    expect_gpu_matches_cpu(vk_device, [&] { return cross_entropy_grad(logits(), targets, transpose(g)); },
                           grad_atol(d), grad_rtol(d));
    // A 1-D row (one loss), and every other row and third column of a slice.
    expect_gpu_matches_cpu(vk_device,
                           [&] {
                             Array row = reshape(slice(transpose(astype(base, d)), {2, 0}, {3, 37}), {37});
                             return fast::cross_entropy(row, Array(5, Dtype::int32));
                           },
                           2e-5, 1e-5);
    expect_gpu_matches_cpu(vk_device,
                           [&] {
                             return fast::cross_entropy(slice(transpose(astype(base, d)), {1, 0}, {15, 37}, {2, 3}),
                                                        random_targets({7}, 13, 14));
                           },
                           2e-5, 1e-5);
  }
}

TEST(VulkanTraining, CrossEntropyFullVocabulary) {
  LAMINA_REQUIRE_VULKAN();
  const int64_t vocab = 151936;
  Array logits = random_array({3, vocab}, 21, -12.0f, 12.0f);
  Array targets = random_targets({3}, vocab, 22);
  Array g = random_array({3}, 23, 0.1f, 1.0f);
  for (Dtype d : kFloats) {
    SCOPED_TRACE(dtype_name(d));
    expect_gpu_matches_cpu(vk_device, [&] { return fast::cross_entropy(astype(logits, d), targets); }, 2e-5, 1e-5);
    expect_gpu_matches_cpu(vk_device, [&] { return cross_entropy_grad(astype(logits, d), targets, g); },
                           grad_atol(d), grad_rtol(d));
  }
}

TEST(VulkanTraining, CrossEntropyTargetOutsideVocabularyIsNan) {
  LAMINA_REQUIRE_VULKAN();
  // The CPU throws; a kernel cannot, so the row's loss and gradient are NaN.
  Array logits = random_array({2, 5}, 24);
  Array targets(std::vector<int32_t>{1, 7}, {2});
  Array loss = run_on(Device::vulkan(vk_device), [&] { return fast::cross_entropy(logits, targets); });
  auto v = loss.to_vector<double>();
  EXPECT_TRUE(std::isfinite(v[0]));
  EXPECT_TRUE(std::isnan(v[1]));
  Array ones(std::vector<float>{1.0f, 1.0f}, {2});
  Array grad = run_on(Device::vulkan(vk_device), [&] { return cross_entropy_grad(logits, targets, ones); });
  auto g = grad.to_vector<double>();
  EXPECT_TRUE(std::isfinite(g[0]));
  EXPECT_TRUE(std::isnan(g[5]));
}

TEST(VulkanTraining, CrossEntropyThroughValueAndGrad) {
  LAMINA_REQUIRE_VULKAN();
  // The loss as lora/trainer.cpp forms it: masked mean of the per-token losses.
  Array logits = random_array({2, 9, 101}, 31, -5.0f, 5.0f);
  Array targets = random_targets({2, 9}, 101, 32);
  Array mask = astype(greater(random_array({2, 9}, 33), Array(-0.3f)), Dtype::float32);
  expect_gpu_matches_cpu(
      vk_device,
      [&] {
        return value_and_grad(
                   [&](const std::vector<Array>& x) { return sum(fast::cross_entropy(x[0], targets) * mask); },
                   {logits})
            .second[0];
      },
      1e-6, 1e-4);
}

TEST(VulkanTraining, EmbeddingGatherWithStridedIndices) {
  LAMINA_REQUIRE_VULKAN();
  // lora/trainer.cpp's inputs: tokens[:, :-1], a strided view of the batch.
  Array table = random_array({50, 12}, 34);
  Array tokens = random_targets({3, 10}, 50, 35);
  expect_gpu_matches_cpu(vk_device, [&] { return take(table, slice(tokens, {0, 0}, {3, 9}), 0); }, 0, 0);
}

Array rms_norm_grad(const Array& x, const std::optional<Array>& w, const Array& g, float eps) {
  std::vector<Array> in{x};
  if (w) in.push_back(*w);
  in.push_back(g);
  return Array(x.shape(), x.dtype(), std::make_shared<RmsNormGrad>(eps, w.has_value()), std::move(in));
}

Array layer_norm_grad(const Array& x, const std::optional<Array>& w, const Array& g, float eps) {
  std::vector<Array> in{x};
  if (w) in.push_back(*w);
  in.push_back(g);
  return Array(x.shape(), x.dtype(), std::make_shared<LayerNormGrad>(eps, w.has_value()), std::move(in));
}

TEST(VulkanTraining, NormGradsOnStridedRows) {
  LAMINA_REQUIRE_VULKAN();
  // [4, 7, 33] rows through a transposed view; the cotangent transposed too.
  Array xb = random_array({33, 28}, 41, -2.0f, 2.0f);
  Array gb = random_array({33, 28}, 42, -1.0f, 1.0f);
  Array w = random_array({33}, 43, 0.5f, 1.5f);
  using GradFn = Array (*)(const Array&, const std::optional<Array>&, const Array&, float);
  for (GradFn f : {rms_norm_grad, layer_norm_grad}) {
    for (Dtype d : kFloats) {
      SCOPED_TRACE(dtype_name(d));
      auto x = [&] { return reshape(transpose(astype(xb, d)), {4, 7, 33}); };
      for (Dtype gd : {d, Dtype::float32}) {
        auto g = [&] { return reshape(transpose(astype(gb, gd)), {4, 7, 33}); };
        expect_gpu_matches_cpu(vk_device, [&] { return f(x(), std::nullopt, g(), 1e-5f); }, grad_atol(d) * 10,
                               grad_rtol(d));
        for (Dtype wd : kFloats) {
          expect_gpu_matches_cpu(vk_device, [&] { return f(x(), astype(w, wd), g(), 1e-5f); }, grad_atol(d) * 10,
                                 grad_rtol(d));
        }
      }
    }
    // Long rows (n = 4099, more than a workgroup's stride), a sliced x.
    Array xl = random_array({3, 8198}, 44);
    Array gl = random_array({3, 4099}, 45);
    Array wl = random_array({4099}, 46, 0.5f, 1.5f);
    expect_gpu_matches_cpu(vk_device, [&] { return f(slice(xl, {0, 1}, {3, 8198}, {1, 2}), wl, gl, 1e-6f); }, 1e-5,
                           1e-4);
  }
}

TEST(VulkanTraining, NormGradsThroughValueAndGrad) {
  LAMINA_REQUIRE_VULKAN();
  Array x = random_array({5, 65}, 51);
  Array w = random_array({65}, 52, 0.5f, 1.5f);
  Array b = random_array({65}, 53);
  expect_gpu_matches_cpu(
      vk_device,
      [&] {
        return value_and_grad(
                   [&](const std::vector<Array>& in) {
                     return sum(square(fast::rms_norm(in[0], w, 1e-5f)) + fast::layer_norm(in[0], w, b, 1e-5f) * in[0]);
                   },
                   {x})
            .second[0];
      },
      1e-5, 1e-4);
}

// quantize(w) on the GPU against the golden file's wq, scales and biases, bit for bit, with
// no CPU fallback.
void expect_gpu_quantize_matches(int device, const std::string& name, int group, int bits) {
  SCOPED_TRACE(name);
  auto t = mlx_golden(name);
  const uint64_t fallbacks = vulkan::fallback_count();
  Device saved = default_device();
  set_default_device(Device::vulkan(device));
  auto q = quantize(t.at("w"), group, bits);
  eval({q.weight, q.scales, q.biases});
  set_default_device(saved);
  EXPECT_EQ(vulkan::fallback_count(), fallbacks) << "ran on the CPU fallback";
  expect_bitwise_equal(q.weight, t.at("wq"), "wq");
  expect_bitwise_equal(q.scales, t.at("scales"), "scales");
  expect_bitwise_equal(q.biases, t.at("biases"), "biases");
}

TEST(VulkanTraining, QuantizeBitExactWithMlx) {
  LAMINA_REQUIRE_VULKAN();
  for (const GoldenCase& c : all_golden_cases()) {
    expect_gpu_quantize_matches(vk_device, golden_case_name(c), c.group, c.bits);
  }
  for (const char* d : {"bfloat16", "float16"}) {
    for (int bits : {4, 8}) {
      std::string name = "dtype_";
      name += d;
      name += "_" + golden_case_name({bits, 64});
      expect_gpu_quantize_matches(vk_device, name, 64, bits);
    }
  }
  for (int bits : {2, 3, 4, 5, 6, 8}) {
    expect_gpu_quantize_matches(vk_device, "packing_q" + std::to_string(bits), 64, bits);
  }
}

TEST(VulkanTraining, QuantizeMatchesCpuOnStridedViews) {
  LAMINA_REQUIRE_VULKAN();
  // [3, 7, 256] every other column of a wider array (row step 2), values on a 1/8 grid
  // mixed in so that codes land exactly halfway between two steps.
  Array wide = random_array({21, 512}, 61, -3.0f, 3.0f);
  Array grid = floor(random_array({21, 512}, 62, -16.0f, 16.0f)) / Array(8.0f);
  Array source = where(greater(random_array({21, 512}, 63), Array(0.0f)), wide, grid);
  for (Dtype d : kFloats) {
    SCOPED_TRACE(dtype_name(d));
    auto w = [&] { return reshape(slice(astype(source, d), {0, 1}, {21, 512}, {1, 2}), {3, 7, 256}); };
    for (const GoldenCase& c : all_golden_cases()) {
      SCOPED_TRACE(golden_case_name(c));
      expect_gpu_matches_cpu(vk_device, [&] { return quantize(w(), c.group, c.bits).weight; }, 0, 0);
      expect_gpu_matches_cpu(vk_device, [&] { return quantize(w(), c.group, c.bits).scales; }, 0, 0);
      expect_gpu_matches_cpu(vk_device, [&] { return quantize(w(), c.group, c.bits).biases; }, 0, 0);
    }
  }
}

// --- lamina lora on the GPU --------------------------------------------------------------

namespace fs = std::filesystem;

// A small data dir of stage dialogues in the pattern of scripts/demo/make_lora_data.py.
std::string make_dialogues(const std::string& dir) {
  fs::create_directories(dir);
  const char* names[] = {"ROMEO", "JULIET", "HAMLET", "OPHELIA", "VIOLA", "ORSINO"};
  const char* things[] = {"the moon", "the king", "the ship", "the crown", "the letter"};
  const char* places[] = {"Verona", "Denmark", "Venice", "Athens"};
  for (const char* file : {"train.jsonl", "valid.jsonl"}) {
    std::ofstream f(dir + "/" + file);
    for (int i = 0; i < 12; ++i) {
      std::string a = names[i % 6], b = names[(i + 1 + i / 6) % 6], thing = things[i % 5], place = places[i % 4];
      f << "{\"text\": \"" << a << ":\\nWhat news from " << place << ", good " << b << "?\\n\\n" << b
        << ":\\nMy lord, " << thing << " is lost, and all " << place << " knows it.\"}\n";
    }
  }
  return dir;
}

// The training losses of a few `lamina lora` steps on `device`, with its stderr. SGD with a
// large step, so that the weights move by the gradients themselves: Adam's first steps move every weight by +-lr whatever its gradient's size, so the sign
// of a gradient that is zero up to rounding would decide a whole step.
std::vector<double> lora_losses(const std::string& model, const std::string& data, const std::string& dir,
                                const std::string& device, const std::string& extra, std::string& err) {
  setenv("LAMINA_VULKAN_LOG", "fallback", 1);
  auto r = run_lamina("lora --model " + shell_quote(model) + " --train --data " + shell_quote(data) +
                          " --adapter-path " + shell_quote(dir + "/" + device) +
                          " --iters 3 --batch-size 2 --num-layers -1 --optimizer sgd --learning-rate 1e-3"
                          " --steps-per-report 1"
                          " --steps-per-eval 100 --val-batches 1 --no-shuffle --threads 2 --json --device " +
                          device + " " + extra,
                      dir);
  unsetenv("LAMINA_VULKAN_LOG");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  err = r.err;
  return json_line_values(r.out, "train_loss");
}

// Runs LoRA steps on the CPU and on the GPU: the GPU's losses equal the CPU's within
// `rtol` and none of the training primitives fell back (the sampler ones are not checked).
void expect_lora_on_gpu_matches_cpu(const std::string& model, const std::string& dir, const std::string& extra,
                                    double rtol) {
  std::string data = make_dialogues(dir + "/data"), cpu_err, gpu_err;
  auto cpu = lora_losses(model, data, dir, "cpu", extra, cpu_err);
  auto gpu = lora_losses(model, data, dir, "vulkan", extra, gpu_err);
  ASSERT_EQ(cpu.size(), 3u) << cpu_err;
  ASSERT_EQ(gpu.size(), cpu.size()) << gpu_err;
  for (size_t i = 0; i < cpu.size(); ++i) {
    std::printf("step %zu: train loss cpu %.7f, vulkan %.7f\n", i + 1, cpu[i], gpu[i]);
    EXPECT_NEAR(gpu[i], cpu[i], rtol * std::abs(cpu[i])) << "step " << i + 1;
  }
  for (const char* prim : {"CrossEntropy", "CrossEntropyGrad", "RmsNormGrad", "LayerNormGrad", "AffineQuantParams",
                           "AffinePack", "Gather", "LessEqual"}) {
    EXPECT_EQ(gpu_err.find(std::string(prim) + " has no Vulkan kernel"), std::string::npos) << gpu_err;
  }
}

// A small model keeps these runs short on lavapipe (the demo model takes ~1 minute a run).
std::string small_model() { return testdata("models/tiny-llama"); }

TEST(VulkanTraining, LoraStepsMatchCpu) {
  LAMINA_REQUIRE_VULKAN();
  expect_lora_on_gpu_matches_cpu(small_model(), temp_dir("vulkan_lora"), "", 1e-4);
}

TEST(VulkanTraining, LoraWithGradCheckpointMatchesCpu) {
  LAMINA_REQUIRE_VULKAN();
  expect_lora_on_gpu_matches_cpu(small_model(), temp_dir("vulkan_lora_ckpt"), "--grad-checkpoint", 1e-4);
}

TEST(VulkanTraining, QloraStepsMatchCpu) {
  LAMINA_REQUIRE_VULKAN();
  std::string dir = temp_dir("vulkan_qlora");
  // Quantized on the GPU (LAMINA_DEVICE): the files must equal the CPU's.
  setenv("LAMINA_DEVICE", "vulkan", 1);
  setenv("LAMINA_VULKAN_LOG", "fallback", 1);
  auto q = run_lamina("quantize --model " + shell_quote(small_model()) + " --out " + shell_quote(dir + "/q4") +
                          " --q-bits 4 --q-group-size 32",
                      dir);
  unsetenv("LAMINA_DEVICE");
  unsetenv("LAMINA_VULKAN_LOG");
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_EQ(q.err.find("has no Vulkan kernel"), std::string::npos) << q.err;
  auto c = run_lamina("quantize --model " + shell_quote(small_model()) + " --out " + shell_quote(dir + "/q4cpu") +
                          " --q-bits 4 --q-group-size 32",
                      dir);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(read_text_file(dir + "/q4/model.safetensors"), read_text_file(dir + "/q4cpu/model.safetensors"));
  expect_lora_on_gpu_matches_cpu(dir + "/q4", dir, "", 1e-4);
}

}  // namespace
}  // namespace lamina::test
