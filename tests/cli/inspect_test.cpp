// End-to-end tests of `lamina inspect`: runs the built binary on the shared test models,
// on a quantized-style directory, and on broken inputs (one error line, nothing on stdout).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "libcore/io/safetensors.h"
#include "tests/test_util.h"

namespace lamina {
namespace {

namespace fs = std::filesystem;

using RunResult = test::CliResult;
using test::run_lamina;
std::string read_file(const std::string& path) { return test::read_text_file(path); }
std::string shell_quoted(const std::string& s) { return test::shell_quote(s); }

int64_t product(const nlohmann::json& shape) {
  int64_t n = 1;
  for (const auto& d : shape) n *= d.get<int64_t>();
  return n;
}

class InspectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir(std::string("inspect_") +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(InspectTest, EveryTestModelAsJson) {
  int models = 0;
  for (const auto& entry : fs::directory_iterator(test::testdata("models"))) {
    std::string model = entry.path().string();
    if (!fs::exists(model + "/config.json")) continue;
    SCOPED_TRACE(model);
    ++models;
    RunResult r = run_lamina("inspect " + shell_quoted(model) + " --json", dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    nlohmann::json j = nlohmann::json::parse(r.out);  // throws (fails the test) if not JSON

    int64_t from_shapes = 0;
    uint64_t bytes = 0;
    for (const auto& t : j["tensors"]) {
      EXPECT_EQ(t["parameters"].get<int64_t>(), product(t["shape"]));
      from_shapes += product(t["shape"]);
      bytes += t["bytes"].get<uint64_t>();
    }
    EXPECT_EQ(j["parameters"].get<int64_t>(), from_shapes);
    EXPECT_EQ(j["total_bytes"].get<uint64_t>(), bytes);

    auto weights = io::load_model_weights(model);
    int64_t expected = 0;
    for (const auto& [name, a] : weights.tensors) expected += a.size();
    EXPECT_EQ(j["parameters"].get<int64_t>(), expected);
    EXPECT_EQ(j["num_tensors"].get<size_t>(), weights.names.size());
    EXPECT_EQ(j["tensors"][0]["name"], weights.names.front());

    auto config = nlohmann::json::parse(read_file(model + "/config.json"));
    EXPECT_EQ(j["config"]["model_type"], config["model_type"]);
    EXPECT_EQ(j["config"]["architectures"], config["architectures"]);
    EXPECT_EQ(j["config"]["num_hidden_layers"], config["num_hidden_layers"]);
    EXPECT_EQ(j["config"]["hidden_size"], config["hidden_size"]);
    EXPECT_EQ(j["config"]["vocab_size"], config["vocab_size"]);
    EXPECT_TRUE(j["quantization"].is_null());
    int64_t dtype_params = 0;
    for (const auto& [name, d] : j["dtypes"].items())
      dtype_params += d["parameters"].get<int64_t>();
    EXPECT_EQ(dtype_params, expected);
  }
  EXPECT_GE(models, 8);
}

TEST_F(InspectTest, TableForDirectoryAndFile) {
  std::string model = test::testdata("models/tiny-llama");
  RunResult r = run_lamina("inspect " + shell_quoted(model), dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("model.layers.1.mlp.down_proj.weight"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bfloat16"), std::string::npos);
  EXPECT_NE(r.out.find("[32000, 64]"), std::string::npos);
  EXPECT_NE(r.out.find("parameters: "), std::string::npos);
  EXPECT_NE(r.out.find("model_type: llama"), std::string::npos);
  EXPECT_NE(r.out.find("num_hidden_layers: 2"), std::string::npos);

  RunResult f =
      run_lamina("inspect " + shell_quoted(model + "/model.safetensors") + " --json", dir_);
  ASSERT_EQ(f.exit_code, 0) << f.err;
  auto j = nlohmann::json::parse(f.out);
  EXPECT_TRUE(j["config"].is_null());
  EXPECT_EQ(j["metadata"]["format"], "pt");
  EXPECT_EQ(j["files"].size(), 1u);
}

TEST_F(InspectTest, QuantizedModelDirectory) {
  std::string model = dir_ + "/quantized";
  fs::create_directories(model);
  std::ofstream(model + "/config.json")
      << R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 1,)"
      << R"( "quantization": {"group_size": 64, "bits": 4, "mode": "affine",)"
      << R"( "model.layers.0.mlp.down_proj": {"group_size": 64, "bits": 6}}})";
  io::save_sharded(model,
                   {{"model.layers.0.mlp.down_proj.weight",
                     core::Array(std::vector<uint32_t>(64 * 8, 7u), {64, 8}, core::Dtype::uint32)},
                    {"model.layers.0.mlp.down_proj.scales", test::random_array({64, 1}, 1)},
                    {"model.layers.0.mlp.down_proj.biases", test::random_array({64, 1}, 2)}},
                   1024, {{"format", "mlx"}});
  RunResult r = run_lamina("inspect " + shell_quoted(model) + " --json", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["quantization"]["bits"], 4);
  EXPECT_EQ(j["quantized_modules"], 1);
  EXPECT_EQ(j["parameters"], 64 * 8 + 64 + 64);
  EXPECT_GE(j["files"].size(), 2u);  // forced into shards
  EXPECT_EQ(j["dtypes"]["uint32"]["tensors"], 1);

  RunResult t = run_lamina("inspect " + shell_quoted(model), dir_);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("quantization: group_size=64 bits=4 mode=affine (1 per-module overrides)"),
            std::string::npos)
      << t.out;
}

// One line on stderr naming `name`, nothing on stdout, non-zero exit.
void expect_one_line_error(const RunResult& r, const std::string& name) {
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.back(), '\n');
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(name), std::string::npos) << r.err;
}

TEST_F(InspectTest, TruncatedFileIsOneErrorLine) {
  std::string source = test::testdata("models/tiny-llama/model.safetensors");
  std::string truncated = dir_ + "/truncated.safetensors";
  fs::copy_file(source, truncated);
  fs::resize_file(truncated, fs::file_size(source) / 2);
  RunResult r = run_lamina("inspect " + shell_quoted(truncated), dir_);
  expect_one_line_error(r, truncated);
  EXPECT_NE(r.err.find("but the file has"), std::string::npos) << r.err;

  // The same through a model directory, in JSON mode.
  std::string model = dir_ + "/model";
  fs::create_directories(model);
  fs::copy_file(test::testdata("models/tiny-llama/config.json"), model + "/config.json");
  fs::copy_file(truncated, model + "/model.safetensors");
  RunResult d = run_lamina("inspect " + shell_quoted(model) + " --json", dir_);
  expect_one_line_error(d, "model.safetensors");
}

TEST_F(InspectTest, MissingPathIsOneErrorLine) {
  std::string missing = dir_ + "/does-not-exist.safetensors";
  expect_one_line_error(run_lamina("inspect " + shell_quoted(missing), dir_), missing);
  // A directory without weights.
  expect_one_line_error(run_lamina("inspect " + shell_quoted(dir_ + "/") + " --json", dir_), dir_);
}

}  // namespace
}  // namespace lamina
