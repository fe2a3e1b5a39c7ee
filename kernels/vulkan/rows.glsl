// Row kernels: one workgroup per row of a row-wise op (rms_norm, softmax). Rows are
// addressed by strided.glsl over the outer shape (all dims but the row axis); a row's
// elements are `step` apart. reduce_sum / reduce_max combine one float per invocation
// through shared memory (the workgroup size is a power of two, at most 1024).
#include "workgroup.glsl"

shared float row_scratch[1024];

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

uint row_index() { return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x; }
