// Primitive: one operation of the lazy graph. Each has a CPU kernel, (with the Vulkan
// backend) a Vulkan kernel, a vjp for reverse-mode autodiff, and a name for graph dumps.
// Output shapes are inferred by the op builder that creates the node (libcore/ops).
#pragma once

#include <ostream>
#include <vector>

#include "libcore/array/array.h"

namespace lamina::core {

class Primitive {
 public:
  virtual ~Primitive() = default;
  // The primitive's name as graph dumps show it.
  virtual const char* name() const = 0;
  // Computes `out` from evaluated `inputs` on the CPU; must set out's data.
  virtual void eval_cpu(const std::vector<Array>& inputs, Array& out) = 0;
  // Computes `out` on a Vulkan device: the kernel registered for this primitive's type,
  // else its CPU kernel on host copies of the inputs (see backend/vulkan/kernel_registry.h).
  virtual void eval_vulkan(const std::vector<Array>& inputs, Array& out);
  // Returns the cotangent of each inputs[argnums[i]] given the cotangent of the output.
  virtual std::vector<Array> vjp(const std::vector<Array>& inputs, const Array& cotangent,
                                 const std::vector<int>& argnums, const Array& output);
  // Writes the name and parameters (e.g. "Transpose(1, 0)") for graph dumps.
  virtual void print(std::ostream& os) const { os << name(); }
};

// Runs `primitive` for `out` on out's device.
void eval_primitive(Primitive& primitive, const std::vector<Array>& inputs, Array& out);

}  // namespace lamina::core

// Declares what every primitive defines: its name and CPU kernel. Vulkan kernels are not
// declared here: backend/vulkan registers them per primitive type (LAMINA_VULKAN_KERNEL),
// and the base eval_vulkan runs a primitive without one on the CPU, so adding a primitive
// never breaks the Vulkan build.
#define LAMINA_PRIMITIVE(NAME)                                            \
  const char* name() const override { return #NAME; }                     \
  void eval_cpu(const std::vector<Array>& inputs, Array& out) override;

// Declares an eval_vulkan of the primitive's own (for device-agnostic ones such as pure
// views, defined beside eval_cpu under #ifdef LAMINA_HAS_VULKAN).
#ifdef LAMINA_HAS_VULKAN
#define LAMINA_VULKAN_OVERRIDE \
  void eval_vulkan(const std::vector<Array>& inputs, Array& out) override;
#else
#define LAMINA_VULKAN_OVERRIDE
#endif

// Declares the vjp of a differentiable primitive.
#define LAMINA_VJP                                                                       \
  std::vector<Array> vjp(const std::vector<Array>& inputs, const Array& cotangent,       \
                         const std::vector<int>& argnums, const Array& output) override;
