// FMA-peak probe for AVX-512: 12 independent 16-lane chains (4 cycles × 2 pipes on cores with two 512-bit FMA
// units, with room to spare; cores that split a 512-bit FMA in two run it at the AVX2 rate, which this then
// measures). Compiled with the flags of core_avx512.cpp.
#include <immintrin.h>

#include <cstdint>

namespace etok::kernels::cpu::avx512 {

double fmaChains(int64_t iterations) {
  __m512 a[12];
  for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps(1.0f + static_cast<float>(i) * 1e-3f);
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iterations; it++)
    for (int i = 0; i < 12; i++) a[i] = _mm512_fmadd_ps(a[i], m, c);
  __m512 s = a[0];
  for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, a[i]);
  volatile float sink = _mm512_reduce_add_ps(s);
  (void)sink;
  return 2.0 * 16 * 12 * static_cast<double>(iterations);
}

}  // namespace etok::kernels::cpu::avx512
