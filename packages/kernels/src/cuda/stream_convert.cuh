// Stored KV values → packed bf16/f16 pairs (one 32-bit mma operand register) in a few integer instructions, for
// the stream decode (decode_stream.cuh), which stages the cache as stored and converts from shared memory.
// The scales are not applied here: the kernel folds the key scale into the scores and the value scale into the
// softmax weights, so each conversion below is exact (every int8, int4 and E4M3 value is a bf16 and an f16).
//   int8 → f16   magic 1024: f16 bits 0x64XX are 1024 + XX, so (b ^ 0x80) under 0x64 minus 1152 is b
//   int8 → bf16  bf16 has no room for 1024 + 255, so through f32: bits 0x4B0000XX are 2^23 + XX
//   int4 → f16/bf16  (n & 0xF) under 0x64 (1024) or 0x43 (bf16 128) minus the magic + 8
//   E4M3 → f16   sm_89+: cvt.rn.f16x2.e4m3x2; elsewhere the 7 magnitude bits under the f16 exponent, × 2^8
//   E4M3 → bf16  E4M3 → f16 → f32 → bf16 (each step exact)
// packages/kernels/test/cuda/emulate_stream.py checks every one of these bit for bit on all byte values.
#pragma once

#include "common.cuh"

namespace etok::kernels::cuda {

__device__ __forceinline__ uint32_t halfSub2(uint32_t x, uint32_t y) {
  uint32_t d;
  asm("sub.f16x2 %0, %1, %2;\n" : "=r"(d) : "r"(x), "r"(y));
  return d;
}

/** x − y on bf16 pairs, as x · 1 − y (fma.rn.bf16x2 runs on sm_80; sub.bf16x2 needs sm_90); exact here. */
__device__ __forceinline__ uint32_t bf16Sub2(uint32_t x, uint32_t y) {
  uint32_t d;
  asm("fma.rn.bf16x2 %0, %1, %2, %3;\n" : "=r"(d) : "r"(x), "r"(0x3F803F80u), "r"(y ^ 0x80008000u));
  return d;
}

__device__ __forceinline__ uint32_t halfMul2(uint32_t x, uint32_t y) {
  uint32_t d;
  asm("mul.f16x2 %0, %1, %2;\n" : "=r"(d) : "r"(x), "r"(y));
  return d;
}

/** Two E4M3 bytes (low byte → low half) as an f16 pair. */
__device__ __forceinline__ uint32_t e4m3x2ToHalf2(uint32_t pair16) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  uint32_t d;
  const uint16_t in = static_cast<uint16_t>(pair16);
  asm("cvt.rn.f16x2.e4m3x2 %0, %1;\n" : "=r"(d) : "h"(in));
  return d;
#else
  const uint32_t x = __byte_perm(pair16, 0u, 0x1404);  // bytes under the f16 halves: [0, b0, 0, b1]
  return halfMul2(((x >> 1) & 0x3F803F80u) | (x & 0x80008000u), 0x5C005C00u);  // × 2^8 restores the E4M3 bias
#endif
}

__device__ __forceinline__ uint32_t half2ToBf162(uint32_t h) {
  const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&h));
  const __nv_bfloat162 b = __floats2bfloat162_rn(f.x, f.y);
  return *reinterpret_cast<const uint32_t*>(&b);
}

/** Four stored bytes (int8 or E4M3) → lo = (byte0, byte1), hi = (byte2, byte3) as T pairs, low half first. */
template <StoreFormat K, class T> __device__ __forceinline__ void bytes4(uint32_t w, uint32_t& lo, uint32_t& hi);

template <> __device__ __forceinline__ void bytes4<StoreFormat::Int8, __half>(uint32_t w, uint32_t& lo, uint32_t& hi) {
  const uint32_t u = w ^ 0x80808080u;
  lo = halfSub2(__byte_perm(u, 0x64646464u, 0x4140), 0x64806480u);
  hi = halfSub2(__byte_perm(u, 0x64646464u, 0x4342), 0x64806480u);
}

template <>
__device__ __forceinline__ void bytes4<StoreFormat::Int8, __nv_bfloat16>(uint32_t w, uint32_t& lo, uint32_t& hi) {
  const uint32_t u = w ^ 0x80808080u;
  const float f0 = __uint_as_float(__byte_perm(u, 0x4B000000u, 0x7440)) - 8388736.f;  // 2^23 + 128
  const float f1 = __uint_as_float(__byte_perm(u, 0x4B000000u, 0x7441)) - 8388736.f;
  const float f2 = __uint_as_float(__byte_perm(u, 0x4B000000u, 0x7442)) - 8388736.f;
  const float f3 = __uint_as_float(__byte_perm(u, 0x4B000000u, 0x7443)) - 8388736.f;
  // |b| ≤ 128 has ≤ 8 significant bits: the high halves of the f32s are the bf16 values exactly.
  lo = __byte_perm(__float_as_uint(f0), __float_as_uint(f1), 0x7632);
  hi = __byte_perm(__float_as_uint(f2), __float_as_uint(f3), 0x7632);
}

template <> __device__ __forceinline__ void bytes4<StoreFormat::Fp8, __half>(uint32_t w, uint32_t& lo, uint32_t& hi) {
  lo = e4m3x2ToHalf2(w & 0xffffu);
  hi = e4m3x2ToHalf2(w >> 16);
}

template <>
__device__ __forceinline__ void bytes4<StoreFormat::Fp8, __nv_bfloat16>(uint32_t w, uint32_t& lo, uint32_t& hi) {
  lo = half2ToBf162(e4m3x2ToHalf2(w & 0xffffu));
  hi = half2ToBf162(e4m3x2ToHalf2(w >> 16));
}

/** The nibbles of x at bits s..s+3 and 16+s..16+s+3 (s = shift) as a T pair of their values − 8. */
template <class T> __device__ __forceinline__ uint32_t nibblePair(uint32_t x, int shift);
template <> __device__ __forceinline__ uint32_t nibblePair<__half>(uint32_t x, int shift) {
  return halfSub2(((x >> shift) & 0x000F000Fu) | 0x64006400u, 0x64086408u);
}
template <> __device__ __forceinline__ uint32_t nibblePair<__nv_bfloat16>(uint32_t x, int shift) {
  return bf16Sub2(((x >> shift) & 0x000F000Fu) | 0x43004300u, 0x43084308u);
}

}  // namespace etok::kernels::cuda
