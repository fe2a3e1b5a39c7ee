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

// Int8 activations (the CPU default for quantized models) move a quantized model's perplexity
// by far less than 1% from float32 activations (0.2% on this text with the 4-bit demo model).
TEST_F(PerplexityTest, Int8ActivationsStayCloseToFloat32) {
  const std::string q = dir_ + "/q4";
  auto r = run_lamina("quantize --model " + test::shell_quote(test::testdata("models/shakespeare-llama")) +
                          " --out " + test::shell_quote(q) + " --q-bits 4 --q-group-size 64",
                      dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // In-domain text (the demo model was trained on Shakespeare's plays): an out-of-domain
  // text's perplexity of hundreds is dominated by near-flat logits and moves more.
  std::ofstream(dir_ + "/text.txt")
      << "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
         "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\n"
         "Resolved. resolved.\n\nFirst Citizen:\nFirst, you know Caius Marcius is chief enemy to "
         "the people.\n\nAll:\nWe know't, we know't.\n\nFirst Citizen:\nLet us kill him, and we'll "
         "have corn at our own price.\nIs't a verdict?\n\nAll:\nNo more talking on't; let it be "
         "done: away, away!\n\nSecond Citizen:\nOne word, good citizens.\n";
  double ppl[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    r = run_lamina("perplexity --model " + test::shell_quote(q) + " --data " + test::shell_quote(dir_ + "/text.txt") +
                       " --context 64 --json --quantized-activations " + (i == 0 ? "float32" : "int8"),
                   dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ppl[i] = nlohmann::json::parse(r.out)["perplexity"].get<double>();
  }
  EXPECT_GT(ppl[0], 1.0);
  EXPECT_LT(std::fabs(ppl[1] - ppl[0]), 0.01 * ppl[0]) << "float32 " << ppl[0] << ", int8 " << ppl[1];
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
