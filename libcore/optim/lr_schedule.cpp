// Learning-rate schedules (mlx.optimizers.schedulers).
#include "libcore/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "libcore/error.h"

namespace lamina::optim {

namespace {

double linear(double init, double end, int64_t steps, int64_t step) {
  if (steps <= 0) return end;
  double s = static_cast<double>(std::min(step, steps));
  return s * ((end - init) / static_cast<double>(steps)) + init;
}

double decay(const LrSchedule& s, int64_t step) {
  if (s.name == "constant") return s.initial;
  if (s.name == "linear") return linear(s.initial, s.end, s.decay_steps, step);
  // cosine
  double t = static_cast<double>(std::min(step, s.decay_steps));
  double d = 0.5 * (1.0 + std::cos(std::numbers::pi / static_cast<double>(s.decay_steps) * t));
  return s.end + d * (s.initial - s.end);
}

}  // namespace

double LrSchedule::operator()(int64_t step) const {
  if (warmup > 0) {
    if (step < warmup + 1) return linear(warmup_init, initial, warmup, step);
    return decay(*this, step - (warmup + 1));
  }
  return decay(*this, step);
}

void validate(const LrSchedule& s) {
  if (s.name != "constant" && s.name != "cosine" && s.name != "linear") {
    throw Error("learning-rate schedule '" + s.name + "' is unknown (use constant, cosine or linear)");
  }
  if (s.name != "constant" && s.decay_steps <= 0) {
    throw Error("learning-rate schedule '" + s.name + "' needs a positive number of decay steps");
  }
  if (s.warmup < 0) throw Error("learning-rate warmup must be >= 0, got " + std::to_string(s.warmup));
}

}  // namespace lamina::optim
