// Vulkan evaluation of the elementwise primitives (kernels/vulkan/unary, binary, select).
#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/strided.h"
#include "libcore/ops/elementwise_primitives.h"

namespace lamina::core {

namespace {

// Op codes of unary.comp and binary.comp (the `switch (OP)` there).
enum class UnaryOp : uint32_t {
  negative, abs, exp, log, log1p, sqrt, rsqrt, square, sin, cos, tanh, sigmoid, erf, silu,
  gelu, gelu_tanh, floor, ceil, round, sign
};
enum class BinaryOp : uint32_t {
  add, subtract, multiply, divide, power, maximum, minimum, equal, not_equal, less,
  less_equal, greater, greater_equal, logical_and, logical_or, silu_multiply
};

bool is_float(Dtype d) { return d == Dtype::float32 || d == Dtype::float16 || d == Dtype::bfloat16; }

void unary(Primitive& p, UnaryOp op, const std::vector<Array>& inputs, Array& out) {
  const Array& in = inputs[0];
  if (!is_float(in.dtype())) return vulkan::run_on_cpu(p, inputs, out);
  auto& ctx = vulkan::context_of(out);
  vulkan::prepare_output(ctx, out, inputs);
  uint32_t in_off = 0;
  auto src = vulkan::bind(ctx, in, in_off);
  auto dst = vulkan::bind_output(ctx, out);
  auto params = vulkan::strided_params(out.shape(), {in.strides(), out.strides()}, {in_off, 0});
  vulkan::dispatch_elements(ctx, "unary_" + *vulkan::dtype_suffix(in.dtype()),
                            static_cast<uint32_t>(op), params, {src, dst}, out.size());
}

// Which ops each input dtype has on the GPU (others run on the CPU).
bool binary_supported(BinaryOp op, Dtype d) {
  if (is_float(d)) return op != BinaryOp::logical_and && op != BinaryOp::logical_or;
  if (op == BinaryOp::silu_multiply) return false;
  if (d == Dtype::int32) return op != BinaryOp::power && op != BinaryOp::logical_and && op != BinaryOp::logical_or;
  if (d == Dtype::uint32) {
    // Sign-agnostic ops only: the kernel's integer arithmetic is signed.
    return op == BinaryOp::add || op == BinaryOp::subtract || op == BinaryOp::multiply ||
           op == BinaryOp::equal || op == BinaryOp::not_equal;
  }
  if (d == Dtype::bool_) {
    return op == BinaryOp::logical_and || op == BinaryOp::logical_or || op == BinaryOp::equal ||
           op == BinaryOp::not_equal;
  }
  return false;
}

void binary(Primitive& p, BinaryOp op, const std::vector<Array>& inputs, Array& out) {
  const Array& a = inputs[0];
  const Array& b = inputs[1];
  if (!binary_supported(op, a.dtype()) || b.dtype() != a.dtype()) return vulkan::run_on_cpu(p, inputs, out);
  auto& ctx = vulkan::context_of(out);
  vulkan::prepare_output(ctx, out, inputs);
  uint32_t a_off = 0, b_off = 0;
  auto ba = vulkan::bind(ctx, a, a_off);
  auto bb = vulkan::bind(ctx, b, b_off);
  auto dst = vulkan::bind_output(ctx, out);
  auto params = vulkan::strided_params(out.shape(), {a.strides(), b.strides(), out.strides()},
                                       {a_off, b_off, 0});
  std::string t = *vulkan::dtype_suffix(a.dtype());
  std::string shader = "binary_" + t + "_" + (out.dtype() == Dtype::bool_ ? "bool" : t);
  vulkan::dispatch_elements(ctx, shader, static_cast<uint32_t>(op), params, {ba, bb, dst}, out.size());
}

}  // namespace

#define LAMINA_UNARY_VULKAN(NAME, OP) \
  LAMINA_VULKAN_KERNEL(NAME) { unary(p, UnaryOp::OP, inputs, out); }
#define LAMINA_BINARY_VULKAN(NAME, OP) \
  LAMINA_VULKAN_KERNEL(NAME) { binary(p, BinaryOp::OP, inputs, out); }

LAMINA_UNARY_VULKAN(Negative, negative)
LAMINA_UNARY_VULKAN(Abs, abs)
LAMINA_UNARY_VULKAN(Exp, exp)
LAMINA_UNARY_VULKAN(Log, log)
LAMINA_UNARY_VULKAN(Log1p, log1p)
LAMINA_UNARY_VULKAN(Sqrt, sqrt)
LAMINA_UNARY_VULKAN(Rsqrt, rsqrt)
LAMINA_UNARY_VULKAN(Square, square)
LAMINA_UNARY_VULKAN(Sin, sin)
LAMINA_UNARY_VULKAN(Cos, cos)
LAMINA_UNARY_VULKAN(Tanh, tanh)
LAMINA_UNARY_VULKAN(Sigmoid, sigmoid)
LAMINA_UNARY_VULKAN(Erf, erf)
LAMINA_UNARY_VULKAN(Silu, silu)
LAMINA_UNARY_VULKAN(Gelu, gelu)
LAMINA_UNARY_VULKAN(GeluTanh, gelu_tanh)
LAMINA_UNARY_VULKAN(Floor, floor)
LAMINA_UNARY_VULKAN(Ceil, ceil)
LAMINA_UNARY_VULKAN(Round, round)
LAMINA_UNARY_VULKAN(Sign, sign)

LAMINA_BINARY_VULKAN(Add, add)
LAMINA_BINARY_VULKAN(Subtract, subtract)
LAMINA_BINARY_VULKAN(Multiply, multiply)
LAMINA_BINARY_VULKAN(Divide, divide)
LAMINA_BINARY_VULKAN(Power, power)
LAMINA_BINARY_VULKAN(Maximum, maximum)
LAMINA_BINARY_VULKAN(Minimum, minimum)
LAMINA_BINARY_VULKAN(Equal, equal)
LAMINA_BINARY_VULKAN(NotEqual, not_equal)
LAMINA_BINARY_VULKAN(Less, less)
LAMINA_BINARY_VULKAN(LessEqual, less_equal)
LAMINA_BINARY_VULKAN(Greater, greater)
LAMINA_BINARY_VULKAN(GreaterEqual, greater_equal)
LAMINA_BINARY_VULKAN(LogicalAnd, logical_and)
LAMINA_BINARY_VULKAN(LogicalOr, logical_or)
LAMINA_BINARY_VULKAN(SiluMultiply, silu_multiply)

LAMINA_VULKAN_KERNEL(Select) {
  const Array& c = inputs[0];
  const Array& a = inputs[1];
  const Array& b = inputs[2];
  auto t = vulkan::dtype_suffix(out.dtype());
  if (!t || c.dtype() != Dtype::bool_) return vulkan::run_on_cpu(p, inputs, out);
  auto& ctx = vulkan::context_of(out);
  vulkan::prepare_output(ctx, out, {inputs[1], inputs[2]});
  uint32_t c_off = 0, a_off = 0, b_off = 0;
  auto bc = vulkan::bind(ctx, c, c_off);
  auto ba = vulkan::bind(ctx, a, a_off);
  auto bb = vulkan::bind(ctx, b, b_off);
  auto dst = vulkan::bind_output(ctx, out);
  auto params = vulkan::strided_params(
      out.shape(), {c.strides(), a.strides(), b.strides(), out.strides()}, {c_off, a_off, b_off, 0});
  vulkan::dispatch_elements(ctx, "select_" + *t, 0, params, {bc, ba, bb, dst}, out.size());
}

}  // namespace lamina::core
