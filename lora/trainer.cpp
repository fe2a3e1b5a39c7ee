// The LoRA / full fine-tuning loop.
#include "lora/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "libcore/generate/generator.h"
#include "libcore/io/safetensors.h"
#include "libcore/io/temporary_files.h"
#include "libcore/ops/ops.h"
#include "lora/training_state.h"

namespace lamina::lora {

using namespace lamina::core;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string numbered_name(int64_t iteration) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%07lld_%s", static_cast<long long>(iteration), kAdapterWeightsFile);
  return buf;
}

// A key for the dropout masks of micro-batch `iteration` that depends only on (seed, iteration).
Array dropout_key(uint64_t seed, int64_t iteration) {
  return random::key(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(iteration));
}

}  // namespace

Array batch_loss(models::Model& model, const Batch& batch) {
  const int64_t L = batch.tokens.shape(1);
  Array inputs = slice_axis(batch.tokens, 1, 0, L - 1);
  Array targets = slice_axis(batch.tokens, 1, 1, L);
  // A cache sized to the sequence: one block of exactly L - 1 positions, no growth steps.
  auto cache = model.make_cache(L - 1);
  Array logits = model.forward(inputs, cache);
  Array ce = fast::cross_entropy(logits, targets);
  return sum(ce * batch.loss_mask) / Array(static_cast<float>(std::max<int64_t>(batch.counted_tokens, 1)));
}

Trainer::Trainer(models::Model& model, std::vector<TrainableParameter> params,
                 std::unique_ptr<optim::Optimizer> optimizer, TrainOptions options,
                 std::shared_ptr<DropoutContext> dropout)
    : model_(model),
      params_(std::move(params)),
      optimizer_(std::move(optimizer)),
      options_(std::move(options)),
      dropout_(std::move(dropout)) {
  if (params_.empty()) throw Error("nothing to train: no layer was selected");
  if (options_.grad_accumulation_steps <= 0) throw Error("grad accumulation steps must be positive");
  if (options_.steps_per_report <= 0 || options_.steps_per_eval <= 0 || options_.save_every <= 0) {
    throw Error("steps per report / eval and save-every must be positive");
  }
}

std::pair<double, std::vector<Array>> Trainer::loss_and_gradients(const Batch& batch) {
  std::vector<Array> values;
  for (const auto& p : params_) values.push_back(*p.slot);
  auto restore = [&] {
    for (size_t i = 0; i < params_.size(); ++i) *params_[i].slot = values[i];
  };
  std::pair<Array, std::vector<Array>> result;
  try {
    result = value_and_grad(
        [&](const std::vector<Array>& x) {
          for (size_t i = 0; i < params_.size(); ++i) *params_[i].slot = x[i];
          return batch_loss(model_, batch);
        },
        values);
  } catch (...) {
    restore();
    throw;
  }
  restore();
  std::vector<Array> all = result.second;
  all.push_back(result.first);
  eval(all);
  return {result.first.item<double>(), result.second};
}

double Trainer::evaluate(const std::vector<Example>& data, int64_t num_batches) {
  BatchIterator batches(data, options_.batch_size, options_.max_seq_length, options_.shuffle, options_.seed,
                        "evaluation data");
  int64_t n = batches.batches_per_epoch();
  if (num_batches >= 0) n = std::min(n, num_batches);
  bool was_training = dropout_ && dropout_->training;
  if (dropout_) dropout_->training = false;
  double total = 0;
  int64_t tokens = 0;
  for (int64_t i = 0; i < n; ++i) {
    Batch b = batches.batch(i);
    double loss = batch_loss(model_, b).item<double>();
    total += loss * static_cast<double>(b.counted_tokens);
    tokens += b.counted_tokens;
  }
  if (dropout_) dropout_->training = was_training;
  return tokens > 0 ? total / static_cast<double>(tokens) : 0.0;
}

void Trainer::resume(const std::string& state_file, int64_t adapter_iteration) {
  TrainingState s = load_training_state(state_file);
  const auto& info = s.info;
  std::vector<std::string> names;
  for (const auto& p : params_) names.push_back(p.name);
  try {
    const int64_t saved_at = info.at("iteration").get<int64_t>();
    if (adapter_iteration >= 0 && adapter_iteration != saved_at) {
      throw Error(state_file + ": saved at iteration " + std::to_string(saved_at) +
                  ", but its adapter file at iteration " + std::to_string(adapter_iteration) +
                  " (was a save interrupted?); resume from a numbered checkpoint");
    }
    if (info.at("parameters").get<std::vector<std::string>>() != names) {
      throw Error(state_file + ": saved for other trainable parameters (another fine-tune type, keys or layers)");
    }
    if (info.at("optimizer").get<std::string>() != optimizer_->name()) {
      throw Error(state_file + ": saved by the " + info.at("optimizer").get<std::string>() +
                  " optimizer, this run uses " + optimizer_->name());
    }
    if (info.at("grad_accumulation_steps").get<int>() != options_.grad_accumulation_steps ||
        info.at("batch_size").get<int>() != options_.batch_size) {
      throw Error(state_file + ": saved with another --batch-size or --grad-accumulation-steps");
    }
    std::vector<Array> values;
    for (const auto& p : params_) values.push_back(*p.slot);
    optimizer_->load_state(values, s.optimizer_state, info.at("optimizer_step").get<int64_t>());
    iteration_ = info.at("iteration").get<int64_t>();
    trained_tokens_ = info.at("trained_tokens").get<int64_t>();
    window_loss_ = info.at("window_loss").get<double>();
    window_steps_ = info.at("window_steps").get<int64_t>();
    window_tokens_ = info.at("window_tokens").get<int64_t>();
    options_.seed = info.at("seed").get<uint64_t>();
    resume_position_ = {info.at("epoch").get<int64_t>(), info.at("batch_index").get<int64_t>()};
  } catch (const nlohmann::json::exception& e) {
    throw Error(state_file + ": incomplete training state (" + std::string(e.what()) + ")");
  }
  accumulated_ = s.accumulated_gradients;
  if (!accumulated_.empty() && accumulated_.size() != params_.size()) {
    throw Error(state_file + ": accumulated gradients do not match the parameters");
  }
  resumed_ = true;
}

void Trainer::save_checkpoint(bool numbered, const BatchIterator& data, const TrainCallbacks& callbacks) {
  fs::create_directories(options_.adapter_path);
  TrainingState s;
  s.info["iteration"] = iteration_;
  s.info["optimizer"] = optimizer_->name();
  s.info["optimizer_step"] = optimizer_->step();
  s.info["epoch"] = data.position().epoch;
  s.info["batch_index"] = data.position().index;
  s.info["seed"] = options_.seed;
  s.info["batch_size"] = options_.batch_size;
  s.info["grad_accumulation_steps"] = options_.grad_accumulation_steps;
  s.info["trained_tokens"] = trained_tokens_;
  s.info["window_loss"] = window_loss_;
  s.info["window_steps"] = window_steps_;
  s.info["window_tokens"] = window_tokens_;
  std::vector<std::string> names;
  for (const auto& p : params_) names.push_back(p.name);
  s.info["parameters"] = names;
  s.optimizer_state = optimizer_->state_arrays();
  s.accumulated_gradients = accumulated_;
  const std::map<std::string, std::string> metadata{{"format", "mlx"},
                                                     {"lamina_iteration", std::to_string(iteration_)}};
  auto tensors = named_parameters(params_);
  std::vector<std::string> files;
  if (numbered) files.push_back((fs::path(options_.adapter_path) / numbered_name(iteration_)).string());
  files.push_back((fs::path(options_.adapter_path) / kAdapterWeightsFile).string());
  for (const auto& f : files) {
    // The state first: an adapter file never names an iteration its state file lacks.
    save_training_state(training_state_path(f), s);
    io::save_safetensors(f, tensors, metadata);
  }
  last_checkpoint_ = files.front();
  if (callbacks.on_save) callbacks.on_save(iteration_, files.front());
}

bool Trainer::train(const std::vector<Example>& train_data, const std::vector<Example>& valid_data,
                    const TrainCallbacks& callbacks) {
  fs::create_directories(options_.adapter_path);
  // Checkpoint temporaries a killed run left here (they are never renamed into place).
  io::remove_stale_temporaries(options_.adapter_path);
  write_adapter_config(options_.adapter_path, options_.adapter_config);
  BatchIterator batches(train_data, options_.batch_size, options_.max_seq_length, options_.shuffle, options_.seed,
                        "training data");
  if (resumed_) batches.set_position(resume_position_);
  const bool validate = !valid_data.empty() && options_.val_batches != 0;
  bool warned_truncation = false;
  Clock::time_point window_start = Clock::now();
  while (iteration_ < options_.iters) {
    const int64_t it = iteration_ + 1;
    if (validate && (it == 1 || it % options_.steps_per_eval == 0 || it == options_.iters)) {
      Clock::time_point t = Clock::now();
      double val = evaluate(valid_data, options_.val_batches);
      if (callbacks.on_eval) callbacks.on_eval({it, val, seconds_since(t)});
      window_start += Clock::now() - t;  // validation time is not training time
    }
    Batch batch = batches.next();
    if (batch.truncated && !warned_truncation && callbacks.on_warning) {
      callbacks.on_warning("some examples are longer than the max sequence length " +
                           std::to_string(options_.max_seq_length) + " tokens and were truncated");
      warned_truncation = true;
    }
    if (dropout_) {
      dropout_->training = true;
      dropout_->key = dropout_key(options_.seed, it);
    }
    auto [loss, grads] = loss_and_gradients(batch);
    if (dropout_) dropout_->training = false;
    if (!std::isfinite(loss)) {
      std::string keep = last_checkpoint_.empty() ? "no checkpoint was saved yet"
                                                  : "the last checkpoint " + last_checkpoint_ + " is intact";
      throw TrainingDiverged("Iter " + std::to_string(it) + ": the training loss is " +
                             (std::isnan(loss) ? "nan" : "inf") + "; stopping (" + keep +
                             "). Try a lower --learning-rate.");
    }
    if (accumulated_.empty()) {
      accumulated_ = grads;
    } else {
      for (size_t i = 0; i < grads.size(); ++i) accumulated_[i] = accumulated_[i] + grads[i];
    }
    if (it % options_.grad_accumulation_steps == 0) {
      std::vector<Array> values;
      for (const auto& p : params_) values.push_back(*p.slot);
      std::vector<Array> g = accumulated_;
      if (options_.grad_accumulation_steps > 1) {
        for (auto& x : g) x = x / static_cast<double>(options_.grad_accumulation_steps);
      }
      learning_rate_ = optimizer_->learning_rate();
      optimizer_->update(values, g);
      std::vector<Array> all = values;
      for (const auto& s : optimizer_->state_arrays()) all.push_back(s);
      eval(all);
      for (size_t i = 0; i < params_.size(); ++i) *params_[i].slot = values[i];
      accumulated_.clear();
    } else {
      eval(accumulated_);
    }
    iteration_ = it;
    trained_tokens_ += batch.counted_tokens;
    window_loss_ += loss;
    window_steps_ += 1;
    window_tokens_ += batch.counted_tokens;
    if (it % options_.steps_per_report == 0 || it == options_.iters) {
      double elapsed = std::max(seconds_since(window_start), 1e-9);
      TrainReport r;
      r.iteration = it;
      r.train_loss = window_loss_ / static_cast<double>(window_steps_);
      r.learning_rate = learning_rate_;
      r.iterations_per_second = static_cast<double>(window_steps_) / elapsed;
      r.tokens_per_second = static_cast<double>(window_tokens_) / elapsed;
      r.trained_tokens = trained_tokens_;
      r.peak_memory_bytes = generate::peak_rss_bytes();
      if (callbacks.on_report) callbacks.on_report(r);
      window_loss_ = 0;
      window_steps_ = window_tokens_ = 0;
      window_start = Clock::now();
    }
    if (callbacks.on_step) callbacks.on_step(it, loss, batch.counted_tokens);
    if (it % options_.save_every == 0) save_checkpoint(true, batches, callbacks);
    if (callbacks.should_stop && callbacks.should_stop() && it < options_.iters) {
      if (it % options_.save_every != 0) save_checkpoint(true, batches, callbacks);
      return false;
    }
  }
  if (options_.iters % options_.save_every != 0 || last_checkpoint_.empty()) save_checkpoint(false, batches, callbacks);
  return true;
}

}  // namespace lamina::lora
