// Read-bandwidth and FMA-peak probes (roofline.h). The bandwidth loop sums 64-bit words with several
// accumulators: cheap enough per byte that memory, not the core, is the limit on any x86-64 or Arm server.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "etok/kernels/attention.h"
#include "etok/kernels/roofline.h"

namespace etok::kernels {

#if defined(ETOK_KERNELS_AVX2)
namespace cpu::avx2 {
double fmaChains(int64_t iterations);  // roofline_avx2.cpp: returns FLOPs done
}
#endif
#if defined(ETOK_KERNELS_AVX512)
namespace cpu::avx512 {
double fmaChains(int64_t iterations);  // roofline_avx512.cpp
}
#endif

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double fmaChainsPortable(int64_t iterations) {
  float a[16];
  for (int i = 0; i < 16; i++) a[i] = 1.0f + i * 1e-3f;
  for (int64_t it = 0; it < iterations; it++)
    for (int i = 0; i < 16; i++) a[i] = a[i] * 0.999999f + 1e-7f;
  volatile float sink = a[0] + a[15];
  (void)sink;
  return 2.0 * 16 * static_cast<double>(iterations);
}

/** Runs body(thread) on `threads` threads started together; returns the wall time of the slowest. */
template <class Body>
double timedParallel(int threads, Body body) {
  std::atomic<int> ready{0};
  std::vector<std::thread> pool;
  double t0 = 0;
  for (int t = 0; t < threads; t++)
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < threads) {
      }
      body(t);
    });
  t0 = now();
  for (auto& th : pool) th.join();
  return now() - t0;
}

}  // namespace

CpuRoofline measureCpuRoofline(int threads, double seconds, double bufferBytes) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // The FMA peak of the vector path the kernels run here, so "% of FMA peak" compares like with like; asked first,
  // so an ETOK_CPU_ISA it cannot honour fails before the probes run.
  const std::string isa = cpuKernelIsa();
  CpuRoofline r;
  const size_t wordsPerThread = static_cast<size_t>(bufferBytes / 8 / threads);
  std::vector<std::vector<uint64_t>> buffers(static_cast<size_t>(threads));
  timedParallel(threads,
                [&](int t) { buffers[t].assign(wordsPerThread, static_cast<uint64_t>(t) + 1); });  // first touch
  std::vector<uint64_t> sinks(static_cast<size_t>(threads) * 8);
  const double end = now() + seconds / 2;
  while (now() < end) {
    const double dt = timedParallel(threads, [&](int t) {
      const uint64_t* p = buffers[t].data();
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (size_t i = 0; i + 4 <= wordsPerThread; i += 4) s0 += p[i], s1 += p[i + 1], s2 += p[i + 2], s3 += p[i + 3];
      sinks[static_cast<size_t>(t) * 8] = s0 + s1 + s2 + s3;
    });
    r.readBytesPerS = std::max(r.readBytesPerS, static_cast<double>(wordsPerThread) * 8 * threads / dt);
  }
  r.isa = isa == "avx512" ? "avx512+fma" : isa == "avx2" ? "avx2+fma" : "portable";
  const int64_t iterations = 20'000'000;
  const double fmaEnd = now() + seconds / 2;
  while (now() < fmaEnd) {
    std::vector<double> flops(static_cast<size_t>(threads));
    const double dt = timedParallel(threads, [&](int t) {
#if defined(ETOK_KERNELS_AVX512)
      if (isa == "avx512") {
        flops[t] = cpu::avx512::fmaChains(iterations / 2);
        return;
      }
#endif
#if defined(ETOK_KERNELS_AVX2)
      if (isa == "avx2") {
        flops[t] = cpu::avx2::fmaChains(iterations);
        return;
      }
#endif
      flops[t] = fmaChainsPortable(iterations / 4);
    });
    double total = 0;
    for (double f : flops) total += f;
    r.fmaFlopsPerS = std::max(r.fmaFlopsPerS, total / dt);
  }
  return r;
}

}  // namespace etok::kernels
