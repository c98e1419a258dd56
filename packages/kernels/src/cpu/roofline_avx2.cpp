// FMA-peak probe for AVX2 + FMA: 10 independent 8-lane chains, enough to cover FMA latency × throughput on
// current x86 cores (4 cycles × 2 pipes). Compiled with -mavx2 -mfma like core_avx2.cpp.
#include <immintrin.h>

#include <cstdint>

namespace etok::kernels::cpu::avx2 {

double fmaChains(int64_t iterations) {
  __m256 a[10];
  for (int i = 0; i < 10; i++) a[i] = _mm256_set1_ps(1.0f + static_cast<float>(i) * 1e-3f);
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iterations; it++)
    for (int i = 0; i < 10; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
  __m256 s = a[0];
  for (int i = 1; i < 10; i++) s = _mm256_add_ps(s, a[i]);
  volatile float sink = _mm256_cvtss_f32(s);
  (void)sink;
  return 2.0 * 8 * 10 * static_cast<double>(iterations);
}

}  // namespace etok::kernels::cpu::avx2
