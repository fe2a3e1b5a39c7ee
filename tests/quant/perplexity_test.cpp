// `lamina perplexity` against perplexities computed from transformers' float32 logits of
// every position (reference.safetensors logits_all_0), and the window bookkeeping.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "libcore/io/safetensors.h"
#include "tests/test_util.h"

namespace lamina {
namespace {

namespace fs = std::filesystem;
using test::run_lamina;

class PerplexityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir(std::string("ppl_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

// exp(mean over t >= 1 of -log softmax(logits[t - 1])[ids[t]]) in double.
double reference_perplexity(const std::string& model, size_t* tokens) {
  std::string dir = test::testdata("models/" + model);
  auto ref = nlohmann::json::parse(test::read_text_file(dir + "/reference.json"));
  auto ids = ref["prompts"][0]["input_ids"].get<std::vector<int32_t>>();
  auto logits = io::load_safetensors(dir + "/reference.safetensors").tensors.at("logits_all_0");
  const int64_t V = logits.shape(1);
  auto v = logits.to_vector<double>();
  double nll = 0;
  for (size_t t = 1; t < ids.size(); ++t) {
    const double* row = v.data() + (t - 1) * V;
    double m = row[0];
    for (int64_t k = 0; k < V; ++k) m = std::max(m, row[k]);
    double s = 0;
    for (int64_t k = 0; k < V; ++k) s += std::exp(row[k] - m);
    nll += m + std::log(s) - row[ids[t]];
  }
  *tokens = ids.size() - 1;
  return std::exp(nll / static_cast<double>(ids.size() - 1));
}

TEST_F(PerplexityTest, MatchesTransformersLogits) {
  for (std::string model : {"tiny-llama", "shakespeare-llama", "tiny-qwen2"}) {
    SCOPED_TRACE(model);
    std::string dir = test::testdata("models/" + model);
    auto ref = nlohmann::json::parse(test::read_text_file(dir + "/reference.json"));
    std::ofstream(dir_ + "/text.txt") << ref["prompts"][0]["prompt"].get<std::string>();
    size_t tokens = 0;
    double want = reference_perplexity(model, &tokens);
    auto r = run_lamina("perplexity --model " + test::shell_quote(dir) + " --data " + test::shell_quote(dir_ + "/text.txt") +
                            " --dtype float32 --context 64 --json", dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["tokens"].get<size_t>(), tokens);
    EXPECT_EQ(j["windows"], 1);
    EXPECT_NEAR(j["perplexity"].get<double>(), want, 1e-4 * want);
    EXPECT_TRUE(j.contains("seconds"));
  }
}

TEST_F(PerplexityTest, SlidingWindowsScoreEveryTokenOnce) {
  std::string dir = test::testdata("models/tiny-llama");  // the prompt is 6 tokens with BOS
  std::ofstream(dir_ + "/text.txt") << "The quick brown fox";
  auto r = run_lamina("perplexity --model " + test::shell_quote(dir) + " --data " + test::shell_quote(dir_ + "/text.txt") +
                          " --context 3 --stride 1 --json", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["tokens"], 5);   // windows [0,3) [1,4) [2,5) [3,6): 2 + 1 + 1 + 1
  EXPECT_EQ(j["windows"], 4);
  EXPECT_GT(j["perplexity"].get<double>(), 1.0);
}

TEST_F(PerplexityTest, BadArguments) {
  std::string dir = test::testdata("models/tiny-llama");
  std::ofstream(dir_ + "/text.txt") << "The quick brown fox";
  auto r = run_lamina("perplexity --model " + test::shell_quote(dir) + " --data " + test::shell_quote(dir_ + "/text.txt") +
                          " --context 4 --stride 5", dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--stride must be between 1 and the context (4), got 5"), std::string::npos) << r.err;
  r = run_lamina("perplexity --model " + test::shell_quote(dir) + " --data " + test::shell_quote(dir_ + "/missing.txt"), dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.txt: cannot open"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lamina
