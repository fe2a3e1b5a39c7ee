// End-to-end tests of `lamina convert`: converted models load and match transformers'
// reference logits (single file and sharded), --force and refusal rules, and bad inputs
// (one error line, non-zero exit, nothing written).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "libcore/convert/convert.h"
#include "libcore/io/safetensors.h"
#include "libcore/models/loader.h"
#include "libcore/ops/ops.h"
#include "tests/test_util.h"

namespace lamina {
namespace {

namespace fs = std::filesystem;
using test::run_lamina;

// Copies a model directory (its regular files) to `to`.
void copy_model(const std::string& from, const std::string& to) {
  std::filesystem::create_directories(to);
  for (const auto& e : std::filesystem::directory_iterator(from)) {
    if (e.is_regular_file()) std::filesystem::copy_file(e.path(), to + "/" + e.path().filename().string());
  }
}


double max_abs_diff(const core::Array& a, const core::Array& b) {
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  EXPECT_EQ(va.size(), vb.size());
  double m = 0;
  for (size_t i = 0; i < va.size() && i < vb.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

// Last-position logits of every reference prompt, in float32, within 1e-3.
void expect_matches_reference(const std::string& dir, const std::string& model) {
  std::string ref_dir = test::testdata("models/" + model);
  auto ref = nlohmann::json::parse(test::read_text_file(ref_dir + "/reference.json"));
  auto tensors = io::load_safetensors(ref_dir + "/reference.safetensors").tensors;
  auto loaded = models::load_model(dir, {core::Dtype::float32});
  for (size_t i = 0; i < ref["prompts"].size(); ++i) {
    auto ids = ref["prompts"][i]["input_ids"].get<std::vector<int32_t>>();
    auto cache = loaded.model->make_cache();
    core::Array logits = loaded.model->forward(
        core::Array(ids, {1, static_cast<int64_t>(ids.size())}, core::Dtype::int32), cache);
    int64_t L = logits.shape(1);
    core::Array last = core::reshape(core::slice_axis(logits, 1, L - 1, L), {-1});
    EXPECT_LE(max_abs_diff(last, tensors.at("logits_" + std::to_string(i))), 1e-3) << model << " " << i;
  }
}

class ConvertTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir(std::string("convert_") +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Runs convert and checks the failure shape: exit 1, one line on stderr naming `needle`,
  // nothing on stdout, no output directory (nor temporary) left.
  void expect_failure(const std::string& args, const std::string& out, const std::string& needle) {
    auto r = run_lamina("convert " + args, dir_);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out)) << out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
    }
  }
  std::string dir_;
};

TEST_F(ConvertTest, EveryModelConvertsAndMatchesReference) {
  for (std::string model : {"tiny-llama", "tiny-qwen2", "tiny-phi3", "tiny-gemma", "stories260k"}) {
    SCOPED_TRACE(model);
    std::string out = dir_ + "/" + model;
    auto r = run_lamina("convert --hf-path " + test::shell_quote(test::testdata("models/" + model)) +
                            " --mlx-path " + test::shell_quote(out) + " --dtype float32 --json",
                        dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["dtype"], "float32");
    EXPECT_GT(j["tensors"].get<int>(), 0);
    EXPECT_TRUE(fs::exists(out + "/model.safetensors.index.json"));
    EXPECT_TRUE(fs::exists(out + "/config.json"));
    expect_matches_reference(out, model);
  }
}

TEST_F(ConvertTest, ShardedOutputLoadsAndMatchesReference) {
  convert::ConvertOptions options;
  options.hf_path = test::testdata("models/tiny-llama");
  options.mlx_path = dir_ + "/sharded";
  options.dtype = core::Dtype::float32;
  options.max_shard_bytes = 1 << 20;
  uint64_t last_done = 0, last_total = 0;
  auto s = convert::convert_model(options, [&](uint64_t done, uint64_t total) {
    EXPECT_GE(done, last_done);
    last_done = done;
    last_total = total;
  });
  EXPECT_EQ(last_done, last_total);
  EXPECT_EQ(last_total, s.bytes_out);
  EXPECT_TRUE(fs::exists(options.mlx_path + "/model.safetensors.index.json"));
  int shards = 0;
  for (const auto& e : fs::directory_iterator(options.mlx_path)) {
    shards += e.path().filename().string().starts_with("model-") ? 1 : 0;
  }
  EXPECT_GT(shards, 1);
  expect_matches_reference(options.mlx_path, "tiny-llama");
}

TEST_F(ConvertTest, TokenizerFilesCopiedAndDefaultDtypeFromConfig) {
  std::string out = dir_ + "/out";
  auto r = run_lamina("convert --hf-path " + test::shell_quote(test::testdata("models/tiny-llama")) +
                          " --mlx-path " + test::shell_quote(out) + " --json", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["dtype"], "bfloat16");  // the config's "dtype"
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "generation_config.json", "chat_template.jinja"}) {
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  }
  auto data = io::load_model_weights(out);
  EXPECT_EQ(data.metadata["format"], "mlx");
  for (const auto& [name, a] : data.tensors) EXPECT_EQ(a.dtype(), core::Dtype::bfloat16) << name;
}

TEST_F(ConvertTest, ExistingOutputNeedsForce) {
  std::string out = dir_ + "/out";
  std::string args = "--hf-path " + test::shell_quote(test::testdata("models/tiny-llama")) + " --mlx-path " + test::shell_quote(out);
  ASSERT_EQ(run_lamina("convert " + args, dir_).exit_code, 0);
  copy_model(out, dir_ + "/before");
  auto r = run_lamina("convert " + args + " --dtype float32", dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already exists (use --force"), std::string::npos) << r.err;
  EXPECT_EQ(test::read_text_file(out + "/model.safetensors"),
            test::read_text_file(dir_ + "/before/model.safetensors"));  // untouched
  r = run_lamina("convert " + args + " --dtype float32 --force", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& [name, a] : io::load_model_weights(out).tensors) EXPECT_EQ(a.dtype(), core::Dtype::float32);
}

TEST_F(ConvertTest, RefusesToWriteIntoItsInput) {
  std::string model = dir_ + "/model";
  copy_model(test::testdata("models/tiny-llama"), model);
  for (std::string out : {model, model + "/inner"}) {
    auto r = run_lamina("convert --hf-path " + test::shell_quote(model) + " --mlx-path " + test::shell_quote(out) + " --force", dir_);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("must not be the input directory"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(model + "/inner"));
  EXPECT_FALSE(fs::exists(model + "/model.safetensors.index.json"));
}

TEST_F(ConvertTest, MissingConfig) {
  std::string model = dir_ + "/model";
  copy_model(test::testdata("models/tiny-llama"), model);
  fs::remove(model + "/config.json");
  expect_failure("--hf-path " + test::shell_quote(model) + " --mlx-path " + test::shell_quote(dir_ + "/out"), dir_ + "/out",
                 "config.json: not found");
}

TEST_F(ConvertTest, GarbledConfig) {
  std::string model = dir_ + "/model";
  copy_model(test::testdata("models/tiny-llama"), model);
  std::ofstream(model + "/config.json") << "{\"model_type\": \"llama\", \"hidden_size\": ";
  expect_failure("--hf-path " + test::shell_quote(model) + " --mlx-path " + test::shell_quote(dir_ + "/out"), dir_ + "/out",
                 "not valid JSON");
}

TEST_F(ConvertTest, MissingTensorIsNamed) {
  std::string model = dir_ + "/model";
  copy_model(test::testdata("models/tiny-llama"), model);
  auto data = io::load_safetensors(model + "/model.safetensors");
  io::NamedArrays kept;
  for (const auto& name : data.names) {
    if (name != "model.layers.1.mlp.up_proj.weight") kept.emplace_back(name, data.tensors.at(name));
  }
  io::save_safetensors(model + "/model2.safetensors", kept);
  data = io::SafetensorsData();
  fs::rename(model + "/model2.safetensors", model + "/model.safetensors");
  expect_failure("--hf-path " + test::shell_quote(model) + " --mlx-path " + test::shell_quote(dir_ + "/out"), dir_ + "/out",
                 "missing tensor 'model.layers.1.mlp.up_proj.weight'");
}

TEST_F(ConvertTest, ShapeMismatchAgainstConfig) {
  std::string model = dir_ + "/model";
  copy_model(test::testdata("models/tiny-llama"), model);
  auto config = nlohmann::json::parse(test::read_text_file(model + "/config.json"));
  config["intermediate_size"] = 192;
  std::ofstream(model + "/config.json") << config.dump();
  expect_failure("--hf-path " + test::shell_quote(model) + " --mlx-path " + test::shell_quote(dir_ + "/out"), dir_ + "/out",
                 "but the config implies [192, 64]");
}

TEST_F(ConvertTest, UnknownModelTypeListsSupported) {
  std::string model = dir_ + "/model";
  copy_model(test::testdata("models/tiny-llama"), model);
  auto config = nlohmann::json::parse(test::read_text_file(model + "/config.json"));
  config["model_type"] = "falcon9";
  std::ofstream(model + "/config.json") << config.dump();
  expect_failure("--hf-path " + test::shell_quote(model) + " --mlx-path " + test::shell_quote(dir_ + "/out"), dir_ + "/out",
                 "model_type 'falcon9' is not supported (supported: ");
  auto r = run_lamina("convert --hf-path " + test::shell_quote(model) + " --mlx-path " + test::shell_quote(dir_ + "/out"), dir_);
  for (const char* t : {"llama", "qwen2", "qwen3", "gemma", "phi3", "mistral"}) {
    EXPECT_NE(r.err.find(t), std::string::npos) << t;
  }
}

TEST_F(ConvertTest, UnwritableOutputDirectory) {
  // A regular file where the parent directory should be, and a path under /proc (not
  // writable even by root).
  std::ofstream(dir_ + "/file") << "x";
  const std::string model = test::shell_quote(test::testdata("models/tiny-llama"));
  expect_failure("--hf-path " + model + " --mlx-path " + test::shell_quote(dir_ + "/file/out"), dir_ + "/file/out",
                 "does not exist");
  auto r = run_lamina("convert --hf-path " + model + " --mlx-path /proc/lamina_out", dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("/proc/lamina_out"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists("/proc/lamina_out"));
}

}  // namespace
}  // namespace lamina
