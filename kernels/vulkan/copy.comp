// Strided copy with dtype conversion: out[strided] = convert(in[strided]). Used by
// AsType, Copy, non-view Reshape, Concatenate and SliceUpdate (writing into a region).
// Variant defines: IN_T, OUT_T (dtype suffixes), IN_INT (1 when IN_T is an integer or
// bool type: converted through int, as the CPU converts ints).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#define NUM_OPERANDS 2u
#include "strided.glsl"

#include "workgroup.glsl"
layout(std430, binding = 1) readonly buffer In { STORAGE(IN_T) src[]; };
layout(std430, binding = 2) writeonly buffer Out { STORAGE(OUT_T) dst[]; };

void main() {
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG_SIZE;
  if (i >= P[0]) return;
  uint off[NUM_OPERANDS];
  strided_offsets(i, off);
#if IN_INT
  STORE_I(OUT_T, dst, off[1], LOAD_I(IN_T, src, off[0]));
#else
  STORE_F(OUT_T, dst, off[1], LOAD_F(IN_T, src, off[0]));
#endif
}
