// Strided addressing from a flat row-major index. Parameter words (binding 0, P[]):
//   P[0] element count, P[1] ndim (<= 8),
//   P[2 + k] element offset of operand k (k < NUM_OPERANDS),
//   P[2 + K + d] shape[d], P[2 + K + ndim * (1 + k) + d] stride of operand k along d.
// Extra kernel parameters follow at P[STRIDED_END].
layout(std430, binding = 0) readonly buffer Params { uint P[]; };

#define STRIDED_END (2u + NUM_OPERANDS + P[1] * (1u + NUM_OPERANDS))

void strided_offsets(uint index, out uint off[NUM_OPERANDS]) {
  uint ndim = P[1];
  for (uint k = 0u; k < NUM_OPERANDS; ++k) off[k] = P[2u + k];
  for (int d = int(ndim) - 1; d >= 0; --d) {
    uint size = P[2u + NUM_OPERANDS + uint(d)];
    uint coord = index % size;
    index /= size;
    for (uint k = 0u; k < NUM_OPERANDS; ++k) {
      off[k] += coord * P[2u + NUM_OPERANDS + ndim * (1u + k) + uint(d)];
    }
  }
}

// Offset of element `index` (row-major) of the one-operand block that strided_params
// writes at P[base]: count, ndim, offset, shape[ndim], strides[ndim].
uint block_offset(uint base, uint index) {
  uint ndim = P[base + 1u];
  uint off = P[base + 2u];
  for (int d = int(ndim) - 1; d >= 0; --d) {
    uint size = P[base + 3u + uint(d)];
    off += (index % size) * P[base + 3u + ndim + uint(d)];
    index /= size;
  }
  return off;
}
