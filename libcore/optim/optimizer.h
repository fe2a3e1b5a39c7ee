// Optimizers as array ops (mlx.optimizers): SGD (momentum, weight decay, dampening,
// Nesterov), Adam and AdamW with bias correction on or off. update() builds the new
// parameters and state lazily; evaluate them together with state_arrays().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "libcore/array/array.h"
#include "libcore/optim/lr_schedule.h"

namespace lamina::optim {

class Optimizer {
 public:
  explicit Optimizer(LrSchedule schedule) : schedule_(std::move(schedule)) {}
  virtual ~Optimizer() = default;

  // Replaces params[i] by its updated value given grads[i], at learning rate
  // schedule(step()), then counts one step. The first call sizes the state.
  void update(std::vector<core::Array>& params, const std::vector<core::Array>& grads);
  // Steps taken so far.
  int64_t step() const { return step_; }
  // The learning rate the next update() uses.
  double learning_rate() const { return schedule_(step_); }
  // The per-parameter state (moments) in a fixed order, for evaluation and checkpoints;
  // empty before the first update.
  std::vector<core::Array> state_arrays() const;
  // Restores a state saved from state_arrays() and step() by an optimizer of the same kind
  // over the same parameters; throws when the count or shapes do not fit `params`.
  void load_state(const std::vector<core::Array>& params, std::vector<core::Array> state, int64_t step);
  // Arrays of state per parameter (0 for plain SGD, 1 with momentum, 2 for Adam).
  virtual int state_per_parameter() const = 0;
  virtual std::string name() const = 0;

 protected:
  // Returns the new parameter; updates `state` (state_per_parameter() arrays) in place.
  // `t` counts from 1 (the update being made).
  virtual core::Array apply(const core::Array& param, const core::Array& grad, std::vector<core::Array>& state,
                            double lr, int64_t t) = 0;

 private:
  LrSchedule schedule_;
  int64_t step_ = 0;
  std::vector<std::vector<core::Array>> state_;
};

struct SgdOptions {
  double momentum = 0.0;
  double weight_decay = 0.0;
  double dampening = 0.0;
  bool nesterov = false;
};

class Sgd : public Optimizer {
 public:
  Sgd(LrSchedule schedule, SgdOptions options);
  int state_per_parameter() const override { return options_.momentum > 0 ? 1 : 0; }
  std::string name() const override { return "sgd"; }

 protected:
  core::Array apply(const core::Array& param, const core::Array& grad, std::vector<core::Array>& state, double lr,
                    int64_t t) override;

 private:
  SgdOptions options_;
};

struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  // mlx's default is off; PyTorch always corrects.
  bool bias_correction = false;
  // AdamW only: decoupled weight decay p *= 1 - lr * weight_decay (mlx's default 0.01).
  double weight_decay = 0.01;
};

// Adam, or AdamW when `decoupled_weight_decay`.
class Adam : public Optimizer {
 public:
  Adam(LrSchedule schedule, AdamOptions options, bool decoupled_weight_decay = false);
  int state_per_parameter() const override { return 2; }
  std::string name() const override { return adamw_ ? "adamw" : "adam"; }

 protected:
  core::Array apply(const core::Array& param, const core::Array& grad, std::vector<core::Array>& state, double lr,
                    int64_t t) override;

 private:
  AdamOptions options_;
  bool adamw_;
};

}  // namespace lamina::optim
