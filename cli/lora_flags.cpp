// `lamina lora` flags and config.yaml.
#include "cli/lora_flags.h"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>

#include "libcore/error.h"

namespace lamina::cli {

void add_lora_flags(CLI::App& app, LoraFlags& f) {
  app.add_option("--model,-m", f.model, "Model directory to fine-tune");
  app.add_flag("--train", f.train, "Train (otherwise only --test runs)");
  app.add_option("--data", f.data, "Directory with train.jsonl, valid.jsonl (and test.jsonl)")->capture_default_str();
  app.add_option("--fine-tune-type", f.adapter.fine_tune_type, "lora | dora | full")
      ->check(CLI::IsMember({"lora", "dora", "full"}))->capture_default_str();
  app.add_option("--num-layers", f.adapter.num_layers, "Layers to fine-tune, counted from the last (-1: all)")
      ->capture_default_str();
  app.add_option("--batch-size", f.batch_size, "Examples per batch")->capture_default_str();
  app.add_option("--iters", f.iters, "Training iterations (batches)")->capture_default_str();
  app.add_option("--learning-rate", f.learning_rate, "Learning rate")->capture_default_str();
  app.add_option("--optimizer", f.optimizer, "sgd | adam | adamw")
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}))->capture_default_str();
  app.add_option("--weight-decay", f.weight_decay, "Weight decay (sgd default 0, adamw default 0.01)");
  app.add_option("--momentum", f.momentum, "SGD momentum")->capture_default_str();
  app.add_flag("--bias-correction", f.bias_correction, "Adam/AdamW bias correction (mlx default: off)");
  app.add_option("--lr-schedule", f.lr_schedule, "constant | cosine | linear")
      ->check(CLI::IsMember({"constant", "cosine", "linear"}))->capture_default_str();
  app.add_option("--lr-decay-steps", f.lr_decay_steps, "Steps of the cosine/linear decay (default: --iters)");
  app.add_option("--lr-end", f.lr_end, "Learning rate at the end of the decay")->capture_default_str();
  app.add_option("--warmup", f.warmup, "Linear warmup steps")->capture_default_str();
  app.add_option("--warmup-init", f.warmup_init, "Learning rate the warmup starts from")->capture_default_str();
  app.add_option("--grad-accumulation-steps", f.grad_accumulation_steps, "Batches per optimizer update")
      ->capture_default_str();
  app.add_flag("--grad-checkpoint", f.grad_checkpoint, "Recompute block activations in the backward pass");
  app.add_flag("--mask-prompt", f.mask_prompt, "Loss on the completion / last assistant turn only");
  app.add_flag("--no-append-eos", f.no_append_eos, "Do not append EOS to text and completion examples");
  app.add_option("--max-seq-length", f.max_seq_length, "Longest sequence in tokens (longer ones are cut)")
      ->capture_default_str();
  app.add_option("--steps-per-report", f.steps_per_report, "Iterations between loss reports")->capture_default_str();
  app.add_option("--steps-per-eval", f.steps_per_eval, "Iterations between validations")->capture_default_str();
  app.add_option("--val-batches", f.val_batches, "Validation batches (-1: the whole set)")->capture_default_str();
  app.add_option("--save-every", f.save_every, "Iterations between checkpoints")->capture_default_str();
  app.add_option("--adapter-path", f.adapter_path, "Where adapters are saved (and read with --test)")
      ->capture_default_str();
  app.add_option("--resume-adapter-file", f.resume_adapter_file,
                 "Start from these adapter weights; with their training state beside them, continue that run");
  app.add_option("--seed", f.seed, "Random seed (adapter init, data order, dropout)")->capture_default_str();
  app.add_flag("--test", f.test, "Evaluate test.jsonl after training (or with the saved adapters)");
  app.add_option("--test-batches", f.test_batches, "Test batches (-1: the whole set)")->capture_default_str();
  app.add_flag("--no-shuffle", f.no_shuffle, "Batches in file order, no length sorting or shuffling");
  app.add_option("--device", f.device, "auto | cpu | vulkan[:N]")->capture_default_str();
  app.add_option("--dtype", f.dtype, "Compute dtype of float weights: float32 | bfloat16 | float16")
      ->check(CLI::IsMember({"float16", "bfloat16", "float32"}))->capture_default_str();
  app.add_option("--threads", f.threads, "CPU threads (default: LAMINA_NUM_THREADS or all cores)");
  app.add_flag("--json", f.json, "One JSON object per report / evaluation on stdout");
  app.add_option("-c,--config", f.config_file, "YAML file whose keys are flag names with underscores");
}

namespace {

using Setter = std::function<void(const YAML::Node&)>;

template <typename T>
Setter set(T& target) {
  return [&target](const YAML::Node& n) { target = n.as<T>(); };
}

}  // namespace

void apply_lora_config_file(const std::string& path, const CLI::App& app, LoraFlags& f) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw Error(path + ": " + e.what());
  }
  if (!root.IsMap()) throw Error(path + ": expected a mapping of option names to values");
  // Keys that mirror a flag (only applied when the flag was not given).
  std::map<std::string, Setter> flags{
      {"model", set(f.model)}, {"train", set(f.train)}, {"data", set(f.data)},
      {"fine_tune_type", set(f.adapter.fine_tune_type)}, {"num_layers", set(f.adapter.num_layers)},
      {"batch_size", set(f.batch_size)}, {"iters", set(f.iters)}, {"learning_rate", set(f.learning_rate)},
      {"optimizer", set(f.optimizer)}, {"weight_decay", set(f.weight_decay)}, {"momentum", set(f.momentum)},
      {"bias_correction", set(f.bias_correction)}, {"grad_accumulation_steps", set(f.grad_accumulation_steps)},
      {"grad_checkpoint", set(f.grad_checkpoint)}, {"mask_prompt", set(f.mask_prompt)},
      {"no_append_eos", set(f.no_append_eos)}, {"max_seq_length", set(f.max_seq_length)},
      {"steps_per_report", set(f.steps_per_report)}, {"steps_per_eval", set(f.steps_per_eval)},
      {"val_batches", set(f.val_batches)}, {"save_every", set(f.save_every)},
      {"adapter_path", set(f.adapter_path)}, {"resume_adapter_file", set(f.resume_adapter_file)},
      {"seed", set(f.seed)}, {"test", set(f.test)}, {"test_batches", set(f.test_batches)},
      {"no_shuffle", set(f.no_shuffle)}, {"device", set(f.device)}, {"dtype", set(f.dtype)},
      {"threads", set(f.threads)}, {"json", set(f.json)}, {"warmup", set(f.warmup)},
      {"warmup_init", set(f.warmup_init)}, {"lr_end", set(f.lr_end)}};
  YAML::Node optimizer_config;
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& value = kv.second;
    try {
      if (auto it = flags.find(key); it != flags.end()) {
        std::string flag = "--" + key;
        for (auto& c : flag) c = c == '_' ? '-' : c;
        if (app.count(flag) == 0 && !value.IsNull()) it->second(value);
      } else if (key == "lora_parameters") {
        if (value["rank"]) f.adapter.rank = value["rank"].as<int>();
        if (value["scale"]) f.adapter.scale = value["scale"].as<float>();
        if (value["dropout"]) f.adapter.dropout = value["dropout"].as<float>();
        if (value["keys"] && !value["keys"].IsNull()) f.adapter.keys = value["keys"].as<std::vector<std::string>>();
      } else if (key == "optimizer_config") {
        optimizer_config = value;  // applied once the optimizer is known
      } else if (key == "lr_schedule") {
        if (app.count("--lr-schedule") != 0 || value.IsNull()) continue;
        // mlx_lm: {name: cosine_decay | linear_schedule | ..., arguments: [...], warmup, warmup_init}
        std::string name = value["name"].as<std::string>();
        auto args = value["arguments"] ? value["arguments"].as<std::vector<double>>() : std::vector<double>{};
        if (name == "cosine_decay" || name == "cosine") {
          f.lr_schedule = "cosine";
          if (args.size() > 0) f.learning_rate = args[0];
          if (args.size() > 1) f.lr_decay_steps = static_cast<int64_t>(args[1]);
          if (args.size() > 2) f.lr_end = args[2];
        } else if (name == "linear_schedule" || name == "linear") {
          f.lr_schedule = "linear";
          if (args.size() > 0) f.learning_rate = args[0];
          if (args.size() > 1) f.lr_end = args[1];
          if (args.size() > 2) f.lr_decay_steps = static_cast<int64_t>(args[2]);
        } else if (name == "constant") {
          f.lr_schedule = "constant";
          if (args.size() > 0) f.learning_rate = args[0];
        } else {
          throw Error(path + ": lr_schedule name '" + name + "' is not supported (cosine_decay, linear_schedule)");
        }
        if (value["warmup"]) f.warmup = value["warmup"].as<int64_t>();
        if (value["warmup_init"]) f.warmup_init = value["warmup_init"].as<double>();
      } else {
        throw Error(path + ": unknown key '" + key + "'");
      }
    } catch (const YAML::Exception& e) {
      throw Error(path + ": key '" + key + "': " + e.what());
    }
  }
  if (!optimizer_config || !optimizer_config[f.optimizer]) return;
  const YAML::Node o = optimizer_config[f.optimizer];
  try {
    if (o["betas"]) {
      auto b = o["betas"].as<std::vector<double>>();
      if (b.size() != 2) throw Error(path + ": optimizer_config betas needs two numbers");
      f.beta1 = b[0];
      f.beta2 = b[1];
    }
    if (o["eps"]) f.eps = o["eps"].as<double>();
    if (o["bias_correction"] && app.count("--bias-correction") == 0) f.bias_correction = o["bias_correction"].as<bool>();
    if (o["weight_decay"] && app.count("--weight-decay") == 0) f.weight_decay = o["weight_decay"].as<double>();
    if (o["momentum"] && app.count("--momentum") == 0) f.momentum = o["momentum"].as<double>();
  } catch (const YAML::Exception& e) {
    throw Error(path + ": optimizer_config." + f.optimizer + ": " + e.what());
  }
}

}  // namespace lamina::cli
