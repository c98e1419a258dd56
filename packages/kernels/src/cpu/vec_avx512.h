// 16-lane f32 vectors for the AVX-512 path (F, BW, DQ, VL, with FMA and F16C), and loads that widen each stored KV
// format to f32: the interface of vec_avx2.h at twice the width. Included only by core_avx512.cpp, which alone is
// compiled with those flags; dispatch.cpp runs it only when the CPU and the OS report AVX-512 and the user asked
// for it (ETOK_CPU_ISA=avx512): it has not yet run on AVX-512 hardware, so AVX2 stays the default there.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace etok::kernels::cpu::avx512 {

#include "lanes8.h"

struct Vec {
  using T = __m512;
  static constexpr int W = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static T bcast(float x) { return _mm512_set1_ps(x); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  /** Keeps v in a register (vec_avx2.h says why); "v" allows all 32 vector registers. */
  static void inRegister(T& v) { asm("" : "+v"(v)); }
  /** The two 256-bit halves added: what the 8-lane reductions below start from. */
  static __m256 fold(T v) { return _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)); }
  static float hsum(T v) {
    const __m256 h = fold(v);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  /** out[k] = hsum(v[k]) for K vectors: each folded to 8 lanes, then eight at a time through one transposing
   *  reduction (lanes8.h). */
  template <int K>
  static void hsums(const T* v, float* out) {
    int k = 0;
    for (; k + 8 <= K; k += 8) {
      __m256 f[8];
      for (int i = 0; i < 8; i++) f[i] = fold(v[k + i]);
      lanes8::hsums8(f, out + k);
    }
    for (; k < K; k++) out[k] = hsum(v[k]);
  }
  /** out[j·stride + r] = in[r·4 + j] for 8 rows of 4 (8-lane: lanes8.h). */
  static void transpose8x4(const float* in, float* out, int64_t stride) {
    lanes8::transpose8x4(_mm256_loadu_ps(in), _mm256_loadu_ps(in + 8), _mm256_loadu_ps(in + 16),
                         _mm256_loadu_ps(in + 24), out, stride);
  }
  /** The same for 8 rows of 4 f16 values. The core calls it only on 8-lane paths (its int4 scale folding checks
   *  Vec::W == 8); it exists so the one core compiles for every ISA. */
  static void transpose8x4(const uint16_t* in, int64_t inStride, float* out, int64_t stride) {
    for (int r = 0; r < 8; r++)
      for (int j = 0; j < 4; j++) out[j * stride + r] = half(in[r * inStride + j]);
  }
  /** out[c·outStride + r] = in[r·inStride + c] for an 8×8 block (lanes8.h). */
  static void transpose8x8(const float* in, int64_t inStride, float* out, int64_t outStride) {
    lanes8::transpose8x8(in, inStride, out, outStride);
  }
  static float hmax(T v) {
    const __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }

  /** e^x, the same Cephes expf as vec_avx2.h (about 2 ulp; x < -87 gives exactly 0, so masked scores weigh
   *  nothing), 16 lanes at a time. */
  static T exp(T x) {
    const __mmask16 zero = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_LT_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.3762626647949f));
    T fx = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f));
    fx = _mm512_roundscale_ps(fx, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
    T y = _mm512_set1_ps(1.9875691500E-4f);
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507E-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073E-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894E-2f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459E-1f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201E-1f));
    const T x2 = _mm512_mul_ps(x, x);
    y = _mm512_fmadd_ps(y, x2, _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
    const __m512i n = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(fx), _mm512_set1_epi32(127)), 23);
    y = _mm512_mul_ps(y, _mm512_castsi512_ps(n));
    return _mm512_maskz_mov_ps(static_cast<__mmask16>(~zero), y);
  }

  static float half(uint16_t h) { return _cvtsh_ss(h); }
  static T halves(const uint16_t* h) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h)));
  }

  // ---- widening loads of 16 stored values ----
  static T loadF32(const uint8_t* p) { return _mm512_loadu_ps(reinterpret_cast<const float*>(p)); }
  static T loadBf16(const uint8_t* p) {
    const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
  }
  /** 2·W bf16 values split into the even- and odd-indexed W by one shift and one mask (pair-split order). */
  static void loadBf16Pair(const uint8_t* p, T& even, T& odd) {
    const __m512i x = _mm512_loadu_si512(p);
    even = _mm512_castsi512_ps(_mm512_slli_epi32(x, 16));
    odd = _mm512_castsi512_ps(_mm512_and_si512(x, _mm512_set1_epi32(static_cast<int>(0xffff0000u))));
  }
  static T loadF16(const uint8_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static T loadInt8(const uint8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  /** E4M3 → f32 as in vec_avx2.h: sign-extend, one shift, one mask, × 2^120. */
  static T loadFp8(const uint8_t* p) {
    const __m512i b = _mm512_slli_epi32(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 20);
    const __m512i f = _mm512_and_si512(b, _mm512_set1_epi32(static_cast<int>(0x87f00000u)));
    return _mm512_mul_ps(_mm512_castsi512_ps(f), _mm512_set1_ps(1.329227995784916e36f));  // 2^120
  }
  /** 16 nibbles (low or high halves of 16 bytes), stored +8. */
  static T loadInt4(const uint8_t* p, bool high) {
    __m512i b = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    b = high ? _mm512_srli_epi32(b, 4) : _mm512_and_si512(b, _mm512_set1_epi32(0xf));
    return _mm512_cvtepi32_ps(_mm512_sub_epi32(b, _mm512_set1_epi32(8)));
  }
};

/** No integer dot products on this path yet: int8 KV widens to f32 like every format (int8_dot.h is AVX2 only;
 *  AVX-512 VNNI's vpdpwssd would be its natural form here). */
struct IntVec {
  static constexpr bool kAvailable = false;
};

}  // namespace etok::kernels::cpu::avx512
