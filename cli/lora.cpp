// `lamina lora`: LoRA / DoRA / full fine-tuning on jsonl data (mlx_lm.lora).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/interrupt.h"
#include "cli/lora_flags.h"
#include "cli/progress_bar.h"
#include "cli/model_session.h"
#include "libcore/error.h"
#include "lora/adapters.h"
#include "lora/trainer.h"
#include "lora/training_state.h"

namespace lamina::cli {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<optim::Optimizer> make_optimizer(const LoraFlags& f) {
  optim::LrSchedule schedule;
  schedule.name = f.lr_schedule;
  schedule.initial = f.learning_rate;
  schedule.decay_steps = f.lr_decay_steps > 0 ? f.lr_decay_steps : f.iters;
  schedule.end = f.lr_end;
  schedule.warmup = f.warmup;
  schedule.warmup_init = f.warmup_init;
  optim::validate(schedule);
  if (f.optimizer == "sgd") {
    optim::SgdOptions o;
    o.momentum = f.momentum;
    o.weight_decay = f.weight_decay < 0 ? 0.0 : f.weight_decay;
    return std::make_unique<optim::Sgd>(schedule, o);
  }
  optim::AdamOptions o;
  o.beta1 = f.beta1;
  o.beta2 = f.beta2;
  o.eps = f.eps;
  o.bias_correction = f.bias_correction;
  if (f.weight_decay >= 0) o.weight_decay = f.weight_decay;
  if (f.optimizer == "adam" && f.weight_decay > 0) throw Error("--weight-decay needs --optimizer adamw or sgd");
  return std::make_unique<optim::Adam>(schedule, o, f.optimizer == "adamw");
}

void check_flags(const LoraFlags& f) {
  if (f.model.empty()) throw Error("--model is required (on the command line or in the config file)");
  if (!f.train && !f.test) throw Error("nothing to do: pass --train and/or --test");
  if (f.batch_size <= 0) throw Error("--batch-size must be positive");
  if (f.iters <= 0) throw Error("--iters must be positive");
  if (!(f.learning_rate >= 0) || !std::isfinite(f.learning_rate)) throw Error("--learning-rate must be >= 0");
  if (f.max_seq_length < 2) throw Error("--max-seq-length must be at least 2");
  lora::validate(f.adapter, "adapter settings");
}

nlohmann::ordered_json adapter_config_json(const LoraFlags& f) {
  nlohmann::ordered_json j = lora::to_json(f.adapter);
  j["model"] = f.model;
  j["data"] = f.data;
  j["batch_size"] = f.batch_size;
  j["iters"] = f.iters;
  j["learning_rate"] = f.learning_rate;
  j["optimizer"] = f.optimizer;
  j["lr_schedule"] = f.lr_schedule;
  j["grad_accumulation_steps"] = f.grad_accumulation_steps;
  j["grad_checkpoint"] = f.grad_checkpoint;
  j["mask_prompt"] = f.mask_prompt;
  j["max_seq_length"] = f.max_seq_length;
  j["seed"] = f.seed;
  j["adapter_path"] = f.adapter_path;
  return j;
}

std::string gigabytes(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f GB", static_cast<double>(bytes) / 1e9);
  return buf;
}

int run_lora(LoraFlags& f, const CLI::App& app) {
  if (!f.config_file.empty()) apply_lora_config_file(f.config_file, app, f);
  check_flags(f);
  ModelFlags mf;
  mf.model = f.model;
  mf.device = f.device;
  mf.threads = f.threads;
  mf.dtype = f.dtype;
  mf.quantized_activations = "float32";  // training keeps exact products (QLoRA)
  std::cerr << "Loading pretrained model " << f.model << "\n";
  ModelSession session = open_model(mf);
  models::Model& model = *session.loaded.model;

  lora::TextEncoder encoder;
  encoder.tokenizer = &session.tokenizer;
  encoder.chat_template = session.chat_template;
  encoder.special_tokens = session.special_tokens;
  encoder.append_eos = !f.no_append_eos;
  encoder.mask_prompt = f.mask_prompt;
  auto data_file = [&](const char* name) { return (fs::path(f.data) / name).string(); };

  lora::TrainOptions o;
  o.batch_size = f.batch_size;
  o.iters = f.iters;
  o.grad_accumulation_steps = f.grad_accumulation_steps;
  o.steps_per_report = f.steps_per_report;
  o.steps_per_eval = f.steps_per_eval;
  o.val_batches = f.val_batches;
  o.save_every = f.save_every;
  o.max_seq_length = f.max_seq_length;
  o.shuffle = !f.no_shuffle;
  o.seed = f.seed;
  o.adapter_path = f.adapter_path;
  o.adapter_config = adapter_config_json(f);

  auto dropout = std::make_shared<lora::DropoutContext>();
  lora::AdapterConfig adapter = f.adapter;
  if (!f.train) adapter = lora::read_adapter_config(f.adapter_path);
  auto params = lora::attach_adapters(model, adapter, f.seed, dropout);
  if (f.grad_checkpoint) model.set_grad_checkpoint(true);
  int64_t trainable = 0;
  for (const auto& p : params) trainable += p.slot->size();
  std::cerr << "Trainable parameters: " << trainable << " in " << params.size() << " arrays\n";

  lora::Trainer trainer(model, params, make_optimizer(f), o, dropout);
  if (!f.train) {
    lora::load_parameters(params, (fs::path(f.adapter_path) / lora::kAdapterWeightsFile).string());
  }
  if (f.train) {
    if (!f.resume_adapter_file.empty()) {
      std::cerr << "Loading weights from " << f.resume_adapter_file << "\n";
      lora::load_parameters(params, f.resume_adapter_file);
      std::string state = lora::training_state_path(f.resume_adapter_file);
      if (fs::exists(state)) {
        trainer.resume(state, lora::adapter_file_iteration(f.resume_adapter_file));
        std::cerr << "Resuming at iteration " << trainer.iteration() + 1 << " from " << state << "\n";
      }
    }
    std::cerr << "Loading datasets from " << f.data << "\n";
    auto train = lora::load_jsonl(data_file("train.jsonl"), encoder);
    std::vector<lora::Example> valid;
    if (fs::exists(data_file("valid.jsonl"))) valid = lora::load_jsonl(data_file("valid.jsonl"), encoder);
    std::cerr << "Training: " << train.size() << " examples, " << valid.size() << " validation examples\n";

    // On a terminal: a bar with the iteration, the loss averaged since the last report,
    // training tokens/s and the time left; cleared before every logged line.
    ProgressBar bar("training");
    const auto started = std::chrono::steady_clock::now();
    const int64_t first_iteration = trainer.iteration();
    double bar_loss = 0;
    int64_t bar_steps = 0, bar_tokens = 0;
    lora::TrainCallbacks cb;
    cb.on_step = [&](int64_t it, double loss, int64_t tokens) {
      bar_loss += loss;
      bar_steps += 1;
      bar_tokens += tokens;
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() + 1e-9;
      const double per_step = seconds / static_cast<double>(it - first_iteration);
      const auto left = static_cast<long long>(per_step * static_cast<double>(o.iters - it));
      char status[128];
      std::snprintf(status, sizeof(status), "loss %.3f, %.0f tok/s, %lld:%02lld left",
                    bar_loss / static_cast<double>(bar_steps), static_cast<double>(bar_tokens) / seconds,
                    left / 60, left % 60);
      bar.update_steps(it, o.iters, status);
    };
    cb.on_report = [&](const lora::TrainReport& r) {
      bar.clear();
      bar_loss = 0;
      bar_steps = 0;
      char line[512];
      std::snprintf(line, sizeof(line),
                    "Iter %lld: Train loss %.3f, Learning Rate %.3e, It/sec %.3f, Tokens/sec %.3f, Trained Tokens "
                    "%lld, Peak mem %s\n",
                    static_cast<long long>(r.iteration), r.train_loss, r.learning_rate, r.iterations_per_second,
                    r.tokens_per_second, static_cast<long long>(r.trained_tokens), gigabytes(r.peak_memory_bytes).c_str());
      std::cerr << line;
      if (f.json) {
        nlohmann::ordered_json j{{"iteration", r.iteration}, {"train_loss", r.train_loss},
                                 {"learning_rate", r.learning_rate}, {"iterations_per_second", r.iterations_per_second},
                                 {"tokens_per_second", r.tokens_per_second}, {"trained_tokens", r.trained_tokens},
                                 {"peak_memory_bytes", r.peak_memory_bytes}};
        std::cout << j.dump() << std::endl;
      }
    };
    cb.on_eval = [&](const lora::EvalReport& r) {
      bar.clear();
      char line[256];
      std::snprintf(line, sizeof(line), "Iter %lld: Val loss %.3f, Val took %.3fs\n", static_cast<long long>(r.iteration),
                    r.val_loss, r.seconds);
      std::cerr << line;
      if (f.json) {
        nlohmann::ordered_json j{{"iteration", r.iteration}, {"val_loss", r.val_loss}, {"val_seconds", r.seconds}};
        std::cout << j.dump() << std::endl;
      }
    };
    cb.on_save = [&](int64_t it, const std::string& file) {
      bar.clear();
      std::cerr << "Iter " << it << ": Saved adapter weights to " << file << "\n";
    };
    cb.on_warning = [&](const std::string& m) {
      bar.clear();
      std::cerr << "lamina: warning: " << m << "\n";
    };
    cb.should_stop = [] { return interrupted(); };
    watch_interrupts();
    bool completed = trainer.train(train, valid, cb);
    bar.clear();
    if (!completed) {
      std::cerr << "Interrupted: checkpoint saved at iteration " << trainer.iteration() << " ("
                << trainer.last_checkpoint() << "); resume with --resume-adapter-file " << trainer.last_checkpoint()
                << "\n";
      return interrupted_exit_status();
    }
    std::cerr << "Saved final weights to " << (fs::path(f.adapter_path) / lora::kAdapterWeightsFile).string() << "\n";
  }
  if (f.test) {
    auto test = lora::load_jsonl(data_file("test.jsonl"), encoder);
    double loss = trainer.evaluate(test, f.test_batches);
    char line[128];
    std::snprintf(line, sizeof(line), "Test loss %.3f, Test ppl %.3f.\n", loss, std::exp(loss));
    std::cerr << line;
    if (f.json) std::cout << nlohmann::ordered_json{{"test_loss", loss}, {"test_perplexity", std::exp(loss)}}.dump() << std::endl;
  }
  return 0;
}

CommandRunner setup_lora(CLI::App& app) {
  auto flags = std::make_shared<LoraFlags>();
  add_lora_flags(app, *flags);
  const CLI::App* parsed = &app;
  return [flags, parsed] { return run_lora(*flags, *parsed); };
}

}  // namespace

LAMINA_COMMAND(lora, "Fine-tune a model with LoRA, DoRA or full fine-tuning (mlx_lm.lora)", setup_lora);

}  // namespace lamina::cli
