// End-to-end tests of `lamina lora` and `lamina fuse`: exact resumption, malformed data,
// divergence, fuse versus generate --adapter-path, and DoRA / full fine-tuning runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/test_util.h"

namespace lamina::test {
namespace {

namespace fs = std::filesystem;

std::string model_dir() { return testdata("models/tiny-llama"); }

// A data dir with lora-ref's train.jsonl as train and valid.
std::string make_data(const std::string& dir) {
  fs::create_directories(dir);
  fs::copy_file(testdata("lora-ref/train.jsonl"), dir + "/train.jsonl", fs::copy_options::overwrite_existing);
  fs::copy_file(testdata("lora-ref/train.jsonl"), dir + "/valid.jsonl", fs::copy_options::overwrite_existing);
  return dir;
}

std::string train_args(const std::string& data, const std::string& adapters, const std::string& extra,
                       const std::string& model = model_dir()) {
  return "lora --model " + shell_quote(model) + " --train --data " + shell_quote(data) + " --adapter-path " +
         shell_quote(adapters) + " --batch-size 2 --steps-per-report 1" +
         " --steps-per-eval 100 --val-batches 1 --threads 2 --json " + extra;
}

TEST(LoraCli, ResumedRunContinuesExactly) {
  std::string dir = temp_dir("lora_cli_resume");
  std::string data = make_data(dir + "/data");
  // Shuffled batches, Adam with bias correction, grad accumulation, dropout and a cosine
  // schedule: everything a resume must restore.
  const std::string opts = "--num-layers 1 --learning-rate 1e-2 --optimizer adamw --bias-correction --lr-schedule cosine --warmup 2 "
                           "--grad-accumulation-steps 2 --iters 8 --save-every 3 --seed 5 -c " +
                           shell_quote(dir + "/dropout.yaml");
  {
    std::ofstream f(dir + "/dropout.yaml");
    f << "lora_parameters:\n  rank: 4\n  scale: 10.0\n  dropout: 0.1\n";
  }
  auto full = run_lamina(train_args(data, dir + "/full", opts), dir);
  ASSERT_EQ(full.exit_code, 0) << full.err;
  auto all = test::json_line_values(full.out, "train_loss");
  ASSERT_EQ(all.size(), 8u);
  EXPECT_TRUE(fs::exists(dir + "/full/0000003_adapters.safetensors"));
  EXPECT_TRUE(fs::exists(dir + "/full/0000003_training_state.zst"));
  EXPECT_TRUE(fs::exists(dir + "/full/0000006_adapters.safetensors"));

  // Resume the same run from its iteration-3 checkpoint (mid accumulation cycle).
  auto resumed = run_lamina(train_args(data, dir + "/resumed",
                                       opts + " --resume-adapter-file " +
                                           shell_quote(dir + "/full/0000003_adapters.safetensors")),
                            dir);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("Resuming at iteration 4"), std::string::npos) << resumed.err;
  auto rest = test::json_line_values(resumed.out, "train_loss");
  ASSERT_EQ(rest.size(), 5u);
  for (size_t i = 0; i < rest.size(); ++i) EXPECT_DOUBLE_EQ(rest[i], all[i + 3]) << "iteration " << i + 4;
  EXPECT_EQ(read_text_file(dir + "/full/adapters.safetensors"), read_text_file(dir + "/resumed/adapters.safetensors"));
}

TEST(LoraCli, MalformedLineNamesFileAndLine) {
  std::string dir = temp_dir("lora_cli_malformed");
  std::string data = make_data(dir + "/data");
  {
    std::ofstream f(data + "/train.jsonl");
    f << "{\"text\": \"fine\"}\n{\"text\": \"also fine\"}\n{\"txt\": \"wrong key\"}\n";
  }
  auto r = run_lamina(train_args(data, dir + "/a", "--iters 2 --num-layers 1"), dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(data + "/train.jsonl:3:"), std::string::npos) << r.err;
  {
    std::ofstream f(data + "/train.jsonl");
    f << "{\"text\": \"fine\"}\n{\"text\": \"unterminated\n";
  }
  r = run_lamina(train_args(data, dir + "/a", "--iters 2 --num-layers 1"), dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(data + "/train.jsonl:2: not valid JSON"), std::string::npos) << r.err;
  {
    std::ofstream f(data + "/train.jsonl");
    f << "{\"text\": \"fine\"}\n{\"text\": \"fine too\"}\n";
    std::ofstream v(data + "/valid.jsonl");
    v << "{\"prompt\": \"only a prompt\"}\n";
  }
  r = run_lamina(train_args(data, dir + "/a", "--iters 2 --num-layers 1"), dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(data + "/valid.jsonl:1:"), std::string::npos) << r.err;
}

TEST(LoraCli, DivergingLossStopsAndKeepsTheLastCheckpoint) {
  std::string dir = temp_dir("lora_cli_nan");
  std::string data = make_data(dir + "/data");
  auto r = run_lamina(train_args(data, dir + "/a", "--num-layers 1 --optimizer sgd --learning-rate 1e30 --iters 20 --save-every 1"),
                      dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("the training loss is"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("is intact"), std::string::npos) << r.err;
  ASSERT_TRUE(fs::exists(dir + "/a/adapters.safetensors"));
  // The kept checkpoint holds finite numbers: training from it runs.
  auto again = run_lamina(train_args(data, dir + "/b", "--num-layers 1 --optimizer sgd --learning-rate 0.1 --iters 1 --resume-adapter-file " +
                                                          shell_quote(dir + "/a/0000001_adapters.safetensors")),
                          dir);
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

class FuseCli : public ::testing::TestWithParam<std::string> {};

// Trains adapters of `type` on `base`, fuses them (with `fuse_flags`) and checks that the
// fused model generates what the base with --adapter-path generates.
void check_fuse(const std::string& dir, const std::string& base_model, const std::string& type,
                const std::string& fuse_flags) {
  std::string data = make_data(dir + "/data");
  auto t = run_lamina(train_args(data, dir + "/adapters", "--iters 6 --fine-tune-type " + type +
                                                              " --learning-rate 5e-2 --num-layers -1",
                                 base_model),
                      dir);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  auto config = nlohmann::json::parse(read_text_file(dir + "/adapters/adapter_config.json"));
  EXPECT_EQ(config["fine_tune_type"], type);
  auto f = run_lamina("fuse --model " + shell_quote(base_model) + " --adapter-path " + shell_quote(dir + "/adapters") +
                          " --save-path " + shell_quote(dir + "/fused") + " " + fuse_flags,
                      dir);
  ASSERT_EQ(f.exit_code, 0) << f.err;
  ASSERT_TRUE(fs::exists(dir + "/fused/config.json"));
  ASSERT_TRUE(fs::exists(dir + "/fused/tokenizer.json"));
  // Float32 activations: int8 ones (the CPU default for quantized layers) round x differently
  // in base + adapter than in the fused layer, enough to flip a greedy token.
  const std::string gen =
      " --prompt 'The cat' --max-tokens 24 --ignore-chat-template --dtype float32 --threads 2"
      " --quantized-activations float32";
  auto base = run_lamina("generate --model " + shell_quote(base_model) + gen, dir);
  auto adapted = run_lamina("generate --model " + shell_quote(base_model) + " --adapter-path " +
                                shell_quote(dir + "/adapters") + gen,
                            dir);
  auto fused = run_lamina("generate --model " + shell_quote(dir + "/fused") + gen, dir);
  ASSERT_EQ(adapted.exit_code, 0) << adapted.err;
  ASSERT_EQ(fused.exit_code, 0) << fused.err;
  EXPECT_EQ(adapted.out, fused.out);
  EXPECT_NE(adapted.out, base.out) << "training changed nothing the test could see";
}

// tiny-llama converted to float32 (fused bf16 weights would round W + dW).
std::string float32_model(const std::string& dir) {
  auto c = run_lamina("convert --hf-path " + shell_quote(model_dir()) + " --mlx-path " + shell_quote(dir + "/f32") +
                          " --dtype float32",
                      dir);
  EXPECT_EQ(c.exit_code, 0) << c.err;
  return dir + "/f32";
}

TEST_P(FuseCli, FusedModelGeneratesAsTheAdapter) {
  const std::string type = GetParam();
  std::string dir = temp_dir("lora_cli_fuse_" + type);
  check_fuse(dir, float32_model(dir), type, "");
}

TEST(FuseCliQuantized, QLoraFusesRequantizedOrDequantized) {
  std::string dir = temp_dir("lora_cli_fuse_qlora");
  auto c = run_lamina("convert --hf-path " + shell_quote(model_dir()) + " --mlx-path " + shell_quote(dir + "/q4") +
                          " --dtype float32 -q --q-bits 4 --q-group-size 32",
                      dir);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  // --dequantize: the fused float model equals the quantized base plus the adapter.
  check_fuse(dir, dir + "/q4", "lora", "--dequantize");
  auto config = nlohmann::json::parse(read_text_file(dir + "/fused/config.json"));
  EXPECT_FALSE(config.contains("quantization"));
  // Without it, the fused layers are re-quantized with the base's bits and group size.
  auto f = run_lamina("fuse --model " + shell_quote(dir + "/q4") + " --adapter-path " + shell_quote(dir + "/adapters") +
                          " --save-path " + shell_quote(dir + "/fused_q"),
                      dir);
  ASSERT_EQ(f.exit_code, 0) << f.err;
  config = nlohmann::json::parse(read_text_file(dir + "/fused_q/config.json"));
  ASSERT_TRUE(config.contains("quantization"));
  EXPECT_EQ(config["quantization"]["bits"], 4);
  EXPECT_EQ(config["quantization"]["group_size"], 32);
  auto g = run_lamina("generate --model " + shell_quote(dir + "/fused_q") + " --prompt 'The cat' --max-tokens 8 --threads 2",
                      dir);
  EXPECT_EQ(g.exit_code, 0) << g.err;
}

INSTANTIATE_TEST_SUITE_P(Types, FuseCli, ::testing::Values("lora", "dora", "full"));

}  // namespace
}  // namespace lamina::test
