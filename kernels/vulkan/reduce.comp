// Reductions: Reduce (sum, prod, max, min) and, with ARG, ArgReduce (argmax, argmin; ties
// go to the first index and the first NaN wins, as on the CPU). The input is viewed as
// [outer, reduced]: strided.glsl addresses the outer shape (one operand, the input), the
// reduced elements are the one-operand block at STRIDED_END (see block_offset). The output
// is row-major over the outer shape. Accumulation as on the CPU: float32 for float dtypes,
// int / uint for integer and bool ones.
// Specialisation constants: 0 workgroup size, 1 OP (sum, prod, max, min; with ARG argmax,
// argmin), 2 PER_INVOCATION (1: each invocation reduces one output alone, for many short
// reductions; 0: workgroups per output), 3 SPLITS (workgroups per output: with more than
// one, each folds every SPLITS-th run of WG_SIZE elements, writes its partial (value bits
// and index) to `partials` and counts itself in at `counters`; the last to arrive
// combines the partials, stores the output and sets the count back to zero).
// Variant defines: IN_T, OUT_T (unused with ARG: the output is uint32), ACC_KIND (0 float,
// 1 int, 2 uint), ARG, SUBGROUPS (combine with subgroup arithmetic before shared memory).
#version 450
#extension GL_GOOGLE_include_directive : require
#if SUBGROUPS
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_vote : require
#endif
#include "dtype.glsl"
#define NUM_OPERANDS 1u
#include "strided.glsl"

#include "workgroup.glsl"
layout(constant_id = 1) const uint OP = 0u;
layout(constant_id = 2) const uint PER_INVOCATION = 0u;
layout(constant_id = 3) const uint SPLITS = 1u;  // at most WG_SIZE

layout(std430, binding = 1) readonly buffer In { STORAGE(IN_T) src[]; };
#if ARG
layout(std430, binding = 2) writeonly buffer Out { uint dst[]; };
#else
layout(std430, binding = 2) writeonly buffer Out { STORAGE(OUT_T) dst[]; };
#endif

layout(std430, binding = 3) coherent buffer Partials { uint partials[]; };  // [output][split][2]
layout(std430, binding = 4) coherent buffer Counters { uint counters[]; };  // [output]

#if ACC_KIND == 0
#define ACC float
#define ACC_BITS(v) floatBitsToUint(v)
#define FROM_BITS(u) uintBitsToFloat(u)
#define LOAD(i) LOAD_F(IN_T, src, i)
#define IS_NAN(v) isnan(v)
#define NAN_VALUE uintBitsToFloat(0x7fc00000u)
#define LOWEST (-1.0 / 0.0)
#define HIGHEST (1.0 / 0.0)
#elif ACC_KIND == 1
#define ACC int
#define ACC_BITS(v) uint(v)
#define FROM_BITS(u) int(u)
#define LOAD(i) LOAD_I(IN_T, src, i)
#define IS_NAN(v) false
#define NAN_VALUE 0
#define LOWEST int(0x80000000u)
#define HIGHEST 0x7fffffff
#else
#define ACC uint
#define ACC_BITS(v) (v)
#define FROM_BITS(u) (u)
#define LOAD(i) uint(src[i])
#define IS_NAN(v) false
#define NAN_VALUE 0u
#define LOWEST 0u
#define HIGHEST 0xffffffffu
#endif

const uint NO_INDEX = 0xffffffffu;

#if ARG
const bool IS_MAX = OP == 0u;
ACC identity() { return IS_MAX ? ACC(LOWEST) : ACC(HIGHEST); }
// True when candidate (vb, ib) beats (va, ia): NaN first, then the extreme value, then
// the lower index.
bool better(ACC va, uint ia, ACC vb, uint ib) {
  if (IS_NAN(va) || IS_NAN(vb)) return IS_NAN(vb) && (!IS_NAN(va) || ib < ia);
  if (vb == va) return ib < ia;
  return IS_MAX ? vb > va : vb < va;
}
#else
ACC identity() { return OP == 0u ? ACC(0) : OP == 1u ? ACC(1) : OP == 2u ? ACC(LOWEST) : ACC(HIGHEST); }
ACC combine(ACC a, ACC b) {
  if (OP == 0u) return a + b;
  if (OP == 1u) return a * b;
  if (OP == 2u) return (b > a || IS_NAN(b)) ? b : a;
  return (b < a || IS_NAN(b)) ? b : a;
}
#endif

// Folds the reduced elements first, first + step, ... of the output whose input starts at
// `base` into (acc, index).
void accumulate(uint base, uint first, uint step, inout ACC acc, inout uint index) {
  uint e = STRIDED_END;
  uint n = P[e];
  for (uint j = first; j < n; j += step) {
    ACC v = LOAD(base + block_offset(e, j));
#if ARG
    if (better(acc, index, v, j)) {
      acc = v;
      index = j;
    }
#else
    acc = combine(acc, v);
#endif
  }
}

shared ACC scratch[1024];
shared bool last;  // this workgroup is the last of its output's SPLITS
#if ARG
shared uint scratch_index[1024];
#endif

#if SUBGROUPS
// Combines (v, index) over the subgroup; every invocation gets the result.
void subgroup_combine(inout ACC v, inout uint index) {
  bool any_nan = subgroupAny(IS_NAN(v));
#if ARG
  ACC best = IS_MAX ? subgroupMax(v) : subgroupMin(v);
  bool candidate = any_nan ? IS_NAN(v) : v == best;
  index = subgroupMin(candidate ? index : NO_INDEX);
  v = any_nan ? NAN_VALUE : best;
#else
  if (OP == 0u) {
    v = subgroupAdd(v);
  } else if (OP == 1u) {
    v = subgroupMul(v);
  } else {
    v = any_nan ? NAN_VALUE : OP == 2u ? subgroupMax(v) : subgroupMin(v);
  }
#endif
}
#endif

// Combines (v, index) over the workgroup; true in the one invocation that holds the result.
bool workgroup_combine(inout ACC v, inout uint index) {
  uint tid = gl_LocalInvocationID.x;
#if SUBGROUPS
  subgroup_combine(v, index);
  if (subgroupElect()) {
    scratch[gl_SubgroupID] = v;
#if ARG
    scratch_index[gl_SubgroupID] = index;
#endif
  }
  barrier();
  if (gl_SubgroupID == 0u) {
    v = identity();
    index = NO_INDEX;
    for (uint s = gl_SubgroupInvocationID; s < gl_NumSubgroups; s += gl_SubgroupSize) {
#if ARG
      if (better(v, index, scratch[s], scratch_index[s])) {
        v = scratch[s];
        index = scratch_index[s];
      }
#else
      v = combine(v, scratch[s]);
#endif
    }
    subgroup_combine(v, index);
  }
  return gl_SubgroupID == 0u && subgroupElect();
#else
  scratch[tid] = v;
#if ARG
  scratch_index[tid] = index;
#endif
  barrier();
  for (uint s = WG_SIZE / 2u; s > 0u; s >>= 1) {
    if (tid < s) {
#if ARG
      if (better(scratch[tid], scratch_index[tid], scratch[tid + s], scratch_index[tid + s])) {
        scratch[tid] = scratch[tid + s];
        scratch_index[tid] = scratch_index[tid + s];
      }
#else
      scratch[tid] = combine(scratch[tid], scratch[tid + s]);
#endif
    }
    barrier();
  }
  v = scratch[0];
#if ARG
  index = scratch_index[0];
#endif
  return tid == 0u;
#endif
}

void store(uint o, ACC v, uint index) {
#if ARG
  dst[o] = index;
#elif ACC_KIND == 0
  STORE_F(OUT_T, dst, o, v);
#elif ACC_KIND == 1
  STORE_I(OUT_T, dst, o, v);
#else
  dst[o] = v;
#endif
}

void main() {
  uint base[NUM_OPERANDS];
  ACC acc = identity();
  uint index = NO_INDEX;
  if (PER_INVOCATION != 0u) {
    uint o = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG_SIZE;
    if (o >= P[0]) return;
    strided_offsets(o, base);
    accumulate(base[0], 0u, 1u, acc, index);
    store(o, acc, index);
    return;
  }
  uint wg = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  uint o = wg / SPLITS, split = wg % SPLITS, tid = gl_LocalInvocationID.x;
  if (o >= P[0]) return;  // the same for the whole workgroup
  strided_offsets(o, base);
  accumulate(base[0], split * WG_SIZE + tid, WG_SIZE * SPLITS, acc, index);
  bool holder = workgroup_combine(acc, index);
  if (SPLITS == 1u) {
    if (holder) store(o, acc, index);
    return;
  }
  uint at = 2u * (o * SPLITS + split);
  if (holder) {
    partials[at] = ACC_BITS(acc);
    partials[at + 1u] = index;
  }
  memoryBarrierBuffer();
  barrier();
  if (tid == 0u) last = atomicAdd(counters[o], 1u) == SPLITS - 1u;
  barrier();
  if (!last) return;
  memoryBarrierBuffer();
  if (tid == 0u) counters[o] = 0u;  // ready for the next dispatch
  acc = identity();
  index = NO_INDEX;
  if (tid < SPLITS) {
    acc = FROM_BITS(partials[2u * (o * SPLITS + tid)]);
    index = partials[2u * (o * SPLITS + tid) + 1u];
  }
  if (workgroup_combine(acc, index)) store(o, acc, index);
}
