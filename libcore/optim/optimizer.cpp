// SGD, Adam, AdamW (the update rules of mlx.optimizers, written with lamina ops).
#include "libcore/optim/optimizer.h"

#include <cmath>

#include "libcore/ops/ops.h"

namespace lamina::optim {

using namespace lamina::core;

void Optimizer::update(std::vector<Array>& params, const std::vector<Array>& grads) {
  if (params.size() != grads.size()) {
    throw Error("optimizer: " + std::to_string(grads.size()) + " gradients for " + std::to_string(params.size()) +
                " parameters");
  }
  if (state_.empty()) {
    for (const auto& p : params) state_.emplace_back(state_per_parameter(), zeros(p.shape(), p.dtype()));
  } else if (state_.size() != params.size()) {
    throw Error("optimizer: state for " + std::to_string(state_.size()) + " parameters, given " +
                std::to_string(params.size()));
  }
  const double lr = schedule_(step_);
  ++step_;
  for (size_t i = 0; i < params.size(); ++i) {
    Array g = grads[i].dtype() == params[i].dtype() ? grads[i] : astype(grads[i], params[i].dtype());
    params[i] = apply(params[i], g, state_[i], lr, step_);
  }
}

std::vector<Array> Optimizer::state_arrays() const {
  std::vector<Array> out;
  for (const auto& s : state_) out.insert(out.end(), s.begin(), s.end());
  return out;
}

void Optimizer::load_state(const std::vector<Array>& params, std::vector<Array> state, int64_t step) {
  const size_t per = static_cast<size_t>(state_per_parameter());
  if (state.size() != params.size() * per) {
    throw Error(name() + " optimizer state: " + std::to_string(state.size()) + " arrays, expected " +
                std::to_string(params.size() * per) + " for " + std::to_string(params.size()) + " parameters");
  }
  state_.clear();
  for (size_t i = 0; i < params.size(); ++i) {
    std::vector<Array> s;
    for (size_t k = 0; k < per; ++k) {
      const Array& a = state[i * per + k];
      if (a.shape() != params[i].shape()) {
        throw Error(name() + " optimizer state: array " + std::to_string(i * per + k) + " has shape " +
                    shape_string(a.shape()) + ", its parameter " + shape_string(params[i].shape()));
      }
      s.push_back(astype(a, params[i].dtype()));
    }
    state_.push_back(std::move(s));
  }
  step_ = step;
}

Sgd::Sgd(LrSchedule schedule, SgdOptions options) : Optimizer(std::move(schedule)), options_(options) {
  if (options.nesterov && (options.momentum <= 0 || options.dampening != 0)) {
    throw Error("sgd: Nesterov momentum needs momentum > 0 and dampening 0");
  }
}

Array Sgd::apply(const Array& p, const Array& grad, std::vector<Array>& state, double lr, int64_t) {
  Array g = grad;
  if (options_.weight_decay != 0) g = g + options_.weight_decay * p;
  if (options_.momentum <= 0) return p - lr * g;
  Array& v = state[0];
  v = options_.momentum * v;
  v = options_.dampening > 0 ? v + (1.0 - options_.dampening) * g : v + g;
  Array step = options_.nesterov ? g + options_.momentum * v : v;
  return p - lr * step;
}

Adam::Adam(LrSchedule schedule, AdamOptions options, bool decoupled_weight_decay)
    : Optimizer(std::move(schedule)), options_(options), adamw_(decoupled_weight_decay) {}

Array Adam::apply(const Array& param, const Array& g, std::vector<Array>& state, double lr, int64_t t) {
  const double b1 = options_.beta1, b2 = options_.beta2;
  Array p = adamw_ ? param * (1.0 - lr * options_.weight_decay) : param;
  Array& m = state[0];
  Array& v = state[1];
  m = b1 * m + (1.0 - b1) * g;
  v = b2 * v + (1.0 - b2) * square(g);
  if (options_.bias_correction) {
    double c1 = lr / (1.0 - std::pow(b1, static_cast<double>(t)));
    double c2 = 1.0 / std::sqrt(1.0 - std::pow(b2, static_cast<double>(t)));
    return p - c1 * m / (sqrt(v) * c2 + options_.eps);
  }
  return p - lr * m / (sqrt(v) + options_.eps);
}

}  // namespace lamina::optim
