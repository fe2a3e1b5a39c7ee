// The flags of `lamina lora` (mlx_lm.lora's names) and the -c config.yaml that can set
// them: a key is a flag name with underscores; a flag given on the command line wins.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "lora/adapter_config.h"

namespace lamina::cli {

struct LoraFlags {
  std::string model;
  bool train = false, test = false, no_shuffle = false, mask_prompt = false, grad_checkpoint = false,
       json = false, no_append_eos = false;
  std::string data = "data";
  lora::AdapterConfig adapter;  // fine_tune_type, num_layers, lora_parameters
  int batch_size = 4;
  int64_t iters = 1000;
  int64_t val_batches = 25, test_batches = 500;
  double learning_rate = 1e-5;
  std::string optimizer = "adam";
  // optimizer_config
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = -1, momentum = 0;  // weight_decay < 0: default
  bool bias_correction = false;
  // lr_schedule
  std::string lr_schedule = "constant";
  int64_t lr_decay_steps = 0;  // 0: --iters
  double lr_end = 0;
  int64_t warmup = 0;
  double warmup_init = 0;
  int grad_accumulation_steps = 1;
  int64_t max_seq_length = 2048, steps_per_report = 10, steps_per_eval = 200, save_every = 100;
  std::string adapter_path = "adapters", resume_adapter_file, config_file;
  uint64_t seed = 0;
  std::string device = "auto", dtype = "float32";
  int threads = 0;
};

// Adds every flag to `app`.
void add_lora_flags(CLI::App& app, LoraFlags& flags);
// Applies the YAML file's keys to the flags not given on the command line. Throws
// lamina::Error naming the file and key for an unknown key or a value of the wrong type.
void apply_lora_config_file(const std::string& path, const CLI::App& app, LoraFlags& flags);

}  // namespace lamina::cli
