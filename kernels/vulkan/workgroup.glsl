// The workgroup size as a specialisation constant (constant_id 0). Kernels use WG_SIZE
// rather than gl_WorkGroupSize, whose specialised form Mesa 22's lavapipe reads as 1.
#ifndef LAMINA_WORKGROUP_GLSL
#define LAMINA_WORKGROUP_GLSL
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64u;
#endif
