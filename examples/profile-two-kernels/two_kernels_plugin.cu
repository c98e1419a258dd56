// The two kernels of two_kernels.cu as etok plugins (include/etok/plugin.h), so `etok bench --plugin` measures
// each one alone, back to back, with the program's sizes and launch configuration: built twice, with
// TWO_KERNELS_PLUGIN_MMA or TWO_KERNELS_PLUGIN_COPY, into libtwo_kernels_mma.so and libtwo_kernels_copy.so. The
// plugins make their own inputs (no reference variant): the problem etok passes only sets the cost's token count.
#include <cuda_runtime.h>

#include <cstdio>
#include <vector>

#include "etok/plugin.h"
#include "two_kernels.cuh"

using namespace two_kernels;

namespace {

struct Instance {
  __half *a = nullptr, *b = nullptr;
  float *c = nullptr, *src = nullptr, *dst = nullptr;
  int sms = 0;
};

int fail(char* error, size_t size, const char* what, cudaError_t e) {
  std::snprintf(error, size, "%s: %s", what, cudaGetErrorString(e));
  return 1;
}

void teardown(void* p) {
  auto* s = static_cast<Instance*>(p);
  if (!s) return;
  cudaFree(s->a);
  cudaFree(s->b);
  cudaFree(s->c);
  cudaFree(s->src);
  cudaFree(s->dst);
  delete s;
}

int setup(const etok_problem*, int device, const etok_tensor*, size_t, void** instance, char* error, size_t size) {
  if (device < 0) return std::snprintf(error, size, "CUDA only"), 1;
  cudaError_t e = cudaSetDevice(device);
  if (e != cudaSuccess) return fail(error, size, "cudaSetDevice", e);
  auto* s = new Instance();
  cudaDeviceGetAttribute(&s->sms, cudaDevAttrMultiProcessorCount, device);
#ifdef TWO_KERNELS_PLUGIN_MMA
  std::vector<__half> h(size_t(kN) * kN);
  if ((e = cudaMalloc(&s->a, h.size() * sizeof(__half))) != cudaSuccess ||
      (e = cudaMalloc(&s->b, h.size() * sizeof(__half))) != cudaSuccess ||
      (e = cudaMalloc(&s->c, h.size() * sizeof(float))) != cudaSuccess) {
    teardown(s);
    return fail(error, size, "cudaMalloc", e);
  }
  for (size_t i = 0; i < h.size(); i++) h[i] = __float2half(inputValue(i, 1));
  cudaMemcpy(s->a, h.data(), h.size() * sizeof(__half), cudaMemcpyHostToDevice);
  for (size_t i = 0; i < h.size(); i++) h[i] = __float2half(inputValue(i, 2));
  cudaMemcpy(s->b, h.data(), h.size() * sizeof(__half), cudaMemcpyHostToDevice);
  cudaMemset(s->c, 0, h.size() * sizeof(float));
#else
  std::vector<float> h(kCopyFloats);
  if ((e = cudaMalloc(&s->src, kCopyFloats * sizeof(float))) != cudaSuccess ||
      (e = cudaMalloc(&s->dst, kCopyFloats * sizeof(float))) != cudaSuccess) {
    teardown(s);
    return fail(error, size, "cudaMalloc", e);
  }
  for (int64_t i = 0; i < kCopyFloats; i++) h[i] = inputValue(uint64_t(i), 3);
  cudaMemcpy(s->src, h.data(), kCopyFloats * sizeof(float), cudaMemcpyHostToDevice);
#endif
  if ((e = cudaDeviceSynchronize()) != cudaSuccess) {
    teardown(s);
    return fail(error, size, "setup", e);
  }
  *instance = s;
  return 0;
}

int run(void* p, void* stream, char* error, size_t size) {
  auto* s = static_cast<Instance*>(p);
  auto st = static_cast<cudaStream_t>(stream);
#ifdef TWO_KERNELS_PLUGIN_MMA
  mmaKernel<<<mmaGrid(), mmaBlock(), 0, st>>>(s->a, s->b, s->c);
#else
  copyKernel<<<copyGrid(s->sms), copyBlock(), 0, st>>>(reinterpret_cast<const float4*>(s->src),
                                                       reinterpret_cast<float4*>(s->dst), kCopyFloats / 4);
#endif
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? 0 : fail(error, size, "launch", e);
}

int cost(const etok_problem*, etok_cost* c, char*, size_t) {
#ifdef TWO_KERNELS_PLUGIN_MMA
  c->flops = 2.0 * kN * kN * kN;
  c->bytes = 2.0 * kN * kN * sizeof(__half) + 2.0 * kN * kN * sizeof(float);
#else
  c->flops = double(kCopyFloats);
  c->bytes = 2.0 * kCopyFloats * sizeof(float);
#endif
  c->tokens = 1;
  return 0;
}

#ifdef TWO_KERNELS_PLUGIN_MMA
constexpr const char* kName = "two-kernels-mma";
constexpr const char* kDescription = "wmma C += A·B, 2048³ fp16 → fp32 (examples/profile-two-kernels)";
#else
constexpr const char* kName = "two-kernels-copy";
constexpr const char* kDescription = "dst = src + 1 over 256 MiB (examples/profile-two-kernels)";
#endif

const etok_plugin descriptor = {
    ETOK_PLUGIN_ABI_VERSION,
    sizeof(etok_plugin),
    kName,
    kDescription,
    nullptr,
    ETOK_DEVICE_CUDA,
    setup,
    run,
    cost,
    nullptr,
    teardown,
};

}  // namespace

extern "C" const etok_plugin* etok_plugin_descriptor(void) { return &descriptor; }
