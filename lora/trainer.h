// The training loop of mlx_lm.lora: value-and-grad of the masked cross-entropy over the
// trainable arrays, gradient accumulation, optimizer updates, loss reports, validation,
// checkpoints (adapters + training state) and exact resumption.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "libcore/array/array.h"
#include "libcore/models/model.h"
#include "libcore/optim/optimizer.h"
#include "lora/adapters.h"
#include "lora/batches.h"
#include "lora/dataset.h"

namespace lamina::lora {

struct TrainOptions {
  int batch_size = 4;
  int64_t iters = 1000;
  int grad_accumulation_steps = 1;
  int64_t steps_per_report = 10;
  int64_t steps_per_eval = 200;
  int64_t val_batches = 25;  // -1: the whole validation set
  int64_t save_every = 100;
  int64_t max_seq_length = 2048;
  bool shuffle = true;
  uint64_t seed = 0;
  std::string adapter_path = "adapters";
  // Written to <adapter_path>/adapter_config.json when training starts.
  nlohmann::ordered_json adapter_config = nlohmann::ordered_json::object();
};

struct TrainReport {
  int64_t iteration = 0;
  double train_loss = 0, learning_rate = 0, iterations_per_second = 0, tokens_per_second = 0;
  int64_t trained_tokens = 0;
  size_t peak_memory_bytes = 0;
};

struct EvalReport {
  int64_t iteration = 0;
  double val_loss = 0;
  double seconds = 0;
};

struct TrainCallbacks {
  std::function<void(const TrainReport&)> on_report;
  std::function<void(const EvalReport&)> on_eval;
  std::function<void(int64_t iteration, const std::string& adapter_file)> on_save;
  std::function<void(const std::string& message)> on_warning;
  // After every iteration: its number, loss and the tokens it trained on.
  std::function<void(int64_t iteration, double loss, int64_t tokens)> on_step;
  // Asked after every iteration; true saves a checkpoint and stops.
  std::function<bool()> should_stop;
};

// A non-finite loss stopped training.
class TrainingDiverged : public Error {
 public:
  using Error::Error;
};

// Mean cross-entropy of the batch's counted tokens (float32 scalar, lazy).
core::Array batch_loss(models::Model& model, const Batch& batch);

class Trainer {
 public:
  Trainer(models::Model& model, std::vector<TrainableParameter> params, std::unique_ptr<optim::Optimizer> optimizer,
          TrainOptions options, std::shared_ptr<DropoutContext> dropout = nullptr);

  // The loss of a batch and the gradient of every trainable parameter (evaluated).
  std::pair<double, std::vector<core::Array>> loss_and_gradients(const Batch& batch);
  // Mean loss over the first num_batches batches (-1: all) of `data`, in the unshuffled
  // order, weighted by counted tokens.
  double evaluate(const std::vector<Example>& data, int64_t num_batches);
  // Continues from a state file written beside an adapter checkpoint (the adapters must be
  // loaded into the parameters already). Throws when it does not fit this run, or when the
  // adapters were saved at another iteration (`adapter_iteration`, -1: unknown) than the
  // state, as after a kill between the two writes of adapters.safetensors' checkpoint.
  void resume(const std::string& state_file, int64_t adapter_iteration = -1);
  // Trains until options.iters; returns false when should_stop ended it early. Throws
  // TrainingDiverged on a non-finite loss (the checkpoints on disk stay as they were).
  bool train(const std::vector<Example>& train_data, const std::vector<Example>& valid_data,
             const TrainCallbacks& callbacks = {});

  int64_t iteration() const { return iteration_; }
  const std::vector<TrainableParameter>& parameters() const { return params_; }
  optim::Optimizer& optimizer() { return *optimizer_; }
  // The last adapter file saved ("" before the first save).
  const std::string& last_checkpoint() const { return last_checkpoint_; }

 private:
  void save_checkpoint(bool numbered, const BatchIterator& data, const TrainCallbacks& callbacks);

  models::Model& model_;
  std::vector<TrainableParameter> params_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  TrainOptions options_;
  std::shared_ptr<DropoutContext> dropout_;

  int64_t iteration_ = 0;       // iterations (micro-batches) completed
  int64_t trained_tokens_ = 0;
  // The current report window.
  double window_loss_ = 0;
  int64_t window_steps_ = 0, window_tokens_ = 0;
  std::vector<core::Array> accumulated_;
  double learning_rate_ = 0;  // of the last update
  bool resumed_ = false;
  BatchIterator::Position resume_position_;
  std::string last_checkpoint_;
};

}  // namespace lamina::lora
