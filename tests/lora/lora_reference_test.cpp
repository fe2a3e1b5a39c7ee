// lamina's LoRA training against the PyTorch run in ../shared/testdata/lora-ref: per-step
// losses, step-0 gradient norms and final adapters, through the library and the CLI.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "libcore/io/safetensors.h"
#include "libcore/ops/ops.h"
#include "libcore/optim/optimizer.h"
#include "lora/trainer.h"
#include "tests/lora/lora_test_util.h"

namespace lamina::test {
namespace {

using namespace lamina::core;

std::unique_ptr<optim::Optimizer> reference_optimizer(const std::string& name, const nlohmann::json& ref) {
  optim::LrSchedule s;
  s.initial = ref[name]["lr"].get<double>();
  if (name == "sgd") {
    optim::SgdOptions o;
    o.momentum = ref["sgd"]["momentum"].get<double>();
    o.weight_decay = ref["sgd"]["weight_decay"].get<double>();
    return std::make_unique<optim::Sgd>(s, o);
  }
  optim::AdamOptions o;
  o.beta1 = ref["adam"]["betas"][0].get<double>();
  o.beta2 = ref["adam"]["betas"][1].get<double>();
  o.eps = ref["adam"]["eps"].get<double>();
  o.bias_correction = ref["adam"]["bias_correction"].get<bool>();
  return std::make_unique<optim::Adam>(s, o);
}

void expect_adapters_match(const std::string& path, const std::string& reference_file) {
  auto got = io::load_safetensors(path);
  auto want = io::load_safetensors(testdata("lora-ref/" + reference_file));
  ASSERT_EQ(got.tensors.size(), want.tensors.size());
  for (const auto& [name, w] : want.tensors) {
    ASSERT_TRUE(got.tensors.count(name)) << name;
    const Array& g = got.tensors.at(name);
    ASSERT_EQ(g.shape(), w.shape()) << name;
    double diff = max(abs(astype(g, Dtype::float32) - astype(w, Dtype::float32))).item<double>();
    EXPECT_LE(diff, 1e-4) << name;
  }
}

class LoraReference : public ::testing::TestWithParam<std::string> {};

TEST_P(LoraReference, LibraryRunMatchesPyTorch) {
  const std::string opt = GetParam();
  nlohmann::json ref = lora_reference();
  auto loaded = load_tiny_llama_f32();
  auto tok = tokenizer::Tokenizer::load(testdata("models/tiny-llama"));
  auto params = lora::attach_adapters(*loaded.model, reference_adapter_config(), 0);
  lora::load_parameters(params, testdata("lora-ref/init_adapters.safetensors"));
  lora::TrainOptions o;
  o.batch_size = 1;
  o.iters = ref["steps"].get<int64_t>();
  o.shuffle = false;
  o.steps_per_report = 1;
  o.adapter_path = temp_dir("lora_ref_lib_" + opt);
  lora::Trainer trainer(*loaded.model, params, reference_optimizer(opt, ref), o);
  auto examples = reference_examples(tok);

  // Step-0 gradient norms.
  lora::BatchIterator first(examples, 1, 2048, false, 0, "train");
  auto [loss0, grads] = trainer.loss_and_gradients(first.next());
  const auto& norms = ref["results"][opt]["grad_norms_step0"];
  ASSERT_EQ(grads.size(), norms.size());
  for (size_t i = 0; i < params.size(); ++i) {
    double norm = std::sqrt(sum(square(grads[i])).item<double>());
    double want = norms[params[i].name].get<double>();
    EXPECT_NEAR(norm, want, 1e-4 * std::max(1.0, want)) << params[i].name;
  }

  std::vector<double> losses;
  lora::TrainCallbacks cb;
  cb.on_report = [&](const lora::TrainReport& r) { losses.push_back(r.train_loss); };
  ASSERT_TRUE(trainer.train(examples, {}, cb));
  auto want = ref["results"][opt]["losses_before_each_step"].get<std::vector<double>>();
  ASSERT_EQ(losses.size(), want.size());
  EXPECT_NEAR(loss0, want[0], 1e-4 * want[0]);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(losses[i], want[i], 1e-4 * want[i]) << "step " << i;
  expect_adapters_match(o.adapter_path + "/adapters.safetensors", opt + "_final_adapters.safetensors");
}

TEST_P(LoraReference, CliRunMatchesPyTorch) {
  const std::string opt = GetParam();
  nlohmann::json ref = lora_reference();
  std::string dir = temp_dir("lora_ref_cli_" + opt);
  std::ostringstream yaml;
  yaml << "num_layers: -1\nlora_parameters:\n  rank: 4\n  scale: 2.0\n  dropout: 0.0\n"
       << "  keys: [self_attn.q_proj, self_attn.v_proj]\n"
       << "optimizer: " << opt << "\nlearning_rate: " << ref[opt]["lr"].get<double>() << "\n"
       << "batch_size: 1\niters: 8\nno_shuffle: true\nno_append_eos: true\nsteps_per_report: 1\n"
       << "optimizer_config:\n  adam:\n    betas: [0.9, 0.999]\n    eps: 1.0e-8\n    bias_correction: true\n";
  {
    std::ofstream f(dir + "/config.yaml");
    f << yaml.str();
  }
  auto r = run_lamina("lora -c " + shell_quote(dir + "/config.yaml") + " --model " +
                          shell_quote(testdata("models/tiny-llama")) + " --train --data " +
                          shell_quote(testdata("lora-ref")) + " --adapter-path " + shell_quote(dir + "/adapters") +
                          " --resume-adapter-file " + shell_quote(testdata("lora-ref/init_adapters.safetensors")) +
                          " --json --threads 2",
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Iter 8: Train loss"), std::string::npos) << r.err;
  std::vector<double> losses;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line);
    ASSERT_TRUE(j.contains("iteration") && j.contains("learning_rate") && j.contains("tokens_per_second") &&
                j.contains("peak_memory_bytes"))
        << line;
    losses.push_back(j["train_loss"].get<double>());
  }
  auto want = ref["results"][opt]["losses_before_each_step"].get<std::vector<double>>();
  ASSERT_EQ(losses.size(), want.size()) << r.out;
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(losses[i], want[i], 1e-4 * want[i]) << "step " << i;
  expect_adapters_match(dir + "/adapters/adapters.safetensors", opt + "_final_adapters.safetensors");
  auto config = nlohmann::json::parse(read_text_file(dir + "/adapters/adapter_config.json"));
  EXPECT_EQ(config["fine_tune_type"], "lora");
  EXPECT_EQ(config["num_layers"], -1);
  EXPECT_EQ(config["lora_parameters"]["rank"], 4);
  EXPECT_EQ(config["lora_parameters"]["scale"], 2.0);
}

INSTANTIATE_TEST_SUITE_P(Optimizers, LoraReference, ::testing::Values("sgd", "adam"));

}  // namespace
}  // namespace lamina::test
