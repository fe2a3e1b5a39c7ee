// The Vulkan kernels of primitives, registered per primitive type. A primitive with no
// registered kernel (or whose kernel declines the inputs) runs on the CPU.
#pragma once

#include <typeindex>
#include <vector>

#include "libcore/array/array.h"

namespace lamina::core {
class Primitive;
}

namespace lamina::core::vulkan {

using KernelFn = void (*)(Primitive& primitive, const std::vector<Array>& inputs, Array& out);

// Registers fn as the Vulkan kernel of primitives of `type`; returns true (for statics).
bool register_kernel(std::type_index type, KernelFn fn);
// True when primitives of `type` have a Vulkan kernel.
bool has_kernel(std::type_index type);
// Runs the registered kernel of primitive's type, or primitive's CPU kernel on host copies.
void run_registered(Primitive& primitive, const std::vector<Array>& inputs, Array& out);

}  // namespace lamina::core::vulkan

// Defines the Vulkan kernel of primitive class PRIM; the body sees `p` (PRIM&), `inputs`
// and `out`:
//   LAMINA_VULKAN_KERNEL(Add) { ... }
#define LAMINA_VULKAN_KERNEL(PRIM)                                                          \
  static void lamina_vulkan_kernel_##PRIM(PRIM& p, const std::vector<Array>& inputs,       \
                                          Array& out);                                      \
  [[maybe_unused]] static const bool lamina_vulkan_registered_##PRIM =                      \
      ::lamina::core::vulkan::register_kernel(                                              \
          typeid(PRIM), [](Primitive& prim, const std::vector<Array>& in, Array& o) {       \
            lamina_vulkan_kernel_##PRIM(static_cast<PRIM&>(prim), in, o);                   \
          });                                                                               \
  static void lamina_vulkan_kernel_##PRIM(PRIM& p, const std::vector<Array>& inputs, Array& out)
