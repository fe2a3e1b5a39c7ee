// What the primitives' Vulkan kernels share: binding arrays to dispatches, output
// allocation with buffer donation, dtype names of shader variants, and the CPU fallback.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "libcore/array/array.h"
#include "libcore/backend/vulkan/command_stream.h"
#include "libcore/backend/vulkan/context.h"

namespace lamina::core {
class Primitive;
}

namespace lamina::core::vulkan {

// The context of out's device.
Context& context_of(const Array& out);
// Binds a (moved to the GPU first if needed). `element_offset` receives the index of a's
// element 0 within the binding, which starts at an aligned offset at or before it.
BufferBinding bind(Context& ctx, const Array& a, uint32_t& element_offset, bool write = false);
// Binds an output written from element 0 (allocated row-major by the caller).
BufferBinding bind_output(Context& ctx, const Array& out);
// Gives out a fresh row-major GPU buffer.
void allocate_output(Context& ctx, Array& out);
// True when out may take in's GPU buffer: nothing else refers to in's node or buffer, it
// is row-major from byte 0 and has out's byte size.
bool can_donate(const Array& in, const Array& out);
// Gives out in's buffer when can_donate, else a fresh one.
void prepare_output_from(Context& ctx, Array& out, const Array& in);
// Gives out a row-major GPU buffer: a donatable input's (same byte size, row-major, no
// other user) or a fresh one.
void prepare_output(Context& ctx, Array& out, const std::vector<Array>& inputs);
// The suffix of shader variants for dtype ("f32", "f16", "bf16", "i32", "u32", "bool"),
// or nothing when the kernels have no variant for it.
std::optional<std::string> dtype_suffix(Dtype dtype);
// True when kernels with subgroup variants (suffix "_sg") should use them: the device has
// subgroup arithmetic in compute shaders and LAMINA_VULKAN_SUBGROUPS is not "0".
bool use_subgroups(const Context& ctx);
// The team layout of the decode matvec kernels (matvec.comp, quantized_matvec.comp), whose
// workgroups have kMatvecLocal invocations: a team takes `rows` outputs (max_rows, fewer
// while that leaves under min_workgroups workgroups), its `lanes` (a power of two up to 32, at most `steps`,
// the k-steps of a row) take consecutive steps; with subgroups a team is a subgroup, whose
// size the shader reads (the device's is a hint). wg_rows: outputs per workgroup. Gated
// (gated.glsl), `rows` counts a team's products, two per output (so at least 2): the same
// accumulators as an ungated team, for half the outputs.
constexpr uint32_t kMatvecLocal = 128;
struct MatvecTeams {
  uint32_t lanes = 32, rows = 4, wg_rows = 16;
};
MatvecTeams matvec_teams(const Context& ctx, bool subgroups, int64_t steps, int64_t outputs, bool gated = false,
                         uint32_t max_rows = 4, int64_t min_workgroups = 256);
// Zeroed uint32 arrival counters, `n` of them, for a kernel whose workgroups split an
// output and whose last workgroup to arrive (an atomic count) combines their partials and
// sets the count back to zero (so a range is zero again once its dispatch has run): the
// next range of a per-device ring each call, so that dispatches between the same barriers
// do not share one (the hazard tracking would order them).
BufferBinding arrival_counters(Context& ctx, const Array& out, int64_t n);
// Groups of `size` items in workgroups of `local` (throws if over the dispatch limit).
uint32_t group_count(int64_t items, uint32_t local);

// The side of the tensor-core matmuls' output tiles for an M x N product (times `batch`
// matrices): 128 once there are enough such tiles to fill a large GPU, else 64.
inline uint32_t coopmat_tile(int64_t M, int64_t N, int64_t batch = 1) {
  return ((M + 127) / 128) * ((N + 127) / 128) * batch >= 256 ? 128 : 64;
}
// Runs primitive's CPU kernel on host copies of the inputs; out keeps its GPU device and
// gets a host buffer (moved to the GPU by the next GPU consumer). Logged when
// LAMINA_VULKAN_LOG is set (see README-section.md).
void run_on_cpu(Primitive& primitive, const std::vector<Array>& inputs, Array& out);
// Number of primitive runs that fell back to the CPU since start (for tests).
uint64_t fallback_count();
// 32-bit parameter words.
inline uint32_t f32_bits(float v) {
  uint32_t u;
  static_assert(sizeof(u) == sizeof(v));
  __builtin_memcpy(&u, &v, sizeof(u));
  return u;
}

}  // namespace lamina::core::vulkan
