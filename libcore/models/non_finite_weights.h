// Finding the weights that hold NaN or infinity: the diagnosis lamina gives when a model's
// logits turn non-finite, instead of sampling garbage from them.
#pragma once

#include <optional>
#include <string>

namespace lamina::models {

// Describes the first float tensor of the model directory `dir` (in file order) that holds
// NaN or infinite values, as "<file>: tensor '<name>' holds 1 NaN and 0 infinite values
// (the first at element 17 of 1024)"; nullopt when every weight is finite. Reads every
// weight once (memory-mapped, nothing copied).
std::optional<std::string> find_non_finite_weight(const std::string& dir);

}  // namespace lamina::models
