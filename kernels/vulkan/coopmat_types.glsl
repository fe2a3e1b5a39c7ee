// The tensor-core fragment types (GL_NV_cooperative_matrix) of lamina's kernels: float16
// a (16 x 16) and b (16 x FRAG_N) fragments, float32 accumulators (16 x FRAG_N), where
// FRAG_N (define: 16 or 8) is the N of the device's 16 x N x 16 shape; and packing of
// float16 values 8 to a uvec4, the unit the kernels' shared-memory tiles are made of.
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require

#define FRAG_A fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define FRAG_B fcoopmatNV<16, gl_ScopeSubgroup, 16, FRAG_N>
#define FRAG_C fcoopmatNV<32, gl_ScopeSubgroup, 16, FRAG_N>

// 8 floats as 8 float16 values (round to nearest).
uvec4 pack8(float v[8]) {
  return uvec4(packHalf2x16(vec2(v[0], v[1])), packHalf2x16(vec2(v[2], v[3])),
               packHalf2x16(vec2(v[4], v[5])), packHalf2x16(vec2(v[6], v[7])));
}
