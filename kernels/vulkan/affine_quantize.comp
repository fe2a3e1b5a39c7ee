// MLX affine quantization (quant/quantized_ops.cpp's quantize), bit for bit with the CPU
// (kernels/cpu/quantized_pack.cpp) and MLX: float32 arithmetic, IEEE division (div_rn),
// round half to even, the CPU's comparison order for min/max and clamps.
//   PACK = 0 (AffineQuantParams): one invocation per group; out[group] = (scale, bias).
//   PACK = 1 (AffinePack): one invocation per 32-code pack (BITS words of the row's LSB-first
//            bit stream), codes = clamp(rint((w - bias) / scale), 0, 2^BITS - 1).
// Operand: w, strided over the rows' outer shape. Extra parameters at STRIDED_END: item
// count (groups or packs), K, w's step along the row, params offset (PACK).
// Variant defines: T (w), PACK. Specialisation constants: BITS, GROUP_SIZE (quantized.glsl).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#define NUM_OPERANDS 1u
#include "strided.glsl"
#include "workgroup.glsl"
#include "quantized.glsl"

// div_rn(a, b): a / b correctly rounded (to nearest, ties to even) in integer arithmetic.
// Vulkan lets a float division be off by 2.5 ulp (NVIDIA is), but quantizing must match
// the CPU's IEEE division bit for bit. The significands are divided bit by bit (25
// quotient bits and a sticky remainder), subnormal results included. Zero, infinite and
// NaN operands take the plain division, exact in those cases.

// Significand (with the implicit bit, normalised to bit 23) and unbiased exponent of a
// finite non-zero float's magnitude bits.
void split_float(uint bits, out uint significand, out int exponent) {
  uint field = bits >> 23u;
  significand = bits & 0x7fffffu;
  if (field == 0u) {  // subnormal
    int shift = 23 - findMSB(significand);
    significand <<= uint(shift);
    exponent = -126 - shift;
  } else {
    significand |= 0x800000u;
    exponent = int(field) - 127;
  }
}

float div_rn(float a, float b) {
  if (a == 0.0 || b == 0.0 || isinf(a) || isinf(b) || isnan(a) || isnan(b)) return a / b;
  uint ua = floatBitsToUint(a), ub = floatBitsToUint(b);
  uint sign = (ua ^ ub) & 0x80000000u;
  uint ma, mb;
  int ea, eb;
  split_float(ua & 0x7fffffffu, ma, ea);
  split_float(ub & 0x7fffffffu, mb, eb);
  if (ma < mb) {  // so that the quotient of the significands lies in [1, 2)
    ma <<= 1u;
    ea -= 1;
  }
  int e = ea - eb;
  // q = floor(ma / mb * 2^24), 25 bits; the remainder says whether anything was left.
  uint q = 0u, r = ma;
  for (int i = 0; i < 25; ++i) {
    q <<= 1u;
    if (r >= mb) {
      r -= mb;
      q |= 1u;
    }
    r <<= 1u;
  }
  // The quotient is q * 2^(e - 24); keep 24 bits (fewer for a subnormal result).
  int dropped_bits = 1 + max(0, -126 - e);
  if (dropped_bits > 25) return uintBitsToFloat(sign);  // below half the smallest subnormal
  uint kept = q >> uint(dropped_bits);
  uint dropped = q & ((1u << uint(dropped_bits)) - 1u);
  uint half_unit = 1u << uint(dropped_bits - 1);
  if (dropped > half_unit || (dropped == half_unit && (r != 0u || (kept & 1u) != 0u))) kept += 1u;
  // kept carries the implicit bit into the exponent field (and a rounding carry with it).
  uint bits = e >= -126 ? (uint(e + 126) << 23u) + kept : kept;
  return uintBitsToFloat(sign | min(bits, 0x7f800000u));
}

layout(std430, binding = 1) readonly buffer W { STORAGE(T) w[]; };
#if PACK
layout(std430, binding = 2) readonly buffer QuantParams { float params[]; };
layout(std430, binding = 3) writeonly buffer Out { uint dst[]; };
#else
layout(std430, binding = 2) writeonly buffer Out { float dst[]; };
#endif

void main() {
  uint id = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG_SIZE;
  uint e = STRIDED_END;
  if (id >= P[e]) return;
  uint K = P[e + 1u], step = P[e + 2u];
  float n_bins = float(CODE_MASK);
  float min_scale = uintBitsToFloat(0x33d6bf95u);  // kQuantMinScale, 1e-7f
#if PACK
  uint packs = K / 32u;
  uint row = id / packs, k0 = (id % packs) * 32u;
  uint off[NUM_OPERANDS];
  strided_offsets(row, off);
  uint g = row * (K / GROUP_SIZE) + k0 / GROUP_SIZE;
  float scale = params[P[e + 3u] + 2u * g], bias = params[P[e + 3u] + 2u * g + 1u];
  uint words[8] = uint[8](0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u);
  for (uint j = 0u; j < 32u; ++j) {
    precise float shifted = LOAD_F(T, w, off[0] + (k0 + j) * step) - bias;
    float q = roundEven(div_rn(shifted, scale));
    q = q < 0.0 ? 0.0 : q;
    q = n_bins < q ? n_bins : q;
    uint code = uint(q), bit = j * BITS;
    uint word = bit >> 5u, shift = bit & 31u;
    words[word] |= code << shift;
    if (shift + BITS > 32u) words[word + 1u] |= code >> (32u - shift);
  }
  for (uint i = 0u; i < BITS; ++i) dst[id * BITS + i] = words[i];
#else
  uint groups = K / GROUP_SIZE;
  uint row = id / groups, k0 = (id % groups) * GROUP_SIZE;
  uint off[NUM_OPERANDS];
  strided_offsets(row, off);
  float lo = LOAD_F(T, w, off[0] + k0 * step), hi = lo;
  for (uint j = 1u; j < GROUP_SIZE; ++j) {
    float v = LOAD_F(T, w, off[0] + (k0 + j) * step);
    lo = v < lo ? v : lo;  // std::min(lo, v)
    hi = hi < v ? v : hi;  // std::max(hi, v)
  }
  precise float range = hi - lo;
  float s = div_rn(range, n_bins);
  s = s < min_scale ? min_scale : s;
  bool low_edge = abs(lo) > abs(hi);
  if (!low_edge) s = -s;
  float edge = low_edge ? lo : hi;
  float q0 = roundEven(div_rn(edge, s));
  dst[2u * id] = q0 != 0.0 ? div_rn(edge, q0) : s;
  dst[2u * id + 1u] = q0 != 0.0 ? edge : 0.0;
#endif
}
