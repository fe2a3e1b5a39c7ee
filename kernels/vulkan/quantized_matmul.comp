// Tiled quantized matmul for many input rows (prefill): out[m, n] = sum_k x[m, k] * W[n, k],
// W [N, K] affine-quantized along k (quantized.glsl); with TRANSPOSED = 0 (the vjp's
// product) out[m, n] = sum_k x[m, k] * W[k, n], W [K, N] quantized along n. 64x64 output
// tiles, k in slices of 32: each slice of x and of W (dequantized to float32:
// scale * code + bias) goes to shared memory, and each of the 256 invocations accumulates
// a 4x4 block in float32. Parameters as quantized_matvec.comp (the scales' row stride
// runs along W's rows either way).
// Specialisation constants 3: TRANSPOSED; 4: ADDEND (addend.glsl: c of dtype OUT_T at
// binding 6, added in the store loop). Variant defines: X_T, S_T, OUT_T.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#define NUM_OPERANDS 1u
#include "strided.glsl"
#include "quantized.glsl"

layout(local_size_x = 256) in;
layout(std430, binding = 1) readonly buffer X { STORAGE(X_T) x[]; };
layout(std430, binding = 2) readonly buffer W { uint wq[]; };
layout(std430, binding = 3) readonly buffer S { STORAGE(S_T) scales[]; };
layout(std430, binding = 4) readonly buffer B { STORAGE(S_T) biases[]; };
layout(std430, binding = 5) writeonly buffer Out { STORAGE(OUT_T) dst[]; };
#define ADDEND_T OUT_T
#define ADDEND_BINDING 6
#define ADDEND_ID 4
#define ADDEND_PARAM (STRIDED_END + 10u)
#include "addend.glsl"

layout(constant_id = 3) const uint TRANSPOSED = 1u;

const uint BM = 64u, BN = 64u, BK = 32u;
shared float tile_x[BK][BM + 1u];
shared float tile_w[BK][BN + 1u];
shared uint x_row[BM];  // element offset of each tile row of x

void main() {
  uint e = STRIDED_END;
  uint M = P[0], N = P[e], K = P[e + 1u], xs = P[e + 2u];
  uint w_off = P[e + 3u], s_off = P[e + 4u], b_off = P[e + 5u];
  uint s_row = P[e + 6u], s_group = P[e + 7u], b_row = P[e + 8u], b_group = P[e + 9u];
  uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  uint tid = gl_LocalInvocationID.x;
  uint row_words = (TRANSPOSED != 0u ? K : N) / 32u * BITS;
  if (tid < BM && m0 + tid < M) {
    uint off[NUM_OPERANDS];
    strided_offsets(m0 + tid, off);
    x_row[tid] = off[0];
  }
  // Each invocation dequantizes 8 consecutive codes of one W row per slice: transposed,
  // codes part * 8... of the slice's pack in row n0 + wn (tile column wn); else codes
  // (n0 + part * 8) % 32... in row k0 + wk (tile row wk).
  uint wn = tid / 4u, part = tid % 4u;
  uint wk = tid / 8u, col = (tid % 8u) * 8u;
  uint tm = (tid / 16u) * 4u, tn = (tid % 16u) * 4u;
  float acc[4][4];
  for (uint i = 0u; i < 4u; ++i)
    for (uint j = 0u; j < 4u; ++j) acc[i][j] = 0.0;
  barrier();

  for (uint k0 = 0u; k0 < K; k0 += BK) {
    for (uint r = 0u; r < 8u; ++r) {
      uint idx = tid + r * 256u;
      uint kk = idx / BM, mm = idx % BM;  // consecutive invocations walk m
      // (K is a multiple of 32 when transposed; W's row count, any, when not.)
      tile_x[kk][mm] = m0 + mm < M && k0 + kk < K ? LOAD_F(X_T, x, x_row[mm] + (k0 + kk) * xs) : 0.0;
    }
    // This invocation's W row, first column (a multiple of 8) and its place in the tile.
    uint row = TRANSPOSED != 0u ? n0 + wn : k0 + wk;
    uint column = TRANSPOSED != 0u ? k0 + part * 8u : n0 + col;
    bool inside = TRANSPOSED != 0u ? row < N : row < K && column < N;
    float scale = 0.0, bias = 0.0;
    uint words[8];
    if (inside) {
      uint base = w_off + row * row_words + column / 32u * BITS;
      for (uint i = 0u; i < BITS; ++i) words[i] = wq[base + i];
      uint g = column / GROUP_SIZE;
      scale = LOAD_F(S_T, scales, s_off + row * s_row + g * s_group);
      bias = LOAD_F(S_T, biases, b_off + row * b_row + g * b_group);
    }
    for (uint j = 0u; j < 8u; ++j) {
      float v = inside ? scale * float(pack_code(words, column % 32u + j)) + bias : 0.0;
      if (TRANSPOSED != 0u) {
        tile_w[part * 8u + j][wn] = v;
      } else {
        tile_w[wk][col + j] = v;
      }
    }
    barrier();
    for (uint kk = 0u; kk < BK; ++kk) {
      float av[4], bv[4];
      for (uint i = 0u; i < 4u; ++i) av[i] = tile_x[kk][tm + i];
      for (uint j = 0u; j < 4u; ++j) bv[j] = tile_w[kk][tn + j];
      for (uint i = 0u; i < 4u; ++i)
        for (uint j = 0u; j < 4u; ++j) acc[i][j] += av[i] * bv[j];
    }
    barrier();
  }
  for (uint i = 0u; i < 4u; ++i) {
    uint gm = m0 + tm + i;
    if (gm >= M) continue;
    for (uint j = 0u; j < 4u; ++j) {
      uint gn = n0 + tn + j;
      if (gn < N) STORE_F(OUT_T, dst, gm * N + gn, plus_addend(acc[i][j], gm * N + gn));
    }
  }
}
