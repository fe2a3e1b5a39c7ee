// Arange with an integer start and step: element i = start + i * step, computed in 32-bit
// modular arithmetic (the host only sends ranges where every value is exact in T, so it
// equals the CPU's double computation converted to T).
// Parameters: count, start (uint32 bits), step (uint32 bits). Variant defines: T, IS_FLOAT.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

#include "workgroup.glsl"
layout(std430, binding = 0) readonly buffer Params { uint P[]; };
layout(std430, binding = 1) writeonly buffer Out { STORAGE(T) dst[]; };

void main() {
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG_SIZE;
  if (i >= P[0]) return;
  uint v = P[1] + i * P[2];
#if IS_FLOAT
  // |v| <= 2^24: exact as a float, then rounded once to T (f16_round: exact, unlike a
  // float16_t conversion).
  STORE_F(T, dst, i, ROUND_F(T, float(int(v))));
#else
  dst[i] = STORAGE(T)(v);
#endif
}
