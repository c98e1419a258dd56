// 8-lane f32 vectors for the AVX2 + FMA + F16C path, and loads that widen each stored KV format to f32.
// Included only by core_avx2.cpp, which is compiled with -mavx2 -mfma -mf16c; runtime dispatch (dispatch.cpp)
// calls it only when the CPU reports all three.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace etok::kernels::cpu::avx2 {

#include "lanes8.h"

struct Vec {
  using T = __m256;
  static constexpr int W = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static T bcast(float x) { return _mm256_set1_ps(x); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  /** Keeps v in a register: g++ otherwise folds a loaded vector that feeds several FMAs into each of them as a
   *  memory operand, loading it once per use, and the loop then waits on the load ports, not the FMAs. */
  static void inRegister(T& v) { asm("" : "+x"(v)); }
  static float hsum(T v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  /** out[k] = hsum(v[k]) for K vectors; eight at a time share one transposing reduction (lanes8.h). */
  template <int K>
  static void hsums(const T* v, float* out) {
    int k = 0;
    for (; k + 8 <= K; k += 8) lanes8::hsums8(v + k, out + k);
    for (; k < K; k++) out[k] = hsum(v[k]);
  }
  /** out[j·stride + r] = in[r·4 + j] for 8 rows of 4 (two 4×4 transposes, one a 128-bit lane). */
  static void transpose8x4(const float* in, float* out, int64_t stride) {
    lanes8::transpose8x4(_mm256_loadu_ps(in), _mm256_loadu_ps(in + 8), _mm256_loadu_ps(in + 16),
                         _mm256_loadu_ps(in + 24), out, stride);
  }
  /** The same for 8 rows of 4 f16 values, rows inStride values apart, widened to f32. */
  static void transpose8x4(const uint16_t* in, int64_t inStride, float* out, int64_t stride) {
    auto rows = [&](int r) {  // rows r and r + 1
      const __m128i lo = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(in + r * inStride));
      const __m128i hi = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(in + (r + 1) * inStride));
      return _mm256_cvtph_ps(_mm_unpacklo_epi64(lo, hi));
    };
    lanes8::transpose8x4(rows(0), rows(2), rows(4), rows(6), out, stride);
  }
  /** out[c·outStride + r] = in[r·inStride + c] for an 8×8 block (lanes8.h). */
  static void transpose8x8(const float* in, int64_t inStride, float* out, int64_t outStride) {
    lanes8::transpose8x8(in, inStride, out, outStride);
  }
  static float hmax(T v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }

  /** e^x to about 2 ulp (Cephes expf: x = n·ln2 + r, degree-5 polynomial for e^r); x < -87 gives exactly 0,
   *  so masked scores (-inf) weigh nothing. */
  static T exp(T x) {
    const T zeroMask = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.3762626647949f));
    T fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
    fx = _mm256_floor_ps(fx);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    T y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
    const T x2 = _mm256_mul_ps(x, x);
    y = _mm256_fmadd_ps(y, x2, _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    const __m256i n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
    y = _mm256_mul_ps(y, _mm256_castsi256_ps(n));
    return _mm256_andnot_ps(zeroMask, y);
  }

  static float half(uint16_t h) { return _cvtsh_ss(h); }
  static T halves(const uint16_t* h) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h))); }

  // ---- widening loads of 8 stored values ----
  static T loadF32(const uint8_t* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
  static T loadBf16(const uint8_t* p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
  /** 2·W bf16 values split into the even- and odd-indexed W by one shift and one mask (pair-split order,
   *  scoring.h); loadBf16 needs a widening shuffle and a shift for every W. */
  static void loadBf16Pair(const uint8_t* p, T& even, T& odd) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    even = _mm256_castsi256_ps(_mm256_slli_epi32(x, 16));
    odd = _mm256_castsi256_ps(_mm256_and_si256(x, _mm256_set1_epi32(static_cast<int>(0xffff0000u))));
  }
  static T loadF16(const uint8_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static T loadInt8(const uint8_t* p) {
    int64_t bits;
    std::memcpy(&bits, p, 8);
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(bits)));
  }
  /** E4M3 → f32 by moving the exponent and mantissa into place and multiplying by 2^120 (bias 127 − 7); this is
   *  exact for normals and subnormals alike. Sign-extending the byte puts copies of its sign in every bit from 7
   *  up, so one shift places sign and magnitude together and one mask keeps bit 31 and the seven magnitude bits
   *  (4 operations for 8 values where a separate sign path took 7). The encoder never stores the NaN pattern. */
  static T loadFp8(const uint8_t* p) {
    int64_t bits;
    std::memcpy(&bits, p, 8);
    const __m256i b = _mm256_slli_epi32(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(bits)), 20);
    const __m256i f = _mm256_and_si256(b, _mm256_set1_epi32(static_cast<int>(0x87f00000u)));
    return _mm256_mul_ps(_mm256_castsi256_ps(f), _mm256_set1_ps(1.329227995784916e36f));  // 2^120
  }
  /** 8 nibbles (low or high halves of 8 bytes), stored +8. */
  static T loadInt4(const uint8_t* p, bool high) {
    int64_t bits;
    std::memcpy(&bits, p, 8);
    __m256i b = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(bits));
    b = high ? _mm256_srli_epi32(b, 4) : _mm256_and_si256(b, _mm256_set1_epi32(0xf));
    return _mm256_cvtepi32_ps(_mm256_sub_epi32(b, _mm256_set1_epi32(8)));
  }
};

/** 16-bit integer lanes for int8 KV read in place (int8_dot.h): vpmaddwd multiplies 16 int16 pairs and adds each
 *  pair into an int32 lane, 16 multiply-adds an instruction where an f32 FMA does 8, and int8 widens to int16 with
 *  one sign extension where f32 needs a sign extension and a conversion per 8 values; but each needs a vpaddd to
 *  accumulate, so what it saves is the widening (docs/performance-log.md, 2026-11-26). */
struct IntVec {
  static constexpr bool kAvailable = true;
  using I = __m256i;
  static constexpr int W = 16;  // int16 lanes; int32 results come 8 a vector
  static I zero() { return _mm256_setzero_si256(); }
  static I loadI16(const int16_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static I widenInt8(const uint8_t* p) {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  /** acc + Σ of each adjacent pair of a·b, in 8 int32 lanes. */
  static I maddAdd(I a, I b, I acc) { return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b)); }
  static void inRegister(I& v) { asm("" : "+x"(v)); }
  /** *pair in every int32 lane, by vbroadcastss: a load alone, where vpbroadcastd from memory may also take a
   *  shuffle pipe from the multiply-adds. */
  static I bcastPair(const int32_t* pair) {
    return _mm256_castps_si256(_mm256_broadcast_ss(reinterpret_cast<const float*>(pair)));
  }
  static Vec::T toFloat(I v) { return _mm256_cvtepi32_ps(v); }
  /** out[k] = Σ of v[k]'s lanes as f32: eight at a time reduced in int32 (exact; the caller keeps the sums in range)
   *  by the transposing horizontal sum of Vec::hsums, then one conversion instead of eight. */
  template <int K>
  static void hsums(const I* v, float* out) {
    int k = 0;
    for (; k + 8 <= K; k += 8) {
      const I t0 = _mm256_hadd_epi32(v[k], v[k + 1]), t1 = _mm256_hadd_epi32(v[k + 2], v[k + 3]);
      const I t2 = _mm256_hadd_epi32(v[k + 4], v[k + 5]), t3 = _mm256_hadd_epi32(v[k + 6], v[k + 7]);
      const I u0 = _mm256_hadd_epi32(t0, t1), u1 = _mm256_hadd_epi32(t2, t3);
      const I r = _mm256_add_epi32(_mm256_permute2x128_si256(u0, u1, 0x20), _mm256_permute2x128_si256(u0, u1, 0x31));
      _mm256_storeu_ps(out + k, _mm256_cvtepi32_ps(r));
    }
    for (; k < K; k++) out[k] = Vec::hsum(toFloat(v[k]));
  }
  /** 16 int8 values of rows x and y (element e of each) as 16 int16 interleaved by element, x first: lo holds
   *  elements 0-7, hi 8-15, so maddAdd with a broadcast (wx, wy) pair gives wx·x[e] + wy·y[e] in lane e. */
  static void interleaveInt8(const uint8_t* x, const uint8_t* y, I& lo, I& hi) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(y));
    lo = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(a, b));
    hi = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(a, b));
  }
  /** Rounds 32 weights w ≥ 0 (zero past the tile's tokens) to int16 against their largest, w ≈ σ·round(w/σ) with
   *  σ = max/32767, and packs them two tokens an int32 (token 2i low, 2i + 1 high) into pairs[16]. Returns σ. */
  static float weightPairs(const float* w, int32_t* pairs) {
    const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8), w2 = _mm256_loadu_ps(w + 16),
                 w3 = _mm256_loadu_ps(w + 24);
    const float mx = Vec::hmax(_mm256_max_ps(_mm256_max_ps(w0, w1), _mm256_max_ps(w2, w3)));
    const __m256 inv = _mm256_set1_ps(mx > 0.0f ? 32767.0f / mx : 0.0f);
    auto round = [&](__m256 v) { return _mm256_cvtps_epi32(_mm256_mul_ps(v, inv)); };  // nearest, ties to even
    // packs interleaves the two sources by 128-bit lane; the 64-bit permute puts the pairs back in token order.
    const __m256i p01 = _mm256_permute4x64_epi64(_mm256_packs_epi32(round(w0), round(w1)), 0xd8);
    const __m256i p23 = _mm256_permute4x64_epi64(_mm256_packs_epi32(round(w2), round(w3)), 0xd8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(pairs), p01);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(pairs + 8), p23);
    return mx / 32767.0f;
  }
};

}  // namespace etok::kernels::cpu::avx2
