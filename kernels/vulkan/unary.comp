// Elementwise unary ops on floating dtypes, computed in float32: out = op(in), strided
// in, row-major (or donated) out. OP (constant_id 1) follows vulkan::UnaryOp.
// Variant define: T (f32, f16 or bf16).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#define NUM_OPERANDS 2u
#include "strided.glsl"

#include "workgroup.glsl"
layout(constant_id = 1) const uint OP = 0u;
layout(std430, binding = 1) readonly buffer In { STORAGE(T) src[]; };
layout(std430, binding = 2) writeonly buffer Out { STORAGE(T) dst[]; };

// erf with |error| < 1.5e-7 (Abramowitz and Stegun 7.1.26).
float erf_approx(float x) {
  float s = sign(x);
  float a = abs(x);
  float t = 1.0 / (1.0 + 0.3275911 * a);
  float y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t +
                   0.254829592) * t * exp(-a * a);
  return s * y;
}

float apply(float x) {
  switch (OP) {
    case 0u: return -x;                                      // negative
    case 1u: return abs(x);                                  // abs
    case 2u: return exp(x);                                  // exp
    case 3u: return log(x);                                  // log
    case 4u: { float u = 1.0 + x; return u == 1.0 ? x : log(u) * x / (u - 1.0); }  // log1p
    case 5u: return sqrt(x);                                 // sqrt
    case 6u: return inversesqrt(x);                          // rsqrt
    case 7u: return x * x;                                   // square
    case 8u: return sin(x);                                  // sin
    case 9u: return cos(x);                                  // cos
    case 10u: return tanh(clamp(x, -15.0, 15.0));            // tanh (clamped: exp overflow)
    case 11u: return 1.0 / (1.0 + exp(-x));                  // sigmoid
    case 12u: return erf_approx(x);                          // erf
    case 13u: return x / (1.0 + exp(-x));                    // silu
    case 14u: return 0.5 * x * (1.0 + erf_approx(x * 0.70710678118654752440));  // gelu
    case 15u: {                                              // gelu (tanh approximation)
      float k = 0.79788456080286535588;
      return 0.5 * x * (1.0 + tanh(clamp(k * (x + 0.044715 * x * x * x), -15.0, 15.0)));
    }
    case 16u: return floor(x);                               // floor
    case 17u: return ceil(x);                                // ceil
    case 18u: return roundEven(x);                           // round (half to even)
    case 19u: return sign(x);                                // sign
  }
  return x;
}

void main() {
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG_SIZE;
  if (i >= P[0]) return;
  uint off[NUM_OPERANDS];
  strided_offsets(i, off);
  STORE_F(T, dst, off[1], apply(LOAD_F(T, src, off[0])));
}
