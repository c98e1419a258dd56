// Scalar number formats the kernels store: bf16, IEEE f16 (binary16) and fp8 E4M3 (the OCP "FN" variant: no
// infinities, max 448). Every conversion rounds to nearest, ties to even, so the references and the fast paths
// round identically. Functions are `static inline` on purpose: this header is included by translation units
// compiled for different ISAs (portable and AVX2), and internal linkage keeps the linker from merging an AVX2
// copy into the portable path.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace etok::kernels::numeric {

static inline uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
static inline float bitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// ---- bf16: the top 16 bits of an f32 ----
static inline uint16_t floatToBf16(float f) {
  const uint32_t u = floatBits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // keep NaN a NaN
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static inline float bf16ToFloat(uint16_t h) { return bitsFloat(static_cast<uint32_t>(h) << 16); }

// ---- f16 (binary16): 1 sign, 5 exponent (bias 15), 10 mantissa bits ----
static inline float f16ToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0) {  // zero or subnormal: man × 2^-24, exact in f32
    const float v = static_cast<float>(man) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  if (exp == 31) return bitsFloat(sign | 0x7f800000u | (man << 13));
  return bitsFloat(sign | ((exp + 112) << 23) | (man << 13));
}

static inline uint16_t floatToF16(float f) {
  const uint32_t u = floatBits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u;  // NaN
  if (a >= 0x477ff000u) return sign | 0x7c00u;  // rounds to ≥ 65520: infinity
  if (a < 0x38800000u) {                        // below 2^-14: subnormal (or zero) in f16
    // value / 2^-24 rounded to nearest even; nearbyint rounds ties to even in the default mode.
    const float scaled = bitsFloat(a) * 16777216.0f;
    return sign | static_cast<uint16_t>(std::nearbyint(scaled));
  }
  const uint32_t rounded = a + 0xfffu + ((a >> 13) & 1u);
  return sign | static_cast<uint16_t>((rounded - 0x38000000u) >> 13);
}

// ---- fp8 E4M3 (FN): 1 sign, 4 exponent (bias 7), 3 mantissa bits; 0x7f/0xff are NaN, max finite 448 ----
static inline float fp8e4m3ToFloat(uint8_t b) {
  const uint32_t sign = static_cast<uint32_t>(b & 0x80u) << 24;
  const uint32_t exp = (b >> 3) & 0xfu, man = b & 0x7u;
  if (exp == 15 && man == 7) return bitsFloat(sign | 0x7fc00000u);
  if (exp == 0) {  // subnormal: man × 2^-9
    const float v = static_cast<float>(man) * 0.001953125f;
    return sign ? -v : v;
  }
  return bitsFloat(sign | ((exp + 120) << 23) | (man << 20));
}

/** Rounds to nearest even and saturates to ±448 (the encoder never produces NaN from a finite input). */
static inline uint8_t floatToFp8e4m3(float f) {
  const uint32_t u = floatBits(f);
  const uint8_t sign = static_cast<uint8_t>((u >> 24) & 0x80u);
  const float a = std::fabs(f);
  if (std::isnan(f)) return sign | 0x7f;
  if (a >= 448.0f) return sign | 0x7e;
  if (a < 0.015625f) {  // below 2^-6: subnormal, steps of 2^-9
    return sign | static_cast<uint8_t>(std::nearbyint(a * 512.0f));  // 8 (= 2^-6) rounds up into the normals
  }
  const uint32_t ab = floatBits(a);
  const uint32_t rounded = ab + 0x7ffffu + ((ab >> 20) & 1u);  // round the 23-bit mantissa to 3 bits
  const uint32_t exp = (rounded >> 23) - 120, man = (rounded >> 20) & 0x7u;
  if (exp > 15 || (exp == 15 && man == 7)) return sign | 0x7e;
  return sign | static_cast<uint8_t>((exp << 3) | man);
}

}  // namespace etok::kernels::numeric
