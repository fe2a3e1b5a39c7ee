// Vulkan evaluation of GatherAlongAxis (kernels/vulkan/gather_axis.comp), Scatter and
// ScatterAlongAxis (kernels/vulkan/scatter.comp). Gathers read any strides in place;
// scatters copy a into the output (or take its buffer) and make strided indices and
// updates row-major first. Assignments with many updates per column run in parallel
// (the last duplicate found by an atomic max), additions one column per invocation in
// order, so both give the CPU's result exactly.
#include <string>

#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/scratch.h"
#include "libcore/backend/vulkan/strided.h"
#include "libcore/ops/indexing_primitives.h"

namespace lamina::core {

namespace {

// Above this many updates per column, an assignment runs over all updates in parallel.
constexpr int64_t kSerialUpdates = 32;
constexpr int kMaxDims = 8;  // strided.glsl's limit
constexpr int64_t kMaxElements = 0xffffffffLL;  // 32-bit indexing

std::optional<std::string> index_suffix(Dtype dtype) {
  if (dtype == Dtype::int32 || dtype == Dtype::uint32) return vulkan::dtype_suffix(dtype);
  return std::nullopt;
}

int64_t product(const Shape& shape, int begin, int end) {
  int64_t p = 1;
  for (int d = begin; d < end; ++d) p *= shape[d];
  return p;
}

// scatter.comp's variant: assignments move bits (one variant per element size),
// additions compute in the dtype.
std::optional<std::string> scatter_variant(Dtype dtype, ScatterMode mode, Dtype index) {
  auto i = index_suffix(index);
  if (!i || !vulkan::dtype_suffix(dtype)) return std::nullopt;
  if (mode == ScatterMode::assign) {
    const char* bits = size_of(dtype) == 1 ? "bool" : size_of(dtype) == 2 ? "bf16" : "u32";
    return std::string("scatter_set_") + bits + "_" + *i;
  }
  if (dtype == Dtype::bool_) return std::nullopt;  // the CPU reports the error
  return "scatter_add_" + *vulkan::dtype_suffix(dtype) + "_" + *i;
}

// Scatters `updates` (viewed as [outer, m, inner] once row-major) into out, a copy of a
// ([outer, n, inner]), at rows given by `indices` (per update when `per_element`, else
// one per j, row-major either way). False, with nothing recorded, when a dtype has no
// kernel.
bool scatter_into(const Array& a, const Array& indices, const Array& updates, int64_t outer, int64_t m,
             int64_t inner, bool per_element, ScatterMode mode, Array& out) {
  auto variant = scatter_variant(a.dtype(), mode, indices.dtype());
  if (!variant || updates.dtype() != a.dtype()) return false;
  if (a.ndim() > kMaxDims || indices.ndim() > kMaxDims || updates.ndim() > kMaxDims) return false;
  if (a.size() > kMaxElements || updates.size() > kMaxElements) return false;
  auto& ctx = vulkan::context_of(out);
  Array idx, upd;
  if (!vulkan::row_major_on_gpu(ctx, indices, out, idx) || !vulkan::row_major_on_gpu(ctx, updates, out, upd)) {
    return false;
  }
  vulkan::prepare_output_from(ctx, out, a);
  if (out.buffer() != a.buffer()) vulkan::strided_copy(ctx, a, out);
  const int64_t updates_count = outer * m * inner;
  if (updates_count == 0 || out.size() == 0) return true;
  const int64_t n = out.size() / (outer * inner);
  uint32_t i_off = 0, u_off = 0;
  auto bi = vulkan::bind(ctx, idx, i_off);
  auto bu = vulkan::bind(ctx, upd, u_off);
  auto bo = vulkan::bind_output(ctx, out);
  std::vector<uint32_t> params;
  for (int64_t v : {outer, m, inner, n, int64_t{per_element}, int64_t{i_off}, int64_t{u_off}, out.size()}) {
    params.push_back(static_cast<uint32_t>(v));
  }
  if (mode == ScatterMode::add || m <= kSerialUpdates) {
    vulkan::dispatch_elements(ctx, *variant, 0, params, {bi, bu, bo, bo}, outer * inner);
    return true;
  }
  Array winner = vulkan::scratch_array(ctx, out, out.shape(), Dtype::uint32);
  auto bw = vulkan::bind_output(ctx, winner);
  vulkan::dispatch_elements(ctx, *variant, 1, params, {bi, bu, bo, bw}, out.size());
  vulkan::dispatch_elements(ctx, *variant, 2, params, {bi, bu, bo, bw}, updates_count);
  vulkan::dispatch_elements(ctx, *variant, 3, params, {bi, bu, bo, bw}, updates_count);
  return true;
}

}  // namespace

LAMINA_VULKAN_KERNEL(GatherAlongAxis) {
  const Array& a = inputs[0];
  const Array& indices = inputs[1];
  auto i = index_suffix(indices.dtype());
  const int bytes = a.itemsize();
  if (!i || a.ndim() > kMaxDims || a.shape(p.axis()) == 0 ||
      (bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8)) {
    return vulkan::run_on_cpu(p, inputs, out);
  }
  auto& ctx = vulkan::context_of(out);
  vulkan::allocate_output(ctx, out);
  if (out.size() == 0) return;
  uint32_t a_off = 0, i_off = 0;
  auto ba = vulkan::bind(ctx, a, a_off);
  auto bi = vulkan::bind(ctx, indices, i_off);
  auto bo = vulkan::bind_output(ctx, out);
  Strides a_strides = a.strides();
  a_strides[p.axis()] = 0;  // the index gives that coordinate
  auto params = vulkan::strided_params(out.shape(), {indices.strides(), a_strides}, {i_off, a_off});
  params.push_back(static_cast<uint32_t>(a.shape(p.axis())));
  params.push_back(static_cast<uint32_t>(a.strides()[p.axis()]));
  vulkan::dispatch_elements(ctx, "gather_axis_b" + std::to_string(bytes) + "_" + *i, 0, params, {ba, bi, bo},
                            out.size());
}

LAMINA_VULKAN_KERNEL(ScatterAlongAxis) {
  const Array& a = inputs[0];
  const int axis = p.axis();
  const Shape& s = inputs[1].shape();
  if (!scatter_into(a, inputs[1], inputs[2], product(s, 0, axis), s[axis], product(s, axis + 1, a.ndim()), true,
               p.mode(), out)) {
    vulkan::run_on_cpu(p, inputs, out);
  }
}

LAMINA_VULKAN_KERNEL(Scatter) {
  const Array& a = inputs[0];
  const int axis = p.axis();
  if (!scatter_into(a, inputs[1], inputs[2], product(a.shape(), 0, axis), inputs[1].size(),
               product(a.shape(), axis + 1, a.ndim()), false, p.mode(), out)) {
    vulkan::run_on_cpu(p, inputs, out);
  }
}

}  // namespace lamina::core
