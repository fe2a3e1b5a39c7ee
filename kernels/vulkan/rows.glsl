// Row kernels: one workgroup per row of a row-wise op (rms_norm, softmax). Rows are
// addressed by strided.glsl over the outer shape (all dims but the row axis); a row's
// elements are `step` apart. reduce_sum / reduce_max combine one float per invocation:
// with SUBGROUPS 1, within subgroups (subgroup arithmetic) and then across them through
// one barrier; else through a shared-memory tree (the workgroup size is a power of two,
// at most 1024). ROW_CACHE: elements per invocation that the norms keep in registers, so
// rows up to ROW_CACHE * WG_SIZE are read from memory once.
#include "workgroup.glsl"

#ifndef SUBGROUPS
#define SUBGROUPS 0
#endif
#if SUBGROUPS
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

const uint ROW_CACHE = 16u;

shared float row_scratch[1024];

#if SUBGROUPS
float reduce_sum(float v) {
  v = subgroupAdd(v);
  if (subgroupElect()) row_scratch[gl_SubgroupID] = v;
  barrier();
  float r = 0.0;
  for (uint s = 0u; s < gl_NumSubgroups; ++s) r += row_scratch[s];
  barrier();
  return r;
}

float reduce_max(float v) {
  v = subgroupMax(v);
  if (subgroupElect()) row_scratch[gl_SubgroupID] = v;
  barrier();
  float r = -1.0 / 0.0;
  for (uint s = 0u; s < gl_NumSubgroups; ++s) r = max(r, row_scratch[s]);
  barrier();
  return r;
}
#else
float reduce_sum(float v) {
  uint tid = gl_LocalInvocationID.x;
  row_scratch[tid] = v;
  barrier();
  for (uint s = WG_SIZE / 2u; s > 0u; s >>= 1) {
    if (tid < s) row_scratch[tid] += row_scratch[tid + s];
    barrier();
  }
  float r = row_scratch[0];
  barrier();
  return r;
}

float reduce_max(float v) {
  uint tid = gl_LocalInvocationID.x;
  row_scratch[tid] = v;
  barrier();
  for (uint s = WG_SIZE / 2u; s > 0u; s >>= 1) {
    if (tid < s) row_scratch[tid] = max(row_scratch[tid], row_scratch[tid + s]);
    barrier();
  }
  float r = row_scratch[0];
  barrier();
  return r;
}
#endif

uint row_index() { return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x; }
