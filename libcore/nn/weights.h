// WeightMap: the named tensors of a checkpoint, handed out to modules by name with
// shape checks, so a missing or misshapen tensor is one clear error naming it.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "libcore/array/array.h"
#include "quant/quantized_ops.h"

namespace lamina::nn {

class WeightMap {
 public:
  WeightMap() = default;
  WeightMap(std::map<std::string, core::Array> tensors, std::string source)
      : tensors_(std::move(tensors)), source_(std::move(source)) {}

  // Returns the tensor `name`; throws naming it (and the source) when it is missing or, when
  // `shape` is given (a float parameter), when its shape differs or its dtype is not floating.
  core::Array take(const std::string& name, const core::Shape& shape = {});
  // Returns the tensor when present.
  std::optional<core::Array> take_optional(const std::string& name, const core::Shape& shape = {});
  bool contains(const std::string& name) const { return tensors_.count(name) > 0; }
  void erase(const std::string& name) { tensors_.erase(name); }
  void insert(const std::string& name, core::Array a) { tensors_.insert_or_assign(name, std::move(a)); }
  std::map<std::string, core::Array>& tensors() { return tensors_; }
  const std::string& source() const { return source_; }
  // Names never taken (a checkpoint with unexpected tensors is reported, not silently used).
  std::vector<std::string> untaken() const;
  // How the quantized layers built from this map multiply (load_quantized_weight copies it).
  void set_quantized_activations(core::QuantizedActivations a) { quantized_activations_ = a; }
  core::QuantizedActivations quantized_activations() const { return quantized_activations_; }

 private:
  std::map<std::string, core::Array> tensors_;
  std::set<std::string> taken_;
  std::string source_;
  core::QuantizedActivations quantized_activations_ = core::QuantizedActivations::float32;
};

}  // namespace lamina::nn
