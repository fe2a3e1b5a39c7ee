// Vulkan evaluation of Sort, ArgSort and ArgPartition (kernels/vulkan/sort.comp): a bitonic
// sort of (key, position) pairs per row, rows padded to a power of two. Rows up to one
// tile (2048) take a single dispatch; longer ones (a vocabulary: 152k pads to 2^18) add
// log2(width / 2048) merge rounds of global steps plus one in-tile finish each. The
// positions make the order total, so the result is exactly the CPU's stable argsort.
// ArgPartition returns that full argsort: a valid partition whose kth entry is the CPU's.
#include <algorithm>
#include <string>

#include "libcore/backend/vulkan/kernel_registry.h"
#include "libcore/backend/vulkan/kernel_util.h"
#include "libcore/backend/vulkan/scratch.h"
#include "libcore/backend/vulkan/strided.h"
#include "libcore/ops/sort_primitives.h"

namespace lamina::core {

namespace {

constexpr uint32_t kLocal = 256;
constexpr int64_t kTile = 2048;  // sort.comp's TILE
// Lanes * padded width (pairs of 8 bytes) at most this: 256 MiB of scratch.
constexpr int64_t kMaxSlots = int64_t{1} << 25;

enum Mode : uint32_t { kSortTiles = 0, kGlobalStep = 1, kFinishInTiles = 2 };

int64_t padded_width(int64_t n) {
  int64_t w = 1;
  while (w < n) w <<= 1;
  return w;
}

void dispatch(vulkan::Context& ctx, const std::string& variant, Mode mode, const std::vector<uint32_t>& params,
              const std::vector<vulkan::BufferBinding>& buffers, int64_t groups) {
  const auto& pipeline = ctx.pipelines().get(variant, 4, {kLocal, mode});
  uint32_t total = vulkan::group_count(groups, 1);
  uint32_t gx = std::min<uint32_t>(total, 65535), gy = (total + gx - 1) / gx;
  ctx.stream().dispatch(pipeline, params, buffers, gx, gy);
}

// Records the sort of `in` along axis into out (row-major): the values, or with `arg`
// the uint32 positions. False (nothing recorded) when the kernel does not cover it.
bool sort_rows(const Array& in, int axis, bool arg, Array& out) {
  auto t = vulkan::dtype_suffix(in.dtype());
  const int64_t n = in.shape(axis);
  const int64_t width = padded_width(n);
  const int64_t lanes = n == 0 ? 0 : in.size() / n;
  if (!t || in.ndim() > 9 || lanes * width > kMaxSlots) return false;
  auto& ctx = vulkan::context_of(out);
  vulkan::allocate_output(ctx, out);
  if (out.size() == 0) return true;
  uint32_t in_off = 0;
  auto src = vulkan::bind(ctx, in, in_off);
  auto dst = vulkan::bind_output(ctx, out);
  const std::vector<uint32_t> lane_params = vulkan::lane_params(in, out, axis, in_off);
  auto params = [&](int64_t k, int64_t j, bool load, bool store) {
    std::vector<uint32_t> p = lane_params;
    for (int64_t v : {n, width, in.strides()[axis], out.strides()[axis], k, j, int64_t{load}, int64_t{store}}) {
      p.push_back(static_cast<uint32_t>(v));
    }
    return p;
  };
  const std::string variant = std::string(arg ? "sort_arg_" : "sort_") + *t;
  const int64_t tiles = (lanes * width + kTile - 1) / kTile;
  if (width <= kTile) {
    // One tile holds whole rows: no scratch (the output binding stands in for it).
    dispatch(ctx, variant, kSortTiles, params(0, 0, true, true), {src, dst, dst}, tiles);
    return true;
  }
  Array scratch = vulkan::scratch_array(ctx, out, {lanes * width * 2}, Dtype::uint32);
  auto pairs = vulkan::bind_output(ctx, scratch);
  dispatch(ctx, variant, kSortTiles, params(0, 0, true, false), {src, pairs, dst}, tiles);
  for (int64_t k = 2 * kTile; k <= width; k <<= 1) {
    for (int64_t j = k / 2; j >= kTile; j >>= 1) {
      dispatch(ctx, variant, kGlobalStep, params(k, j, false, false), {src, pairs, dst},
               (lanes * width / 2 + kLocal - 1) / kLocal);
    }
    dispatch(ctx, variant, kFinishInTiles, params(k, 0, false, k == width), {src, pairs, dst}, tiles);
  }
  return true;
}

}  // namespace

LAMINA_VULKAN_KERNEL(Sort) {
  if (!sort_rows(inputs[0], p.axis(), false, out)) vulkan::run_on_cpu(p, inputs, out);
}

LAMINA_VULKAN_KERNEL(ArgSort) {
  if (!sort_rows(inputs[0], p.axis(), true, out)) vulkan::run_on_cpu(p, inputs, out);
}

LAMINA_VULKAN_KERNEL(ArgPartition) {
  if (!sort_rows(inputs[0], p.axis(), true, out)) vulkan::run_on_cpu(p, inputs, out);
}

}  // namespace lamina::core
