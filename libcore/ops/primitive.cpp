// Primitive defaults and backend dispatch.
#include "libcore/ops/primitive.h"

#include <string>

#ifdef LAMINA_HAS_VULKAN
#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/transfer.h"
#endif

namespace lamina::core {

#ifdef LAMINA_HAS_VULKAN
void Primitive::eval_vulkan(const std::vector<Array>& inputs, Array& out) {
  vulkan::run_registered(*this, inputs, out);
}
#else
void Primitive::eval_vulkan(const std::vector<Array>&, Array&) {
  throw Error(std::string("primitive ") + name() + " needs the Vulkan backend, which this lamina was built without");
}
#endif

std::vector<Array> Primitive::vjp(const std::vector<Array>&, const Array&,
                                  const std::vector<int>&, const Array&) {
  throw Error(std::string("primitive ") + name() + " is not differentiable");
}

void eval_primitive(Primitive& primitive, const std::vector<Array>& inputs, Array& out) {
  if (out.device().type == Device::Type::vulkan) {
    primitive.eval_vulkan(inputs, out);
    return;
  }
#ifdef LAMINA_HAS_VULKAN
  // A CPU primitive reading GPU arrays gets host copies (the GPU copies stay).
  for (const auto& in : inputs) {
    if (vulkan::on_device(in)) {
      primitive.eval_cpu(vulkan::host_inputs(inputs), out);
      return;
    }
  }
#endif
  primitive.eval_cpu(inputs, out);
}

}  // namespace lamina::core
