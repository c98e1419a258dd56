// A CUDA program with two kernels of very different power, run many times (two_kernels.cuh): the ground truth of
// `etok profile` (bench/gpu/profile_check.sh). It prints a checksum of its final state, which must be the same
// with and without profiling. Usage: two-kernels [ITERATIONS (default 20000)]
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "two_kernels.cuh"

using namespace two_kernels;

#define CHECK(call)                                                                        \
  do {                                                                                     \
    cudaError_t e_ = (call);                                                               \
    if (e_ != cudaSuccess) {                                                               \
      std::fprintf(stderr, "two-kernels: %s failed: %s\n", #call, cudaGetErrorString(e_)); \
      return 1;                                                                            \
    }                                                                                      \
  } while (0)

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::atol(argv[1]) : 20000;
  if (iterations <= 0) {
    std::fprintf(stderr, "two-kernels: ITERATIONS must be a positive integer\n");
    return 2;
  }
  int sms = 0;
  CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  std::vector<__half> ha(size_t(kN) * kN), hb(size_t(kN) * kN);
  for (size_t i = 0; i < ha.size(); i++) {
    ha[i] = __float2half(inputValue(i, 1));
    hb[i] = __float2half(inputValue(i, 2));
  }
  std::vector<float> hsrc(kCopyFloats);
  for (int64_t i = 0; i < kCopyFloats; i++) hsrc[i] = inputValue(uint64_t(i), 3);
  __half *a = nullptr, *b = nullptr;
  float *c = nullptr, *src = nullptr, *dst = nullptr;
  CHECK(cudaMalloc(&a, ha.size() * sizeof(__half)));
  CHECK(cudaMalloc(&b, hb.size() * sizeof(__half)));
  CHECK(cudaMalloc(&c, size_t(kN) * kN * sizeof(float)));
  CHECK(cudaMalloc(&src, kCopyFloats * sizeof(float)));
  CHECK(cudaMalloc(&dst, kCopyFloats * sizeof(float)));
  CHECK(cudaMemcpy(a, ha.data(), ha.size() * sizeof(__half), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(b, hb.data(), hb.size() * sizeof(__half), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(src, hsrc.data(), kCopyFloats * sizeof(float), cudaMemcpyHostToDevice));
  CHECK(cudaMemset(c, 0, size_t(kN) * kN * sizeof(float)));
  CHECK(cudaMemset(dst, 0, kCopyFloats * sizeof(float)));

  for (long i = 0; i < iterations; i++) {
    mmaKernel<<<mmaGrid(), mmaBlock()>>>(a, b, c);
    copyKernel<<<copyGrid(sms), copyBlock()>>>(reinterpret_cast<const float4*>(src), reinterpret_cast<float4*>(dst),
                                               kCopyFloats / 4);
  }
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());

  // The final state: C grows by A·B every iteration (exactly, see two_kernels.cuh); dst = src + 1.
  std::vector<float> hc(size_t(kN) * kN), hdst(kCopyFloats);
  CHECK(cudaMemcpy(hc.data(), c, hc.size() * sizeof(float), cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(hdst.data(), dst, hdst.size() * sizeof(float), cudaMemcpyDeviceToHost));
  uint64_t hash = 1469598103934665603ull;  // FNV-1a over C's bytes, then dst's
  for (const std::vector<float>* v : {&hc, &hdst}) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(v->data());
    for (size_t i = 0; i < v->size() * sizeof(float); i++) hash = (hash ^ bytes[i]) * 1099511628211ull;
  }
  double sumC = 0;
  for (float x : hc) sumC += x;
  std::printf("two-kernels: %ld iterations, checksum %016llx, sum(C) %.9e\n", iterations,
              static_cast<unsigned long long>(hash), sumC);
  return 0;
}
