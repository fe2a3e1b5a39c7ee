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
  // Computes `out` on a Vulkan device. The Vulkan backend overrides this per primitive.
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

// Declares what every primitive defines: its name and CPU kernel (and its Vulkan kernel
// when the Vulkan backend is built; the backend then defines it in backend/vulkan/).
#ifdef LAMINA_HAS_VULKAN
#define LAMINA_VULKAN_EVAL_DECL \
  void eval_vulkan(const std::vector<Array>& inputs, Array& out) override;
#else
#define LAMINA_VULKAN_EVAL_DECL
#endif

#define LAMINA_PRIMITIVE(NAME)                                            \
  const char* name() const override { return #NAME; }                     \
  void eval_cpu(const std::vector<Array>& inputs, Array& out) override;   \
  LAMINA_VULKAN_EVAL_DECL

// Declares the vjp of a differentiable primitive.
#define LAMINA_VJP                                                                       \
  std::vector<Array> vjp(const std::vector<Array>& inputs, const Array& cotangent,       \
                         const std::vector<int>& argnums, const Array& output) override;
