// The training state saved beside each adapter checkpoint (zstd-compressed), so that a
// resumed run continues exactly: counters, data position, the report window and the
// optimizer's moments (and gradients accumulated mid-cycle).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "libcore/array/array.h"

namespace lamina::lora {

struct TrainingState {
  // Counters and settings as JSON: iteration, optimizer_step, epoch, batch_index, seed,
  // trained_tokens, the report window, the optimizer name, parameter names...
  nlohmann::ordered_json info = nlohmann::ordered_json::object();
  std::vector<core::Array> optimizer_state;
  std::vector<core::Array> accumulated_gradients;  // empty at an update boundary
};

// The state file that belongs to an adapter file: "<dir>/0000100_adapters.safetensors" ->
// "<dir>/0000100_training_state.zst", "<dir>/adapters.safetensors" ->
// "<dir>/training_state.zst".
std::string training_state_path(const std::string& adapter_file);

// The iteration an adapter file was saved at (its "lamina_iteration" metadata, which the
// trainer writes), or -1 when it has none (mlx-lm's files).
int64_t adapter_file_iteration(const std::string& adapter_file);

// Writes the state atomically. Throws lamina::Error naming the file on failure.
void save_training_state(const std::string& path, const TrainingState& state);
// Reads a state written by save_training_state; throws naming the file when it is not one.
TrainingState load_training_state(const std::string& path);

}  // namespace lamina::lora
