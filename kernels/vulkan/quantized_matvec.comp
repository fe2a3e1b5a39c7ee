// Quantized matrix-vector product for a few input rows (the decode step):
// out[m, n] = sum_k x[m, k] * W[n, k], W affine-quantized (quantized.glsl). A workgroup
// computes WG_ROWS outputs n of one input row m (workgroup z); a team of invocations takes
// ROWS of them: its lanes take consecutive 32-code packs of k (consecutive invocations
// read consecutive memory), load x once per pack and use it for the team's ROWS rows,
// apply each pack's scale to sum(x * code) and its bias to sum(x), and the team combines
// its lanes in float32. With SUBGROUPS a team is a subgroup (any size, subgroupAdd), else
// LANES consecutive invocations (a tree in shared memory).
// x rows are addressed by strided.glsl over x's leading shape (operand x); extra
// parameters at STRIDED_END: N, K, x_stride_k, weight word offset (the packed weight is
// row-major), scales offset, biases offset, scales row and group strides, biases row and
// group strides. out is row-major [M, N].
// Specialisation constants 3-7: LANES, ROWS, WG_ROWS, X_VEC (x's k stride is 1 and every
// pack of x starts 16-byte aligned: 16-byte loads), W_VEC (every row of the weight starts
// 16-byte aligned: packs of 2, 4 or 6 words are read 8 or 16 bytes at a time); 8: ADDEND
// (addend.glsl: c of dtype OUT_T at binding 6, its offset the parameter after the biases'
// group stride); 9: NORM (norm.glsl: x is normalised as it is loaded, the weight of dtype
// X_T at binding 7 and read as x is, eps and its offset the two parameters after c's
// offset; the shared-memory tree takes the sum of squares in one more slot); 10: GATED
// (gated.glsl: the up weight's words, scales and biases at bindings 8-10, of the gate's
// shapes and strides, their offsets the three parameters after the norm's; a team then
// computes ROWS / 2 outputs silu(x @ W^T) * (x @ W_up^T)); 11: STORE (output n of the one
// row at P[e + 16] + (n / inner) * outer_stride + (n % inner) * inner_stride, inner, inner
// and outer strides the three parameters after it: a region of another array, a KV cache;
// see SliceUpdate's folded product); 12: ROPE (rope_pair.glsl, with STORE: each team
// computes the 2 outputs of one rotated pair of a head of `dims` outputs, rounds them to
// OUT_T as the product would store them, rotates them at row 0 and stores them; its
// parameters from P[e + 20], its freqs at binding 11).
// The fixed-length loops carry [[unroll]]: unrolled, the codes' word and shift indices are
// constants and a lane's packs stay in registers.
// Variant defines: X_T, S_T (scales and biases), OUT_T, SUBGROUPS.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#if SUBGROUPS
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#include "dtype.glsl"
#define NUM_OPERANDS 1u
#include "strided.glsl"
#include "workgroup.glsl"
#include "quantized.glsl"

// The same buffers seen as scalars and as 16- or 8-byte vectors.
layout(std430, binding = 1) readonly buffer X { STORAGE(X_T) x[]; };
layout(std430, binding = 1) readonly buffer X4 { uvec4 x4[]; };
layout(std430, binding = 2) readonly buffer W { uint wq[]; };
layout(std430, binding = 2) readonly buffer W2 { uvec2 wq2[]; };
layout(std430, binding = 2) readonly buffer W4 { uvec4 wq4[]; };
layout(std430, binding = 3) readonly buffer S { STORAGE(S_T) scales[]; };
layout(std430, binding = 4) readonly buffer B { STORAGE(S_T) biases[]; };
layout(std430, binding = 5) writeonly buffer Out { STORAGE(OUT_T) dst[]; };
#define ADDEND_T OUT_T
#define ADDEND_BINDING 6
#define ADDEND_ID 8
#define ADDEND_PARAM (STRIDED_END + 10u)
#include "addend.glsl"
#define NORM_T X_T
#define NORM_BINDING 7
#define NORM_ID 9
#define NORM_PARAM (STRIDED_END + 11u)
#include "norm.glsl"

layout(constant_id = 3) const uint LANES = 32u;  // invocations per team without subgroups
layout(constant_id = 4) const uint ROWS = 4u;    // outputs per team, at most MAX_ROWS
layout(constant_id = 5) const uint WG_ROWS = 16u;
layout(constant_id = 6) const uint X_VEC = 0u;
layout(constant_id = 7) const uint W_VEC = 0u;

const uint MAX_ROWS = 4u;
layout(std430, binding = 8) readonly buffer WUp { uint wq_up[]; };
layout(std430, binding = 8) readonly buffer WUp2 { uvec2 wq_up2[]; };
layout(std430, binding = 8) readonly buffer WUp4 { uvec4 wq_up4[]; };
layout(std430, binding = 9) readonly buffer SUp { STORAGE(S_T) scales_up[]; };
layout(std430, binding = 10) readonly buffer BUp { STORAGE(S_T) biases_up[]; };
#define GATED_ID 10
#include "gated.glsl"
layout(constant_id = 11) const uint STORE = 0u;
#define ROPE_ID 12
#define ROPE_BINDING 11
#define ROPE_PARAM (STRIDED_END + 20u)
#include "rope_pair.glsl"
#if !SUBGROUPS
shared float partial[MAX_ROWS + 1u][256];  // WG_SIZE <= 256; slot ROWS: the sum of squares
#endif

// x elements per 16 bytes, and 16 bytes of x unpacked to floats at xv[at ..].
#define X_PER_VEC_f32 4u
#define X_PER_VEC_f16 8u
#define X_PER_VEC_bf16 8u
const uint X_PER_VEC = CAT(X_PER_VEC_, X_T);

void unpack_f32(uvec4 u, inout float xv[32], uint at) {
  [[unroll]] for (uint c = 0u; c < 4u; ++c) xv[at + c] = uintBitsToFloat(u[c]);
}
void unpack_f16(uvec4 u, inout float xv[32], uint at) {
  [[unroll]] for (uint c = 0u; c < 4u; ++c) {
    vec2 h = unpackHalf2x16(u[c]);
    xv[at + 2u * c] = h.x;
    xv[at + 2u * c + 1u] = h.y;
  }
}
void unpack_bf16(uvec4 u, inout float xv[32], uint at) {
  [[unroll]] for (uint c = 0u; c < 4u; ++c) {
    xv[at + 2u * c] = uintBitsToFloat(u[c] << 16u);
    xv[at + 2u * c + 1u] = uintBitsToFloat(u[c] & 0xffff0000u);
  }
}

// The 32 x values of the pack starting at element `first` (stride xs).
void load_x(uint first, uint xs, out float xv[32]) {
  if (X_VEC != 0u) {
    [[unroll]] for (uint i = 0u; i < 32u / X_PER_VEC; ++i) CAT(unpack_, X_T)(x4[first / X_PER_VEC + i], xv, i * X_PER_VEC);
  } else {
    [[unroll]] for (uint j = 0u; j < 32u; ++j) xv[j] = LOAD_F(X_T, x, first + j * xs);
  }
}

// xv (the pack of x from element k of the row) times the norm's weights, its squares
// added to sum_sq.
void normalise_pack(uint k, inout float xv[32], inout float sum_sq) {
  float wv[32];
  uint first = norm_first() + k;
  if (X_VEC != 0u) {
    [[unroll]] for (uint i = 0u; i < 32u / X_PER_VEC; ++i) CAT(unpack_, X_T)(norm_w4[first / X_PER_VEC + i], wv, i * X_PER_VEC);
  } else {
    [[unroll]] for (uint j = 0u; j < 32u; ++j) wv[j] = LOAD_F(X_T, norm_w, first + j);
  }
  [[unroll]] for (uint j = 0u; j < 32u; ++j) xv[j] = norm_step(xv[j], wv[j], sum_sq);
}

// The BITS words of the pack starting at word `first` (of the up weight when up).
void load_pack(bool up, uint first, out uint words[8]) {
  if (W_VEC != 0u && BITS % 4u == 0u) {
    [[unroll]] for (uint i = 0u; i < BITS / 4u; ++i) {
      uvec4 v = up ? wq_up4[first / 4u + i] : wq4[first / 4u + i];
      [[unroll]] for (uint c = 0u; c < 4u; ++c) words[4u * i + c] = v[c];
    }
  } else if (W_VEC != 0u && BITS % 2u == 0u) {
    [[unroll]] for (uint i = 0u; i < BITS / 2u; ++i) {
      uvec2 v = up ? wq_up2[first / 2u + i] : wq2[first / 2u + i];
      words[2u * i] = v.x;
      words[2u * i + 1u] = v.y;
    }
  } else {
    [[unroll]] for (uint i = 0u; i < BITS; ++i) words[i] = up ? wq_up[first + i] : wq[first + i];
  }
}

// A code (< 2^23) as a float without an int-to-float conversion: the integer's bits
// under the exponent of 2^23, minus 2^23 (exact).
float code_float(uint code) { return uintBitsToFloat(code | 0x4b000000u) - 8388608.0; }

// Output r of the team whose first is n0: n0 + r, or with ROPE the pair of team n0 / 2 (a
// head's outputs (j, j + dims / 2), or (2j, 2j + 1) traditional).
uint out_row(uint n0, uint r) {
  if (ROPE == 0u) return n0 + r;
  uint t = n0 / 2u, half_dims = rope_dims() / 2u;
  bool traditional = rope_traditional();
  uint a = traditional ? 2u * t : t / half_dims * rope_dims() + t % half_dims;
  return r == 0u ? a : a + (traditional ? 1u : half_dims);
}

// The team's outputs from its reduced and scaled accumulators, stored (by one invocation).
void store_outputs(uint m, uint n0, float acc[MAX_ROWS]) {
  uint e = STRIDED_END, N = P[e];
  float v[MAX_ROWS];
  // (Outputs past N read the addend of row N - 1 and are dropped below.)
  [[unroll]] for (uint r = 0u; r < OUTS; ++r) v[r] = plus_addend(team_output(acc, r), m * N + min(out_row(n0, r), N - 1u));
  if (ROPE != 0u) {
    vec2 rotated = rope_pair(ROUND_F(OUT_T, v[0]), ROUND_F(OUT_T, v[1]), n0 / 2u % (rope_dims() / 2u), 0u);
    v[0] = rotated.x;
    v[1] = rotated.y;
  }
  for (uint r = 0u; r < OUTS; ++r) {
    uint n = out_row(n0, r);
    if (n0 + r >= N) break;
    uint inner = P[e + 17u];
    uint i = STORE == 0u ? m * N + n : P[e + 16u] + n / inner * P[e + 19u] + n % inner * P[e + 18u];
    STORE_F(OUT_T, dst, i, v[r]);
  }
}

// This lane's share of outputs n0 .. n0 + OUTS - 1 (of both weights with GATED; rows past
// N read row N - 1 and are dropped by the caller): packs lane, lane + lanes, ... of k,
// UNROLL of them loaded before any is used (more memory in flight); with NORM also the
// lane's share of x's sum of squares (the team's lanes cover every pack once).
const uint UNROLL = 2u;
void team_rows(uint n0, uint lane, uint lanes, uint x_first, out float acc[MAX_ROWS], out float sum_sq) {
  uint e = STRIDED_END;
  uint N = P[e], K = P[e + 1u], xs = P[e + 2u];
  uint w_off = P[e + 3u], s_off = P[e + 4u], b_off = P[e + 5u];
  uint w_up = P[e + 13u], s_up = P[e + 14u], b_up = P[e + 15u];  // the up weight's offsets
  uint s_row = P[e + 6u], s_group = P[e + 7u], b_row = P[e + 8u], b_group = P[e + 9u];
  uint packs = K / 32u, row_words = packs * BITS;
  [[unroll]] for (uint r = 0u; r < MAX_ROWS; ++r) acc[r] = 0.0;
  sum_sq = 0.0;
  for (uint p0 = lane; p0 < packs; p0 += lanes * UNROLL) {
    float xv[UNROLL][32];
    uint words[UNROLL][MAX_ROWS][8];
    float scale[UNROLL][MAX_ROWS], bias[UNROLL][MAX_ROWS];
    [[unroll]] for (uint u = 0u; u < UNROLL; ++u) {
      uint p = min(p0 + u * lanes, packs - 1u), g = p * 32u / GROUP_SIZE;
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
        uint n = min(out_row(n0, r % OUTS), N - 1u), si = n * s_row + g * s_group, bi = n * b_row + g * b_group;
        bool up = up_row(r);
        load_pack(up, (up ? w_up : w_off) + n * row_words + p * BITS, words[u][r]);
        scale[u][r] = up ? LOAD_F(S_T, scales_up, s_up + si) : LOAD_F(S_T, scales, s_off + si);
        bias[u][r] = up ? LOAD_F(S_T, biases_up, b_up + bi) : LOAD_F(S_T, biases, b_off + bi);
      }
      load_x(x_first + p * 32u * xs, xs, xv[u]);
    }
    [[unroll]] for (uint u = 0u; u < UNROLL; ++u) {
      if (p0 + u * lanes >= packs) break;
      if (NORM != 0u) normalise_pack((p0 + u * lanes) * 32u, xv[u], sum_sq);
      float xsum = 0.0;
      [[unroll]] for (uint j = 0u; j < 32u; ++j) xsum += xv[u][j];
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
        float dot = 0.0;
        [[unroll]] for (uint j = 0u; j < 32u; ++j) dot += xv[u][j] * code_float(pack_code(words[u][r], j));
        acc[r] += scale[u][r] * dot + bias[u][r] * xsum;
      }
    }
  }
}

void main() {
  uint N = P[STRIDED_END], K = P[STRIDED_END + 1u];
  uint m = gl_WorkGroupID.z;
  uint wg_first = (gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x) * WG_ROWS;
  uint row_off[NUM_OPERANDS];
  strided_offsets(m, row_off);
  float acc[MAX_ROWS], sum_sq;
#if SUBGROUPS
  // Subgroups take OUTS outputs at a time until the workgroup's WG_ROWS are done.
  for (uint first = gl_SubgroupID * OUTS; first < WG_ROWS; first += gl_NumSubgroups * OUTS) {
    uint n0 = wg_first + first;
    if (n0 >= N) break;
    team_rows(n0, gl_SubgroupInvocationID, gl_SubgroupSize, row_off[0], acc, sum_sq);
    float scale = norm_scale(NORM != 0u ? subgroupAdd(sum_sq) : 0.0, K);
    for (uint r = 0u; r < ROWS; ++r) acc[r] = subgroupAdd(acc[r]) * scale;
    if (subgroupElect()) store_outputs(m, n0, acc);
  }
#else
  uint tid = gl_LocalInvocationID.x, lane = tid % LANES;
  uint n0 = wg_first + tid / LANES * OUTS;  // WG_ROWS = WG_SIZE / LANES * OUTS
  if (n0 < N) team_rows(n0, lane, LANES, row_off[0], acc, sum_sq);
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
    store_outputs(m, n0, acc);
  }
#endif
}
