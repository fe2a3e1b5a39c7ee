// Primitive defaults and backend dispatch.
#include "libcore/ops/primitive.h"

#include <string>

namespace lamina::core {

void Primitive::eval_vulkan(const std::vector<Array>&, Array&) {
  throw Error(std::string("primitive ") + name() + " has no Vulkan kernel");
}

std::vector<Array> Primitive::vjp(const std::vector<Array>&, const Array&,
                                  const std::vector<int>&, const Array&) {
  throw Error(std::string("primitive ") + name() + " is not differentiable");
}

void eval_primitive(Primitive& primitive, const std::vector<Array>& inputs, Array& out) {
  if (out.device().type == Device::Type::vulkan) {
    primitive.eval_vulkan(inputs, out);
  } else {
    primitive.eval_cpu(inputs, out);
  }
}

}  // namespace lamina::core
