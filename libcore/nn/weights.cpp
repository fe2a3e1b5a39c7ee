// WeightMap lookups.
#include "libcore/nn/weights.h"

namespace lamina::nn {

core::Array WeightMap::take(const std::string& name, const core::Shape& shape) {
  auto a = take_optional(name, shape);
  if (!a) throw Error(source_ + ": missing tensor '" + name + "'");
  return *a;
}

std::optional<core::Array> WeightMap::take_optional(const std::string& name,
                                                    const core::Shape& shape) {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) return std::nullopt;
  if (!shape.empty() && it->second.shape() != shape) {
    throw Error(source_ + ": tensor '" + name + "' has shape " +
                core::shape_string(it->second.shape()) + " but the config implies " +
                core::shape_string(shape));
  }
  // An integer tensor where a float parameter belongs would be read as numbers of another
  // scale (or, packed, as garbage): refuse it instead of computing nonsense.
  if (!shape.empty() && !core::is_floating(it->second.dtype())) {
    throw Error(source_ + ": tensor '" + name + "' has dtype " +
                core::dtype_name(it->second.dtype()) +
                " but the model needs a float (float16, bfloat16 or float32)");
  }
  taken_.insert(name);
  return it->second;
}

std::vector<std::string> WeightMap::untaken() const {
  std::vector<std::string> out;
  for (const auto& [name, a] : tensors_) {
    if (!taken_.count(name)) out.push_back(name);
  }
  return out;
}

}  // namespace lamina::nn
