// Quantized models end to end through the library: every test model quantized by lamina
// and loaded back tracks transformers' float32 reference logits (closer with more bits),
// agrees with its own dequantized float version, and mlx-lm's mixed recipes pick the
// layers their formula gives.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "libcore/convert/convert.h"
#include "libcore/io/safetensors.h"
#include "libcore/models/loader.h"
#include "libcore/ops/ops.h"
#include "quant/quantize_model.h"
#include "tests/test_util.h"

namespace lamina {
namespace {

namespace fs = std::filesystem;
using namespace lamina::core;

struct Logits {
  std::vector<std::vector<double>> last;  // per prompt
};

Logits run_prompts(const std::string& dir, const nlohmann::json& ref) {
  auto loaded = models::load_model(dir, {Dtype::float32});
  Logits out;
  for (const auto& p : ref["prompts"]) {
    auto ids = p["input_ids"].get<std::vector<int32_t>>();
    auto cache = loaded.model->make_cache();
    Array logits = loaded.model->forward(Array(ids, {1, static_cast<int64_t>(ids.size())}, Dtype::int32), cache);
    int64_t L = logits.shape(1);
    out.last.push_back(reshape(slice_axis(logits, 1, L - 1, L), {-1}).to_vector<double>());
  }
  return out;
}

// Root-mean-square difference to the reference logits over all prompts, relative to the
// reference's RMS.
double relative_rms_error(const Logits& got, const std::string& model, const nlohmann::json& ref) {
  auto tensors = io::load_safetensors(test::testdata("models/" + model + "/reference.safetensors")).tensors;
  double err = 0, mag = 0;
  for (size_t i = 0; i < got.last.size(); ++i) {
    auto want = tensors.at("logits_" + std::to_string(i)).to_vector<double>();
    for (size_t k = 0; k < want.size(); ++k) {
      err += (got.last[i][k] - want[k]) * (got.last[i][k] - want[k]);
      mag += want[k] * want[k];
    }
  }
  return std::sqrt(err / mag);
}

std::string quantize_model(const std::string& model, const std::string& out, int bits, int group) {
  convert::ConvertOptions o;
  o.hf_path = test::testdata("models/" + model);
  o.mlx_path = out;
  o.dtype = Dtype::float32;
  o.quantize = quant::QuantizeOptions{bits, group, ""};
  auto s = convert::convert_model(o);
  EXPECT_TRUE(s.quantized);
  EXPECT_GT(s.quantized_modules, 0);
  return out;
}

class QuantizedModelTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { dir_ = test::temp_dir("qmodel_" + GetParam()); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_P(QuantizedModelTest, TracksReferenceLogitsCloserWithMoreBits) {
  const std::string model = GetParam();
  auto ref = nlohmann::json::parse(test::read_text_file(test::testdata("models/" + model + "/reference.json")));
  double previous = 1e9;
  for (int bits : {2, 4, 8}) {
    SCOPED_TRACE(bits);
    std::string out = quantize_model(model, dir_ + "/q" + std::to_string(bits), bits, 32);
    double err = relative_rms_error(run_prompts(out, ref), model, ref);
    std::cerr << model << " " << bits << "-bit g32: relative RMS logit error " << err << "\n";
    EXPECT_LT(err, previous);
    previous = err;
    // On these random-weight models (the worst case for group quantization) affine 8-bit
    // keeps logits within a few percent, 4-bit within ~35%.
    if (bits == 8) {
      EXPECT_LT(err, 0.03);
    }
    if (bits == 4) {
      EXPECT_LT(err, 0.4);
    }
  }
}

TEST_P(QuantizedModelTest, AgreesWithItsDequantizedFloatModel) {
  // The quantized kernels (matvec, panels, embedding gather, tied head, fused splits)
  // against the same weights dequantized by convert --dequantize and run in float.
  const std::string model = GetParam();
  auto ref = nlohmann::json::parse(test::read_text_file(test::testdata("models/" + model + "/reference.json")));
  std::string q = quantize_model(model, dir_ + "/q4", 4, 64 / (model == "tiny-phi3" ? 2 : 1));
  convert::ConvertOptions o;
  o.hf_path = q;
  o.mlx_path = dir_ + "/dq";
  o.dequantize = true;
  o.dtype = Dtype::float32;  // the config still names the source's dtype
  convert::convert_model(o);
  EXPECT_FALSE(nlohmann::json::parse(test::read_text_file(o.mlx_path + "/config.json")).contains("quantization"));
  Logits a = run_prompts(q, ref), b = run_prompts(o.mlx_path, ref);
  for (size_t i = 0; i < a.last.size(); ++i) {
    for (size_t k = 0; k < a.last[i].size(); ++k) {
      ASSERT_NEAR(a.last[i][k], b.last[i][k], 2e-4 * (1 + std::abs(b.last[i][k]))) << i << "," << k;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, QuantizedModelTest,
                         ::testing::Values("tiny-llama", "tiny-qwen2", "tiny-gemma", "tiny-phi3",
                                           "tiny-qwen3", "stories260k"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n) if (c == '-') c = '_';
                           return n;
                         });

TEST(MixedRecipes, LayerChoiceFollowsMlxLm) {
  // 16 layers: the first and last eighth (0, 1, 14, 15) and every third layer between
  // ((i - 2) % 3 == 2: 4, 7, 10, 13) give v_proj and down_proj the high bit width.
  std::map<std::string, Array> tensors;
  const int64_t layers = 16;
  for (int64_t i = 0; i < layers; ++i) {
    for (const char* m : {"self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj"}) {
      tensors["model.layers." + std::to_string(i) + "." + m + ".weight"] = zeros({8, 64}, Dtype::bfloat16);
    }
  }
  tensors["lm_head.weight"] = zeros({8, 64}, Dtype::bfloat16);
  tensors["model.norm.weight"] = zeros({64}, Dtype::bfloat16);
  nlohmann::json config = {{"num_hidden_layers", layers}};
  const std::set<int64_t> high = {0, 1, 4, 7, 10, 13, 14, 15};
  for (auto [recipe, low, hi] : std::vector<std::tuple<std::string, int, int>>{
           {"mixed_2_6", 2, 6}, {"mixed_3_4", 3, 4}, {"mixed_3_6", 3, 6}, {"mixed_4_6", 4, 6}}) {
    SCOPED_TRACE(recipe);
    auto copy = tensors;
    quant::QuantizeReport report;
    auto q = quant::quantize_tensors(copy, config, {4, 64, recipe}, &report);
    EXPECT_EQ(report.quantized_modules, 3 * layers + 1);  // norms stay float
    EXPECT_EQ(q.spec_for("lm_head")->bits, hi);
    for (int64_t i = 0; i < layers; ++i) {
      std::string p = "model.layers." + std::to_string(i) + ".";
      EXPECT_EQ(q.spec_for(p + "self_attn.q_proj")->bits, low) << i;
      EXPECT_EQ(q.spec_for(p + "self_attn.v_proj")->bits, high.count(i) ? hi : low) << i;
      EXPECT_EQ(q.spec_for(p + "mlp.down_proj")->bits, high.count(i) ? hi : low) << i;
      EXPECT_EQ(copy.at(p + "mlp.down_proj.weight").shape(1), 64 * (high.count(i) ? hi : low) / 32);
    }
    auto block = q.to_json();
    EXPECT_EQ(block["model.layers.4.mlp.down_proj"], (nlohmann::json{{"group_size", 64}, {"bits", hi}}));
    EXPECT_EQ(block["bits"], 4);
    EXPECT_EQ(block["mode"], "affine");
  }
}

}  // namespace
}  // namespace lamina
