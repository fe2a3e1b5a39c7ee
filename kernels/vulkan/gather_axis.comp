// GatherAlongAxis (take_along_axis): out[o, j, i] = a[o, indices[o, j, i], i]. strided.glsl
// addresses the output shape with two operands: the indices, and a with its axis stride
// zeroed (the index supplies that coordinate). Negative indices wrap; out-of-range ones
// read the nearest row, never past a (the CPU throws; see gather.comp).
// Parameters: the strided block, then a's axis size and axis stride.
// Variant defines: B (element bytes: 1, 2, 4, 8; only bits move), I_T (i32 or u32).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#define NUM_OPERANDS 2u
#include "strided.glsl"

#include "workgroup.glsl"
#if B == 1
#define ELEM uint8_t
#elif B == 2
#define ELEM uint16_t
#elif B == 4
#define ELEM uint
#else
#define ELEM uvec2
#endif

layout(std430, binding = 1) readonly buffer A { ELEM a[]; };
layout(std430, binding = 2) readonly buffer I { STORAGE(I_T) indices[]; };
layout(std430, binding = 3) writeonly buffer Out { ELEM dst[]; };

void main() {
  uint id = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG_SIZE;
  if (id >= P[0]) return;
  uint off[NUM_OPERANDS];
  strided_offsets(id, off);
  uint n = P[STRIDED_END], axis_stride = P[STRIDED_END + 1u];
  int index = LOAD_I(I_T, indices, off[0]);
  if (index < 0) index += int(n);
  index = clamp(index, 0, int(n) - 1);
  dst[id] = a[off[1] + uint(index) * axis_stride];
}
