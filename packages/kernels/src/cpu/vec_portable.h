// The portable path's "vector": one f32 lane, the same interface as vec_avx2.h, so the one attention core
// compiles for any CPU (the compiler may still auto-vectorise it for the baseline ISA).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../common/numeric.h"

namespace etok::kernels::cpu::portable {

struct Vec {
  using T = float;
  static constexpr int W = 1;
  static T zero() { return 0.0f; }
  static T load(const float* p) { return *p; }
  static void store(float* p, T v) { *p = v; }
  static T bcast(float x) { return x; }
  static T fma(T a, T b, T c) { return a * b + c; }
  static T add(T a, T b) { return a + b; }
  static T mul(T a, T b) { return a * b; }
  static T max(T a, T b) { return std::max(a, b); }
  static void inRegister(T&) {}
  static float hsum(T v) { return v; }
  template <int K>
  static void hsums(const T* v, float* out) {
    for (int k = 0; k < K; k++) out[k] = v[k];
  }
  static float hmax(T v) { return v; }
  static void transpose8x4(const float* in, float* out, int64_t stride) {
    for (int r = 0; r < 8; r++)
      for (int j = 0; j < 4; j++) out[j * stride + r] = in[r * 4 + j];
  }
  // The core calls this overload only on 8-lane paths (its int4 scale folding checks Vec::W == 8); it exists so the
  // one core compiles for both ISAs.
  static void transpose8x4(const uint16_t* in, int64_t inStride, float* out, int64_t stride) {
    for (int r = 0; r < 8; r++)
      for (int j = 0; j < 4; j++) out[j * stride + r] = half(in[r * inStride + j]);
  }
  static void transpose8x8(const float* in, int64_t inStride, float* out, int64_t outStride) {
    for (int r = 0; r < 8; r++)
      for (int c = 0; c < 8; c++) out[c * outStride + r] = in[r * inStride + c];
  }
  static T exp(T x) { return std::exp(x); }

  static float half(uint16_t h) { return numeric::f16ToFloat(h); }
  static T halves(const uint16_t* h) { return numeric::f16ToFloat(*h); }

  static T loadF32(const uint8_t* p) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  static T loadBf16(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return numeric::bf16ToFloat(h);
  }
  static void loadBf16Pair(const uint8_t* p, T& even, T& odd) { even = loadBf16(p), odd = loadBf16(p + 2); }
  static T loadF16(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return numeric::f16ToFloat(h);
  }
  static T loadInt8(const uint8_t* p) { return static_cast<float>(static_cast<int8_t>(*p)); }
  static T loadFp8(const uint8_t* p) { return numeric::fp8e4m3ToFloat(*p); }
  static T loadInt4(const uint8_t* p, bool high) { return static_cast<float>((high ? *p >> 4 : *p & 0xf) - 8); }
};

/** No integer dot products here: int8 KV widens to f32 like every format (int8_dot.h is AVX2 only). */
struct IntVec {
  static constexpr bool kAvailable = false;
};

}  // namespace etok::kernels::cpu::portable
