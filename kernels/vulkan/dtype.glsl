// Storage types and conversions of lamina's dtypes in GLSL. A shader variant names each
// buffer's dtype with a suffix (f32, f16, bf16, i32, u32, bool) and uses the macros:
//   STORAGE(T)          the element type of a buffer of dtype T
//   LOAD_F(T, buf, i)   element i as float;   STORE_F(T, buf, i, v)  store a float
//   LOAD_I(T, buf, i)   element i as int;     STORE_I(T, buf, i, v)  store an int
// bfloat16 is stored as uint16_t bit patterns; float16 as float16_t (storage only: the
// arithmetic is float32, so no shaderFloat16 feature is needed).
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_8bit_storage : require

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

#define STORAGE_f32 float
#define STORAGE_f16 float16_t
#define STORAGE_bf16 uint16_t
#define STORAGE_i32 int
#define STORAGE_u32 uint
#define STORAGE_bool uint8_t
#define STORAGE(T) CAT(STORAGE_, T)

// bfloat16 bits nearest to v (round half to even, NaN kept quiet), as the CPU does.
uint bf16_bits(float v) {
  uint u = floatBitsToUint(v);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
  return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

#define LOAD_F_f32(b, i) (b[i])
#define LOAD_F_f16(b, i) float(b[i])
#define LOAD_F_bf16(b, i) uintBitsToFloat(uint(b[i]) << 16)
#define LOAD_F_i32(b, i) float(b[i])
#define LOAD_F_u32(b, i) float(b[i])
#define LOAD_F_bool(b, i) float(uint(b[i]))
#define LOAD_F(T, b, i) CAT(LOAD_F_, T)(b, i)

#define STORE_F_f32(b, i, v) b[i] = (v)
#define STORE_F_f16(b, i, v) b[i] = float16_t(v)
#define STORE_F_bf16(b, i, v) b[i] = uint16_t(bf16_bits(v))
#define STORE_F_i32(b, i, v) b[i] = int(v)
#define STORE_F_u32(b, i, v) b[i] = ((v) < 0.0 ? uint(int(v)) : uint(v))
#define STORE_F_bool(b, i, v) b[i] = uint8_t((v) != 0.0 ? 1u : 0u)
#define STORE_F(T, b, i, v) CAT(STORE_F_, T)(b, i, v)

#define LOAD_I_f32(b, i) int(b[i])
#define LOAD_I_f16(b, i) int(float(b[i]))
#define LOAD_I_bf16(b, i) int(uintBitsToFloat(uint(b[i]) << 16))
#define LOAD_I_i32(b, i) (b[i])
#define LOAD_I_u32(b, i) int(b[i])
#define LOAD_I_bool(b, i) int(uint(b[i]))
#define LOAD_I(T, b, i) CAT(LOAD_I_, T)(b, i)

#define STORE_I_f32(b, i, v) b[i] = float(v)
#define STORE_I_f16(b, i, v) b[i] = float16_t(float(v))
#define STORE_I_bf16(b, i, v) b[i] = uint16_t(bf16_bits(float(v)))
#define STORE_I_i32(b, i, v) b[i] = int(v)
#define STORE_I_u32(b, i, v) b[i] = uint(v)
#define STORE_I_bool(b, i, v) b[i] = uint8_t((v) != 0 ? 1u : 0u)
#define STORE_I(T, b, i, v) CAT(STORE_I_, T)(b, i, v)

// v rounded to the nearest float16 value (ties to even, overflow to infinity), as a float:
// exact, unlike a float16_t conversion, whose rounding Vulkan leaves to the driver.
float f16_round(float v) {
  if (isnan(v)) return v;
  float a = abs(v);
  if (a >= 65520.0) return v < 0.0 ? -1.0 / 0.0 : 1.0 / 0.0;
  int e = max(int(floatBitsToUint(a) >> 23u) - 127, -14);  // float16 subnormals share 2^-14
  float spacing = uintBitsToFloat(uint(e - 10 + 127) << 23u);
  float inverse = uintBitsToFloat(uint(127 - (e - 10)) << 23u);
  return roundEven(v * inverse) * spacing;
}

// v rounded to dtype T's precision, as a float (float types only).
#define ROUND_F_f32(v) (v)
#define ROUND_F_f16(v) f16_round(v)
#define ROUND_F_bf16(v) uintBitsToFloat(bf16_bits(v) << 16)
#define ROUND_F(T, v) CAT(ROUND_F_, T)(v)
