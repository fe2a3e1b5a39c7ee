// Elementwise binary ops: out = op(a, b) with strided (broadcast) a and b. OP
// (constant_id 1) follows vulkan::BinaryOp; comparisons write bool; 15 is swiglu
// (silu(a) rounded to T, times b).
// Variant defines: T (input dtype), OUT_T (T or bool), INT (1: integer arithmetic).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#define NUM_OPERANDS 3u
#include "strided.glsl"

#include "workgroup.glsl"
layout(constant_id = 1) const uint OP = 0u;
layout(std430, binding = 1) readonly buffer A { STORAGE(T) a[]; };
layout(std430, binding = 2) readonly buffer B { STORAGE(T) b[]; };
layout(std430, binding = 3) writeonly buffer Out { STORAGE(OUT_T) dst[]; };

#if INT
#define VAL int
#define LOAD(buf, i) LOAD_I(T, buf, i)
#define STORE(v) STORE_I(OUT_T, dst, off[2], v)
#else
#define VAL float
#define LOAD(buf, i) LOAD_F(T, buf, i)
#define STORE(v) STORE_F(OUT_T, dst, off[2], v)
#endif

VAL apply(VAL x, VAL y) {
  switch (OP) {
    case 0u: return x + y;
    case 1u: return x - y;
    case 2u: return x * y;
#if INT
    case 3u: return y == 0 ? 0 : x / y;
#else
    case 3u: return x / y;
    case 4u: return pow(x, y);
#endif
#if INT
    case 5u: return max(x, y);
    case 6u: return min(x, y);
#else
    case 5u: return isnan(x) || isnan(y) ? x + y : max(x, y);  // NaN propagates
    case 6u: return isnan(x) || isnan(y) ? x + y : min(x, y);
#endif
    case 7u: return VAL(x == y);
    case 8u: return VAL(x != y);
    case 9u: return VAL(x < y);
    case 10u: return VAL(x <= y);
    case 11u: return VAL(x > y);
    case 12u: return VAL(x >= y);
    case 13u: return VAL(x != VAL(0) && y != VAL(0));
    case 14u: return VAL(x != VAL(0) || y != VAL(0));
#if !INT
    case 15u: return ROUND_F(T, x / (1.0 + exp(-x))) * y;  // swiglu: silu rounded, times y
#endif
  }
  return x;
}

void main() {
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG_SIZE;
  if (i >= P[0]) return;
  uint off[NUM_OPERANDS];
  strided_offsets(i, off);
  STORE(apply(LOAD(a, off[0]), LOAD(b, off[1])));
}
