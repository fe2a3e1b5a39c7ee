// Learning-rate schedules as mlx.optimizers.schedulers defines them: constant, cosine
// decay and linear, with an optional linear warmup joined in front (mlx_lm's
// build_schedule).
#pragma once

#include <cstdint>
#include <string>

namespace lamina::optim {

struct LrSchedule {
  // "constant", "cosine" (mlx's cosine_decay) or "linear" (mlx's linear_schedule).
  std::string name = "constant";
  double initial = 1e-5;
  // Steps over which cosine/linear go from `initial` to `end`.
  int64_t decay_steps = 1;
  double end = 0.0;
  // Linear warmup from warmup_init to `initial` over `warmup` steps; the decay starts at
  // step warmup + 1 (mlx's join_schedules boundary).
  int64_t warmup = 0;
  double warmup_init = 0.0;

  // The learning rate at optimizer step `step` (0 for the first update).
  double operator()(int64_t step) const;
};

// Throws lamina::Error unless the name is known and the step counts are sensible.
void validate(const LrSchedule& schedule);

}  // namespace lamina::optim
