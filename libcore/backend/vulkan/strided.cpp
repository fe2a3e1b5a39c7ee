// Strided parameter packing, element launches and the converting copy.
#include "libcore/backend/vulkan/strided.h"

#include <limits>

#include "libcore/error.h"

namespace lamina::core::vulkan {

namespace {
constexpr uint32_t kLocal = 256;
constexpr uint32_t kMaxGroupsX = 65535;

uint32_t narrow(int64_t v, const char* what) {
  if (v < 0 || v > std::numeric_limits<uint32_t>::max()) {
    throw Error(std::string("vulkan: ") + what + " " + std::to_string(v) + " exceeds 32-bit indexing");
  }
  return static_cast<uint32_t>(v);
}
}  // namespace

std::vector<uint32_t> strided_params(const Shape& shape, const std::vector<Strides>& strides,
                                     const std::vector<uint32_t>& offsets) {
  const size_t k = strides.size();
  // Keep dims of size > 1; merge a dim into the next when every operand is contiguous across.
  Shape dims;
  std::vector<Strides> st(k);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !dims.empty();
    for (size_t o = 0; o < k && merge; ++o) {
      merge = st[o].back() == strides[o][d] * shape[d];
    }
    if (merge) {
      dims.back() *= shape[d];
      for (size_t o = 0; o < k; ++o) st[o].back() = strides[o][d];
    } else {
      dims.push_back(shape[d]);
      for (size_t o = 0; o < k; ++o) st[o].push_back(strides[o][d]);
    }
  }
  if (dims.size() > 8) throw Error("vulkan: strided kernels take at most 8 dims after merging");
  std::vector<uint32_t> p;
  p.reserve(2 + k + dims.size() * (1 + k));
  p.push_back(narrow(shape_size(shape), "element count"));
  p.push_back(static_cast<uint32_t>(dims.size()));
  for (uint32_t off : offsets) p.push_back(off);
  for (int64_t d : dims) p.push_back(narrow(d, "dimension"));
  for (size_t o = 0; o < k; ++o) {
    for (int64_t s : st[o]) p.push_back(narrow(s, "stride"));
  }
  return p;
}

void dispatch_elements(Context& ctx, const std::string& shader, uint32_t op,
                       const std::vector<uint32_t>& params,
                       const std::vector<BufferBinding>& buffers, int64_t elements,
                       const std::vector<uint32_t>& more_constants) {
  if (elements <= 0) return;
  std::vector<uint32_t> constants{kLocal, op};
  constants.insert(constants.end(), more_constants.begin(), more_constants.end());
  const Pipeline& pipeline =
      ctx.pipelines().get(shader, static_cast<uint32_t>(buffers.size() + 1), constants);
  uint32_t groups = group_count(elements, kLocal);
  uint32_t gx = groups < kMaxGroupsX ? groups : kMaxGroupsX;
  uint32_t gy = (groups + gx - 1) / gx;
  ctx.stream().dispatch(pipeline, params, buffers, gx, gy);
}

bool strided_copy_into(Context& ctx, const Array& in, const Array& dst, const Strides& dst_strides,
                       int64_t dst_offset) {
  auto in_t = dtype_suffix(in.dtype());
  auto out_t = dtype_suffix(dst.dtype());
  if (!in_t || !out_t) return false;
  if (in.size() == 0) return true;
  uint32_t in_off = 0, out_off = 0;
  BufferBinding src = bind(ctx, in, in_off);
  BufferBinding out = bind(ctx, dst, out_off, true);
  auto params = strided_params(in.shape(), {in.strides(), dst_strides},
                               {in_off, out_off + narrow(dst_offset, "offset")});
  dispatch_elements(ctx, "copy_" + *in_t + "_" + *out_t, 0, params, {src, out}, in.size());
  return true;
}

std::vector<uint32_t> lane_params(const Array& in, const Array& out, int axis, uint32_t in_offset) {
  Shape lanes;
  Strides in_strides, out_strides;
  for (int d = 0; d < in.ndim(); ++d) {
    if (d == axis) continue;
    lanes.push_back(in.shape(d));
    in_strides.push_back(in.strides()[d]);
    out_strides.push_back(out.strides()[d]);
  }
  return strided_params(lanes, {in_strides, out_strides}, {in_offset, 0});
}

bool strided_copy(Context& ctx, const Array& in, const Array& dst) {
  return strided_copy_into(ctx, in, dst, dst.strides(), 0);
}

}  // namespace lamina::core::vulkan
