// MLX affine-quantized weights (docs formats.md): each row's BITS-bit codes form one
// LSB-first bit stream cut into uint32 words, so 32 codes fill exactly BITS words (a
// "pack"; a group of GROUP_SIZE = 32, 64 or 128 codes is a whole number of packs, and 3-,
// 5- and 6-bit codes may straddle two words of a pack). W[n, k] = scale * code + bias with
// the (scale, bias) of group k / GROUP_SIZE of row n.
// Specialisation constants 1 and 2 (0 is the workgroup size).
layout(constant_id = 1) const uint BITS = 4u;
layout(constant_id = 2) const uint GROUP_SIZE = 64u;

const uint CODE_MASK = (1u << BITS) - 1u;

// Code j (0..31) of the pack held in words[0 .. BITS - 1].
uint pack_code(uint words[8], uint j) {
  uint bit = j * BITS;
  uint w = bit >> 5u, shift = bit & 31u;
  uint v = words[w] >> shift;
  if (shift + BITS > 32u) v |= words[w + 1u] << (32u - shift);
  return v & CODE_MASK;
}
