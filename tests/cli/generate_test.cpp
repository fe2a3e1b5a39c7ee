// End-to-end tests of `lamina generate`, `lamina cache-prompt` and `lamina chat`: the
// built binary on the shared test models, checked against the transformers references.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/test_util.h"

namespace lamina {
namespace {

namespace fs = std::filesystem;
using test::run_lamina;
using test::shell_quote;

std::string model_dir(const std::string& name) { return test::testdata("models/" + name); }

nlohmann::json reference(const std::string& name) {
  return nlohmann::json::parse(test::read_text_file(model_dir(name) + "/reference.json"));
}

class GenerateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir(std::string("generate_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs generate on `model` with the prompt on stdin and --json; returns the parsed result.
  nlohmann::json generate_json(const std::string& model, const std::string& prompt, const std::string& flags) {
    auto r = run_lamina("generate -m " + shell_quote(model) + " --prompt - --json " + flags, dir_, prompt);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return nlohmann::json::object();
    return nlohmann::json::parse(r.out);
  }
  // Expects a failure with one error line naming `needle` and nothing on stdout.
  void expect_error(const test::CliResult& r, const std::string& needle) {
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.out, "");
    // One error line (a notice such as "no Vulkan GPU found" may come before it).
    size_t errors = 0;
    for (size_t at = r.err.find("lamina: error: "); at != std::string::npos; at = r.err.find("lamina: error: ", at + 1)) ++errors;
    EXPECT_EQ(errors, 1u) << r.err;
    std::string last = r.err.substr(r.err.rfind("lamina: error: "));
    EXPECT_EQ(std::count(last.begin(), last.end(), '\n'), 1) << r.err;
    EXPECT_NE(last.find(needle), std::string::npos) << r.err;
  }
  std::string dir_;
};

// Greedy ids must match the reference up to the first step whose top-2 gap is below 1e-3.
void expect_greedy_matches(const nlohmann::json& got, const nlohmann::json& prompt, const std::string& where) {
  auto want = prompt["greedy_ids"].get<std::vector<int32_t>>();
  auto gaps = prompt["greedy_top2_gaps"].get<std::vector<double>>();
  auto tokens = got["tokens"].get<std::vector<int32_t>>();
  ASSERT_EQ(tokens.size(), want.size()) << where;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(tokens[i], want[i]) << where << " step " << i;
    if (gaps[i] < 1e-3) break;
  }
}

TEST_F(GenerateTest, GreedyContinuationsMatchTransformersOnEveryModelWithATokenizer) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(test::testdata("models"))) {
    std::string dir = entry.path().string();
    if (!fs::exists(entry.path() / "tokenizer.json")) continue;
    auto ref = nlohmann::json::parse(test::read_text_file(dir + "/reference.json"));
    for (const auto& prompt : ref["prompts"]) {
      if (prompt["prompt"].is_null()) continue;
      size_t n = prompt["greedy_ids"].size();
      auto got = generate_json(dir, prompt["prompt"].get<std::string>(),
                               "--dtype float32 --ignore-chat-template --temp 0 --ignore-eos --max-tokens " +
                                   std::to_string(n));
      std::string where = dir + " prompt " + std::to_string(prompt["index"].get<int>());
      EXPECT_EQ(got["prompt_tokens"], prompt["input_ids"]) << where;
      expect_greedy_matches(got, prompt, where);
      EXPECT_EQ(got["finish_reason"], "length");
      ++checked;
    }
  }
  EXPECT_GE(checked, 28);
}

TEST_F(GenerateTest, JsonHasIdsTextAndStats) {
  auto got = generate_json(model_dir("shakespeare-llama"), "ROMEO:", "--ignore-chat-template --max-tokens 8 --ignore-eos");
  for (const char* key : {"prompt_tokens", "tokens", "text", "prompt_tps", "generation_tps", "peak_memory_bytes",
                          "finish_reason"}) {
    EXPECT_TRUE(got.contains(key)) << key;
  }
  EXPECT_EQ(got["tokens"].size(), 8u);
  EXPECT_GT(got["generation_tps"].get<double>(), 0.0);
  EXPECT_GT(got["peak_memory_bytes"].get<int64_t>(), 0);
  EXPECT_FALSE(got["text"].get<std::string>().empty());
}

TEST_F(GenerateTest, StreamsTextToStdoutAndStatsToStderr) {
  std::string model = shell_quote(model_dir("shakespeare-llama"));
  auto r = run_lamina("generate -m " + model + " -p 'ROMEO:' --max-tokens 12 --ignore-eos", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto greedy = generate_json(model_dir("shakespeare-llama"), "ROMEO:", "--max-tokens 12 --ignore-eos");
  EXPECT_EQ(r.out, greedy["text"].get<std::string>() + "\n");
  EXPECT_NE(r.err.find("Prompt: "), std::string::npos);
  EXPECT_NE(r.err.find("Generation: 12 tokens"), std::string::npos);
  EXPECT_NE(r.err.find("Peak memory: "), std::string::npos);
  auto quiet = run_lamina("generate -m " + model + " -p 'ROMEO:' --max-tokens 12 --ignore-eos --quiet", dir_);
  EXPECT_EQ(quiet.out, r.out);
  EXPECT_EQ(quiet.err, "");
}

TEST_F(GenerateTest, ChatTemplateIsAppliedByDefault) {
  auto ref = reference("tiny-llama");
  auto with = generate_json(model_dir("tiny-llama"), "Hello", "--max-tokens 1");
  auto without = generate_json(model_dir("tiny-llama"), "Hello", "--max-tokens 1 --ignore-chat-template");
  EXPECT_GT(with["prompt_tokens"].size(), without["prompt_tokens"].size() + 2);
  auto system = generate_json(model_dir("tiny-llama"), "Hello", "--max-tokens 1 --system-prompt 'Be brief.'");
  EXPECT_GT(system["prompt_tokens"].size(), with["prompt_tokens"].size());
}

TEST_F(GenerateTest, SeededSamplingIsReproducible) {
  std::string flags = "--ignore-chat-template --temp 1.0 --top-p 0.95 --top-k 50 --min-p 0.01 "
                      "--repetition-penalty 1.1 --max-tokens 24 --ignore-eos --seed ";
  auto a = generate_json(model_dir("shakespeare-llama"), "ROMEO:", flags + "7");
  auto b = generate_json(model_dir("shakespeare-llama"), "ROMEO:", flags + "7");
  auto c = generate_json(model_dir("shakespeare-llama"), "ROMEO:", flags + "8");
  EXPECT_EQ(a["tokens"], b["tokens"]);
  EXPECT_NE(a["tokens"], c["tokens"]);
}

TEST_F(GenerateTest, StopsAtAnExtraEosToken) {
  auto base = generate_json(model_dir("shakespeare-llama"), "ROMEO:", "--ignore-chat-template --max-tokens 20 --ignore-eos");
  auto tokens = base["tokens"].get<std::vector<int32_t>>();
  // The first token that did not occur before it: stopping there keeps exactly the ones before.
  size_t stop = 1;
  while (stop < tokens.size() && std::find(tokens.begin(), tokens.begin() + stop, tokens[stop]) != tokens.begin() + stop) ++stop;
  ASSERT_LT(stop, tokens.size());
  auto got = generate_json(model_dir("shakespeare-llama"), "ROMEO:",
                           "--ignore-chat-template --max-tokens 20 --eos-token " + std::to_string(tokens[stop]));
  EXPECT_EQ(got["finish_reason"], "stop");
  EXPECT_EQ(got["tokens"].get<std::vector<int32_t>>(), std::vector<int32_t>(tokens.begin(), tokens.begin() + stop));
}

TEST_F(GenerateTest, RotatingKvCacheGeneratesPastItsSize) {
  auto got = generate_json(model_dir("shakespeare-llama"), "First Citizen:\nBefore we proceed any further, hear me speak.",
                           "--ignore-chat-template --max-kv-size 24 --max-tokens 40 --ignore-eos");
  EXPECT_EQ(got["tokens"].size(), 40u);
  // Until the window is full, a rotating cache gives what an unbounded one gives.
  auto full = generate_json(model_dir("shakespeare-llama"), "First Citizen:\nBefore we proceed any further, hear me speak.",
                            "--ignore-chat-template --max-tokens 4 --ignore-eos");
  auto tokens = got["tokens"].get<std::vector<int>>();
  ASSERT_LE(got["prompt_tokens"].size() + 4, 24u);
  EXPECT_EQ(std::vector<int>(tokens.begin(), tokens.begin() + 4), full["tokens"].get<std::vector<int>>());
}

TEST_F(GenerateTest, PromptCacheGivesTheSameOutputAsTheWholePrompt) {
  const std::string doc = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n";
  const std::string question = "First Citizen:\nYou are all resolved";
  for (const char* model : {"shakespeare-llama", "tiny-llama", "tiny-qwen2"}) {
    std::string cache = dir_ + "/" + model + ".cache";
    auto made = run_lamina("cache-prompt -m " + shell_quote(model_dir(model)) + " --prompt - --prompt-cache-file " +
                               shell_quote(cache),
                           dir_, doc);
    ASSERT_EQ(made.exit_code, 0) << made.err;
    ASSERT_TRUE(fs::exists(cache));
    auto whole = generate_json(model_dir(model), doc + question, "--max-tokens 16 --ignore-eos");
    auto cached = generate_json(model_dir(model), question,
                                "--max-tokens 16 --ignore-eos --prompt-cache-file " + shell_quote(cache));
    EXPECT_EQ(cached["prompt_tokens"], whole["prompt_tokens"]) << model;
    EXPECT_EQ(cached["tokens"], whole["tokens"]) << model;
    EXPECT_GT(cached["cached_prompt_tokens"].get<int>(), 10) << model;
  }
}

TEST_F(GenerateTest, PromptCacheOfAnotherModelIsRefused) {
  std::string cache = dir_ + "/llama.cache";
  auto made = run_lamina("cache-prompt -m " + shell_quote(model_dir("tiny-llama")) + " -p 'Hello there' --prompt-cache-file " +
                             shell_quote(cache), dir_);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  expect_error(run_lamina("generate -m " + shell_quote(model_dir("tiny-mistral")) + " -p hi --prompt-cache-file " +
                              shell_quote(cache), dir_),
               "another model");
  std::ofstream(dir_ + "/garbage.cache") << "not a cache";
  expect_error(run_lamina("generate -m " + shell_quote(model_dir("tiny-llama")) + " -p hi --prompt-cache-file " +
                              shell_quote(dir_ + "/garbage.cache"), dir_),
               "garbage.cache");
}

TEST_F(GenerateTest, ChatKeepsTheCacheBetweenTurnsAndResets) {
  auto r = run_lamina("chat -m " + shell_quote(model_dir("tiny-llama")) + " --max-tokens 6 --ignore-eos --verbose",
                      dir_, "Hello\nHow are you?\n/reset\nHello\n/quit\nnever read\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Three replies, one per line.
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;
  // Turn 2 reuses turn 1's tokens; after /reset nothing is reused; the same first message
  // gives the same greedy reply.
  std::vector<std::string> reused;
  for (size_t at = r.err.find("(reused "); at != std::string::npos; at = r.err.find("(reused ", at + 1)) {
    reused.push_back(r.err.substr(at + 8, r.err.find(' ', at + 8) - at - 8));
  }
  ASSERT_EQ(reused.size(), 3u) << r.err;
  EXPECT_EQ(reused[0], "0");
  EXPECT_GT(std::stoi(reused[1]), 5);
  EXPECT_EQ(reused[2], "0");
  auto first = r.out.substr(0, r.out.find('\n'));
  auto third = r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1);
  EXPECT_EQ(first + "\n", third);
}

TEST_F(GenerateTest, BadInputGivesOneClearLine) {
  std::string dir = dir_ + "/model";
  fs::copy(model_dir("tiny-llama"), dir);
  expect_error(run_lamina("generate -m " + shell_quote(dir_ + "/missing") + " -p hi", dir_), "config.json");

  std::ofstream(dir + "/config.json") << "{\"model_type\": \"llama\", ";
  expect_error(run_lamina("generate -m " + shell_quote(dir) + " -p hi", dir_), "config.json");

  fs::copy_file(model_dir("tiny-llama") + "/config.json", dir + "/config.json", fs::copy_options::overwrite_existing);
  auto config = nlohmann::json::parse(test::read_text_file(dir + "/config.json"));
  config["model_type"] = "no-such-arch";
  std::ofstream(dir + "/config.json") << config.dump();
  expect_error(run_lamina("generate -m " + shell_quote(dir) + " -p hi", dir_), "llama");

  fs::copy_file(model_dir("tiny-llama") + "/config.json", dir + "/config.json", fs::copy_options::overwrite_existing);
  std::ofstream(dir + "/tokenizer.json") << "{\"model\": ";
  expect_error(run_lamina("generate -m " + shell_quote(dir) + " -p hi", dir_), "tokenizer.json");

  std::string long_prompt;
  for (int i = 0; i < 700; ++i) long_prompt += "word ";
  auto r = run_lamina("generate -m " + shell_quote(model_dir("tiny-llama")) + " --prompt -", dir_, long_prompt);
  expect_error(r, "context");

  expect_error(run_lamina("generate -m " + shell_quote(model_dir("tiny-llama")) + " -p hi --temp -1", dir_), "temp");
  expect_error(run_lamina("generate -m " + shell_quote(model_dir("stories260k")) + " -p hi", dir_), "tokenizer");
  expect_error(run_lamina("chat -m " + shell_quote(model_dir("shakespeare-llama")) + " --ignore-chat-template", dir_),
               "chat template");
}

}  // namespace
}  // namespace lamina
