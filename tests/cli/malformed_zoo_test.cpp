// The malformed-model zoo (tests/data/zoo, made by scripts/make_malformed_zoo.py): every
// broken model makes generate (and inspect / convert / quantize / perplexity where the
// fault is theirs to see) fail with one clear error line naming the file and the fault, exit non-zero,
// print nothing on stdout and write nothing. The zoo's valid models must work, so that the
// failures are the faults' doing.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace lamina {
namespace {

namespace fs = std::filesystem;
using test::run_lamina;
using test::shell_quote;

std::string zoo(const std::string& name) { return std::string(LAMINA_SOURCE_DIR) + "/tests/data/zoo/" + name; }

enum Command { kGenerate = 1, kInspect = 2, kConvert = 4, kQuantize = 8, kPerplexity = 16 };

struct ZooCase {
  std::string name;
  int commands;           // which commands must refuse the model
  std::string file;       // path (under the case directory) the error must name; "" = the directory
  std::string fault;      // what the error must say
};

const std::vector<ZooCase> kCases = {
    {"truncated-shard", kGenerate | kInspect | kConvert | kQuantize, "model-00002-of-00002.safetensors",
     "tensor 'model.layers.1.mlp.down_proj.weight' ends at byte 13424 but the file has 12488 bytes"},
    {"index-missing-shard", kGenerate | kInspect | kConvert | kQuantize, "model.safetensors.index.json",
     "shard 'model-00002-of-00002.safetensors' (holding tensor 'model.layers.1.input_layernorm.weight') does not exist"},
    {"header-past-eof", kGenerate | kInspect | kConvert | kQuantize, "model.safetensors",
     "header length 48552 runs past the end of the file (44456 bytes)"},
    {"dtype-mismatch", kGenerate | kConvert | kQuantize, "",
     "tensor 'model.layers.0.mlp.gate_proj.weight' has dtype int32 but the model needs a float"},
    {"shape-mismatch", kGenerate | kConvert | kQuantize, "",
     "tensor 'model.layers.0.mlp.gate_proj.weight' has shape [32, 32] but the config implies [48, 32]"},
    {"missing-tensor", kGenerate | kConvert | kQuantize, "", "missing tensor 'model.layers.1.mlp.up_proj.weight'"},
    {"nan-weight", kGenerate | kPerplexity, "model.safetensors",
     "tensor 'model.layers.0.mlp.down_proj.weight' holds 1 NaN and 0 infinite values (the first at element 17 of "
     "1024), so the"},
    {"inf-weight", kGenerate | kPerplexity, "model.safetensors",
     "tensor 'model.layers.1.self_attn.o_proj.weight' holds 0 NaN and 1 infinite values (the first at element 5 of "
     "1024), so the"},
    {"float16-overflow", kGenerate | kPerplexity, "",
     "though every weight is finite (a float16 overflow? try --dtype float32)"},
    {"quantized-missing-scales", kGenerate | kConvert | kQuantize, "",
     "tensor 'model.layers.0.self_attn.q_proj.weight' is packed (uint32) but "
     "'model.layers.0.self_attn.q_proj.scales' is missing"},
    {"config-missing-key", kGenerate | kConvert | kQuantize, "config.json", "missing field 'hidden_size'"},
    {"tokenizer-unknown-model", kGenerate, "tokenizer.json", "model type 'HyperBPE' is not supported"},
    {"chat-template-raises", kGenerate, "chat_template.jinja",
     "line 1: This model cannot chat: use a base-model prompt"},
};

// Every regular file under `dir` with its size and modification time.
std::map<std::string, std::pair<uintmax_t, fs::file_time_type>> snapshot(const std::string& dir) {
  std::map<std::string, std::pair<uintmax_t, fs::file_time_type>> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files[e.path().string()] = {e.file_size(), e.last_write_time()};
  }
  return files;
}

class MalformedZooTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir(std::string("zoo_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `lamina <args>` and checks the failure: non-zero exit, nothing on stdout, one
  // "lamina: error:" line (a device notice may come before it) naming `file` and `fault`,
  // the model directory unchanged and nothing left in the scratch directory but the
  // runner's own capture files.
  void expect_refused(const std::string& command, const std::string& args, const ZooCase& c) {
    const std::string model = zoo(c.name);
    const auto before = snapshot(model);
    const std::string where = c.name + " (" + command + ")";
    auto r = run_lamina(command + " " + args, dir_);
    EXPECT_NE(r.exit_code, 0) << where;
    EXPECT_EQ(r.out, "") << where;
    const std::string tag = "lamina: error: ";
    size_t errors = 0;
    for (size_t at = r.err.find(tag); at != std::string::npos; at = r.err.find(tag, at + 1)) ++errors;
    ASSERT_EQ(errors, 1u) << where << "\n" << r.err;
    const std::string line = r.err.substr(r.err.find(tag));
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << where << "\n" << r.err;
    const std::string path = c.file.empty() ? model : model + "/" + c.file;
    EXPECT_NE(line.find(path), std::string::npos) << where << ": the error should name " << path << "\n" << line;
    EXPECT_NE(line.find(c.fault), std::string::npos) << where << ": the error should say " << c.fault << "\n" << line;
    EXPECT_EQ(snapshot(model), before) << where << ": the model directory changed";
    for (const auto& e : fs::directory_iterator(dir_)) {
      const std::string name = e.path().filename().string();
      EXPECT_TRUE(name == "stdin.txt" || name == "stdout.txt" || name == "stderr.txt") << where << " left " << name;
    }
  }
  std::string dir_;
};

TEST_F(MalformedZooTest, EveryBrokenModelIsRefusedWithOneClearLine) {
  const std::string text = test::temp_dir("zoo_text") + "/text.txt";
  {
    std::ofstream f(text);
    for (int i = 0; i < 20; ++i) f << "the cat sat on the mat and the dog ran over the hill. ";
  }
  for (const auto& c : kCases) {
    const std::string model = shell_quote(zoo(c.name));
    ASSERT_TRUE(fs::is_directory(zoo(c.name))) << "run python3 scripts/make_malformed_zoo.py";
    if (c.commands & kGenerate) {
      expect_refused("generate", "-m " + model + " -p 'the cat' --max-tokens 4 --temp 0", c);
    }
    if (c.commands & kInspect) expect_refused("inspect", model, c);
    if (c.commands & kConvert) expect_refused("convert", "--hf-path " + model + " --mlx-path " + shell_quote(dir_ + "/out"), c);
    if (c.commands & kQuantize) {
      expect_refused("quantize", "--model " + model + " --out " + shell_quote(dir_ + "/out") + " --q-group-size 32", c);
    }
    if (c.commands & kPerplexity) {
      expect_refused("perplexity", "--model " + model + " --data " + shell_quote(text) + " --context 64", c);
    }
  }
  fs::remove_all(fs::path(text).parent_path());
}

TEST_F(MalformedZooTest, NonFiniteWeightsAreCaughtWhateverTheSampler) {
  // Plain prompt, sampling with a temperature, streamed output: still one line, no garbage.
  for (const char* name : {"nan-weight", "inf-weight"}) {
    ZooCase c = *std::find_if(kCases.begin(), kCases.end(), [&](const ZooCase& z) { return z.name == name; });
    c.fault += " model's logits are NaN or infinite for the prompt";
    expect_refused("generate",
                   "-m " + shell_quote(zoo(name)) + " -p 'the cat' --ignore-chat-template --temp 0.8 --seed 1 --top-p 0.9",
                   c);
  }
}

TEST_F(MalformedZooTest, ValidModelsWork) {
  for (const char* name : {"valid", "valid-quantized"}) {
    const std::string model = shell_quote(zoo(name));
    auto r = run_lamina("generate -m " + model + " -p 'the cat' --ignore-chat-template --max-tokens 6 --temp 0 --json", dir_);
    ASSERT_EQ(r.exit_code, 0) << name << "\n" << r.err;
    auto result = nlohmann::json::parse(r.out);
    EXPECT_EQ(result["tokens"].size(), 6u) << name;
    EXPECT_NE(result["text"].get<std::string>(), "") << name;
    EXPECT_EQ(result["finish_reason"], "length") << name;

    r = run_lamina("generate -m " + model + " -p 'the cat' --max-tokens 3 --temp 0.7 --seed 2 -q", dir_);
    EXPECT_EQ(r.exit_code, 0) << name << "\n" << r.err;  // through the chat template
    EXPECT_EQ(run_lamina("inspect " + model, dir_).exit_code, 0) << name;
    r = run_lamina("convert --hf-path " + model + " --mlx-path " + shell_quote(dir_ + "/" + name + "-converted"), dir_);
    EXPECT_EQ(r.exit_code, 0) << name << "\n" << r.err;
  }
  // The float16-overflow model is fine in float32, as its error message suggests.
  auto r = run_lamina("generate -m " + shell_quote(zoo("float16-overflow")) + " -p 'the cat' --max-tokens 3 --temp 0 -q --dtype float32", dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_lamina("quantize --model " + shell_quote(zoo("valid")) + " --out " + shell_quote(dir_ + "/q") +
                          " --q-group-size 32 --q-bits 8",
                      dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_lamina("generate -m " + shell_quote(dir_ + "/q") + " -p 'the cat' --max-tokens 3 --temp 0 -q", dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(MalformedZooTest, ZooStaysSmall) {
  uintmax_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(zoo(""))) {
    if (e.is_regular_file()) bytes += e.file_size();
  }
  EXPECT_LT(bytes, uintmax_t{2} << 20);
}

}  // namespace
}  // namespace lamina
