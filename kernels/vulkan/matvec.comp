// Matrix-vector product for one output row (M = 1, the decode step): out[b, n] =
// sum_k a[b, k] * b[b, k, n]. A workgroup computes WG_ROWS outputs n of one batch entry
// (workgroup z); a team of invocations takes ROWS of them: its lanes split k (consecutive
// lanes, consecutive k: coalesced when b's k stride is 1, a Linear's transposed weight),
// read a once for the team's ROWS rows, and the team combines its lanes in float32. With
// SUBGROUPS a team is a subgroup (any size, subgroupAdd), else LANES consecutive
// invocations (a tree in shared memory). Parameters as matmul.comp (M is 1).
// Specialisation constants 1-6: LANES, ROWS, WG_ROWS, VEC (a's and b's k strides are 1
// and every row starts 16-byte aligned, the norm weight's too: k is read 16 bytes at a
// time), ADDEND (addend.glsl: c at binding 4, its offset the parameter after matmul.comp's),
// NORM (norm.glsl: a is normalised as it is loaded, the weight at binding 5, eps and its
// offset the two parameters after c's offset; the shared-memory tree takes the sum of
// squares in one more slot); 7: GATED (gated.glsl: the up weight at binding 6, of b's
// shape and strides, its offset the parameter after the norm's; a team then computes ROWS / 2
// outputs silu(a @ b) * (a @ b_up)).
// Variant defines: T (f32, f16, bf16), SUBGROUPS.
#version 450
#extension GL_GOOGLE_include_directive : require
#if SUBGROUPS
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#include "dtype.glsl"
#define NUM_OPERANDS 3u
#include "strided.glsl"
#include "workgroup.glsl"

// a and b seen as elements and as 16-byte vectors.
layout(std430, binding = 1) readonly buffer A { STORAGE(T) a[]; };
layout(std430, binding = 1) readonly buffer A4 { uvec4 a4[]; };
layout(std430, binding = 2) readonly buffer B { STORAGE(T) b[]; };
layout(std430, binding = 2) readonly buffer B4 { uvec4 b4[]; };
layout(std430, binding = 3) writeonly buffer Out { STORAGE(T) dst[]; };
#define ADDEND_T T
#define ADDEND_BINDING 4
#define ADDEND_ID 5
#define ADDEND_PARAM (STRIDED_END + 7u)
#include "addend.glsl"
#define NORM_T T
#define NORM_BINDING 5
#define NORM_ID 6
#define NORM_PARAM (STRIDED_END + 8u)
#include "norm.glsl"

layout(constant_id = 1) const uint LANES = 32u;  // invocations per team without subgroups
layout(constant_id = 2) const uint ROWS = 4u;    // outputs per team, at most MAX_ROWS
layout(constant_id = 3) const uint WG_ROWS = 16u;
layout(constant_id = 4) const uint VEC = 0u;

const uint MAX_ROWS = 4u;
layout(std430, binding = 6) readonly buffer BUp { STORAGE(T) b_up[]; };
layout(std430, binding = 6) readonly buffer BUp4 { uvec4 b_up4[]; };
#define GATED_ID 7
#include "gated.glsl"
#if !SUBGROUPS
shared float partial[MAX_ROWS + 1u][256];  // WG_SIZE <= 256; slot ROWS: the sum of squares
#endif

// Elements per 16 bytes, unpacked to floats (the first PER_VEC of v).
#define PER_VEC_f32 4u
#define PER_VEC_f16 8u
#define PER_VEC_bf16 8u
const uint PER_VEC = CAT(PER_VEC_, T);

void unpack_f32(uvec4 u, out float v[8]) {
  for (uint c = 0u; c < 4u; ++c) {
    v[c] = uintBitsToFloat(u[c]);
    v[c + 4u] = 0.0;
  }
}
void unpack_f16(uvec4 u, out float v[8]) {
  for (uint c = 0u; c < 4u; ++c) {
    vec2 h = unpackHalf2x16(u[c]);
    v[2u * c] = h.x;
    v[2u * c + 1u] = h.y;
  }
}
void unpack_bf16(uvec4 u, out float v[8]) {
  for (uint c = 0u; c < 4u; ++c) {
    v[2u * c] = uintBitsToFloat(u[c] << 16u);
    v[2u * c + 1u] = uintBitsToFloat(u[c] & 0xffff0000u);
  }
}

// 16-byte chunks loaded before any is used (more memory in flight).
const uint UNROLL = 4u;

// This lane's share of outputs n0 .. n0 + OUTS - 1 (of both weights with GATED; rows past
// N read row N - 1 and are dropped by the caller), and of a's sum of squares with NORM (the
// team's lanes cover k once). Rows are element offsets in b, or in b_up for up rows.
void team_rows(uint n0, uint lane, uint lanes, uint off[NUM_OPERANDS], out float acc[MAX_ROWS], out float sum_sq) {
  uint e = STRIDED_END;
  uint N = P[e + 1u], K = P[e + 2u];
  uint a_sk = P[e + 4u], b_sk = P[e + 5u], b_sn = P[e + 6u];
  for (uint r = 0u; r < MAX_ROWS; ++r) acc[r] = 0.0;
  sum_sq = 0.0;
  uint row[MAX_ROWS];
  // b_up's element 0 is P[STRIDED_END + 10] where b's is P[3] (same strides).
  uint up_first = off[1] - P[3u] + P[STRIDED_END + 10u];
  for (uint r = 0u; r < MAX_ROWS; ++r) row[r] = (up_row(r) ? up_first : off[1]) + min(n0 + r % OUTS, N - 1u) * b_sn;
  uint k_vec = 0u;
  if (VEC != 0u) {
    uint chunks = K / PER_VEC;
    k_vec = chunks * PER_VEC;
    for (uint c0 = lane; c0 < chunks; c0 += lanes * UNROLL) {
      uvec4 av[UNROLL], bv[UNROLL][MAX_ROWS];
      for (uint u = 0u; u < UNROLL; ++u) {
        uint c = min(c0 + u * lanes, chunks - 1u);
        av[u] = a4[off[0] / PER_VEC + c];
        for (uint r = 0u; r < ROWS; ++r) bv[u][r] = up_row(r) ? b_up4[row[r] / PER_VEC + c] : b4[row[r] / PER_VEC + c];
      }
      for (uint u = 0u; u < UNROLL; ++u) {
        if (c0 + u * lanes >= chunks) break;
        float x[8], w[8];
        CAT(unpack_, T)(av[u], x);
        if (NORM != 0u) {
          CAT(unpack_, T)(norm_w4[norm_first() / PER_VEC + c0 + u * lanes], w);
          for (uint j = 0u; j < PER_VEC; ++j) x[j] = norm_step(x[j], w[j], sum_sq);
        }
        for (uint r = 0u; r < ROWS; ++r) {
          CAT(unpack_, T)(bv[u][r], w);
          float dot = 0.0;
          for (uint j = 0u; j < PER_VEC; ++j) dot += x[j] * w[j];
          acc[r] += dot;
        }
      }
    }
  }
  // Element by element: everything without VEC, else the last K % PER_VEC.
  for (uint k = k_vec + lane; k < K; k += lanes) {
    float av = LOAD_F(T, a, off[0] + k * a_sk);
    if (NORM != 0u) av = norm_step(av, LOAD_F(T, norm_w, norm_first() + k), sum_sq);
    for (uint r = 0u; r < ROWS; ++r) {
      acc[r] += av * (up_row(r) ? LOAD_F(T, b_up, row[r] + k * b_sk) : LOAD_F(T, b, row[r] + k * b_sk));
    }
  }
}

void main() {
  uint N = P[STRIDED_END + 1u], K = P[STRIDED_END + 2u];
  uint wg_first = (gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x) * WG_ROWS;
  uint off[NUM_OPERANDS];
  strided_offsets(gl_WorkGroupID.z, off);
  float acc[MAX_ROWS], sum_sq;
#if SUBGROUPS
  // Subgroups take OUTS outputs at a time until the workgroup's WG_ROWS are done.
  for (uint first = gl_SubgroupID * OUTS; first < WG_ROWS; first += gl_NumSubgroups * OUTS) {
    uint n0 = wg_first + first;
    if (n0 >= N) break;
    team_rows(n0, gl_SubgroupInvocationID, gl_SubgroupSize, off, acc, sum_sq);
    float scale = norm_scale(NORM != 0u ? subgroupAdd(sum_sq) : 0.0, K);
    for (uint r = 0u; r < ROWS; ++r) acc[r] = subgroupAdd(acc[r]) * scale;
    for (uint r = 0u; r < OUTS; ++r) {
      uint i = off[2] + n0 + r;
      if (subgroupElect() && n0 + r < N) STORE_F(T, dst, i, plus_addend(team_output(acc, r), i));
    }
  }
#else
  uint tid = gl_LocalInvocationID.x, lane = tid % LANES;
  uint n0 = wg_first + tid / LANES * OUTS;  // WG_ROWS = WG_SIZE / LANES * OUTS
  if (n0 < N) team_rows(n0, lane, LANES, off, acc, sum_sq);
  for (uint r = 0u; r < ROWS; ++r) partial[r][tid] = n0 < N ? acc[r] : 0.0;
  if (NORM != 0u) partial[ROWS][tid] = n0 < N ? sum_sq : 0.0;
  barrier();
  for (uint s = LANES / 2u; s > 0u; s >>= 1) {
    if (lane < s) {
      for (uint r = 0u; r < ROWS + NORM; ++r) partial[r][tid] += partial[r][tid + s];
    }
    barrier();
  }
  if (lane == 0u) {
    float scale = norm_scale(partial[ROWS][tid], K);
    for (uint r = 0u; r < ROWS; ++r) acc[r] = partial[r][tid] * scale;
    for (uint r = 0u; r < OUTS; ++r) {
      uint i = off[2] + n0 + r;
      if (n0 + r < N) STORE_F(T, dst, i, plus_addend(team_output(acc, r), i));
    }
  }
#endif
}
