// 8-lane (256-bit) register shuffles that the AVX2 and AVX-512 vector types share: the transposing reduction of
// eight vectors, and 8×4 and 8×8 transposes. Included by vec_avx2.h and vec_avx512.h inside their own ISA
// namespaces, so each ISA gets its own copy compiled with its own flags (one shared inline copy could reach an
// AVX2-only CPU compiled for AVX-512; attention_core.h keeps its ISAs apart the same way). No include guard for
// that reason; the including header has included <immintrin.h> and <cstdint>.

namespace lanes8 {

/** The sums of the eight lanes of v[0..7], stored to out[0..7]: 6 hadds, 2 lane permutes and 1 add for all eight,
 *  instead of eight separate reductions. */
inline void hsums8(const __m256* v, float* out) {
  const __m256 t0 = _mm256_hadd_ps(v[0], v[1]), t1 = _mm256_hadd_ps(v[2], v[3]);
  const __m256 t2 = _mm256_hadd_ps(v[4], v[5]), t3 = _mm256_hadd_ps(v[6], v[7]);
  const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
  // u0: per 128-bit lane, the partial sums of v[0..3] over that lane's elements; u1 likewise for v[4..7].
  _mm256_storeu_ps(out, _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31)));
}

/** out[j·stride + r] = row r's element j, for 8 rows of 4 held two rows a vector in a..d (rows 0-1, 2-3, 4-5, 6-7). */
inline void transpose8x4(__m256 a, __m256 b, __m256 c, __m256 d, float* out, int64_t stride) {
  // Rows r and r + 4 side by side in the two lanes.
  const __m256 x0 = _mm256_permute2f128_ps(a, c, 0x20), x1 = _mm256_permute2f128_ps(a, c, 0x31);
  const __m256 x2 = _mm256_permute2f128_ps(b, d, 0x20), x3 = _mm256_permute2f128_ps(b, d, 0x31);
  const __m256 t0 = _mm256_unpacklo_ps(x0, x1), t1 = _mm256_unpacklo_ps(x2, x3);
  const __m256 t2 = _mm256_unpackhi_ps(x0, x1), t3 = _mm256_unpackhi_ps(x2, x3);
  _mm256_storeu_ps(out, _mm256_shuffle_ps(t0, t1, 0x44));
  _mm256_storeu_ps(out + stride, _mm256_shuffle_ps(t0, t1, 0xee));
  _mm256_storeu_ps(out + 2 * stride, _mm256_shuffle_ps(t2, t3, 0x44));
  _mm256_storeu_ps(out + 3 * stride, _mm256_shuffle_ps(t2, t3, 0xee));
}

/** out[c·outStride + r] = in[r·inStride + c] for an 8×8 block: unpacks, shuffles and lane permutes, 24 operations
 *  where the scalar transpose took 64 loads and 64 stores. */
inline void transpose8x8(const float* in, int64_t inStride, float* out, int64_t outStride) {
  __m256 r[8];
  for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(in + i * inStride);
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
  // u0..u3 hold columns 0-3 (low lane) and 4-7 (high lane) of rows 0-3; u4..u7 the same of rows 4-7.
  _mm256_storeu_ps(out, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(out + outStride, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(out + 2 * outStride, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(out + 3 * outStride, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(out + 4 * outStride, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(out + 5 * outStride, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(out + 6 * outStride, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(out + 7 * outStride, _mm256_permute2f128_ps(u3, u7, 0x31));
}

}  // namespace lanes8
