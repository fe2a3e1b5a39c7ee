// Affine dequantization (AffineDequantize; mlx-lm's QuantizedEmbedding reads gathered rows
// through it): out[r, k] = scale * code + bias as MLX computes it, the product rounded to
// the scales' dtype T and the sum rounded again (no fused multiply-add), so results are
// bit-exact. One invocation per 32-code pack. Operands are row-major.
// Parameters: pack count, K, weight word offset, scales offset, biases offset.
// Variant define: T (scales, biases and out).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#include "workgroup.glsl"
#include "quantized.glsl"

layout(std430, binding = 0) readonly buffer Params { uint P[]; };
layout(std430, binding = 1) readonly buffer W { uint wq[]; };
layout(std430, binding = 2) readonly buffer S { STORAGE(T) scales[]; };
layout(std430, binding = 3) readonly buffer B { STORAGE(T) biases[]; };
layout(std430, binding = 4) writeonly buffer Out { STORAGE(T) dst[]; };

void main() {
  uint id = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG_SIZE;
  if (id >= P[0]) return;
  uint K = P[1], packs = K / 32u;
  uint row = id / packs, p = id % packs;
  uint words[8];
  for (uint i = 0u; i < BITS; ++i) words[i] = wq[P[2] + (row * packs + p) * BITS + i];
  uint g = row * (K / GROUP_SIZE) + p * 32u / GROUP_SIZE;
  float scale = LOAD_F(T, scales, P[3] + g), bias = LOAD_F(T, biases, P[4] + g);
  for (uint j = 0u; j < 32u; ++j) {
    precise float product = ROUND_F(T, scale * float(pack_code(words, j)));
    precise float value = ROUND_F(T, product + bias);
    STORE_F(T, dst, row * K + p * 32u + j, value);
  }
}
