// Hopper (sm_90a) building blocks of the warp-specialised kernels: mbarriers, the bulk tensor copy (TMA), proxy
// fences, warpgroup MMA fences and groups, named barriers and register reallocation (setmaxnreg). Everything here
// compiles to PTX that exists only on sm_90a; kernels call it only inside `#if ETOK_HOPPER_DEVICE` so the sm_80 pass
// of the same translation unit sees none of it.
#pragma once

#include <cuda.h>  // CUtensorMap (a 128-byte opaque struct; the driver API itself is reached through cudart)
#include <cuda_runtime.h>

#include <cstdint>

#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 900) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define ETOK_HOPPER_DEVICE 1
#else
#define ETOK_HOPPER_DEVICE 0
#endif

namespace etok::kernels::cuda::hopper {

#if ETOK_HOPPER_DEVICE

__device__ __forceinline__ uint32_t smemAddress(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// ---- mbarrier (a 64-bit shared-memory word: arrival count + transaction bytes + phase bit)

__device__ __forceinline__ void mbarInit(uint64_t* bar, uint32_t arrivals) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smemAddress(bar)), "r"(arrivals) : "memory");
}
/** Makes the initialisations visible to the async proxy (TMA completes on these barriers). */
__device__ __forceinline__ void fenceBarrierInit() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}

__device__ __forceinline__ void mbarArrive(uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smemAddress(bar)) : "memory");
}
/** One arrival that also announces `bytes` the bulk copies will complete on this barrier's current phase. */
__device__ __forceinline__ void mbarArriveExpectTx(uint64_t* bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smemAddress(bar)), "r"(bytes)
               : "memory");
}
/** Waits until the phase of parity `parity` has completed. A fresh barrier is in phase 0, so waiting on parity 1
 *  returns at once: producers start their "slot is free" waits on parity 1. */
__device__ __forceinline__ void mbarWait(uint64_t* bar, uint32_t parity) {
  asm volatile(
      "{\n.reg .pred done;\nWAIT:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra WAIT;\n}\n" ::"r"(smemAddress(bar)),
      "r"(parity)
      : "memory");
}

// ---- bulk tensor copy global → shared, completing on an mbarrier (tensor map in kernel-parameter space)

__device__ __forceinline__ void tmaPrefetch(const CUtensorMap* map) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(map)) : "memory");
}
__device__ __forceinline__ void tmaLoad3d(void* dst, const CUtensorMap* map, uint64_t* bar, int c0, int c1, int c2) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4, %5}], [%2];\n" ::
          "r"(smemAddress(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(smemAddress(bar)), "r"(c0), "r"(c1), "r"(c2)
      : "memory");
}

/** 32-bit shared-memory accesses by shared address (one register for the address, not a 64-bit pointer). */
__device__ __forceinline__ void stsF32(uint32_t address, float x) {
  asm volatile("st.shared.f32 [%0], %1;\n" ::"r"(address), "f"(x) : "memory");
}
__device__ __forceinline__ float ldsF32(uint32_t address) {
  float x;
  asm volatile("ld.shared.f32 %0, [%1];\n" : "=f"(x) : "r"(address) : "memory");
  return x;
}

// ---- fences

/** Orders this thread's ordinary shared-memory stores before later reads by the async proxy (wgmma operands). */
__device__ __forceinline__ void fenceProxyAsync() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

__device__ __forceinline__ void wgmmaFence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmmaCommit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void wgmmaWait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
/** Keeps the compiler from moving reads or writes of accumulator registers across wgmma issue and wait. */
template <int N> __device__ __forceinline__ void fenceRegisters(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; i++) asm volatile("" : "+f"(r[i])::"memory");
}
template <int N> __device__ __forceinline__ void fenceRegisters(uint32_t (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; i++) asm volatile("" : "+r"(r[i])::"memory");
}

// ---- named barriers (ids 1..15; 0 is __syncthreads) and register reallocation

__device__ __forceinline__ void namedSync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void namedArrive(int id, int threads) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
template <int R> __device__ __forceinline__ void registersDown() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(R));
}
template <int R> __device__ __forceinline__ void registersUp() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(R));
}

#endif  // ETOK_HOPPER_DEVICE

}  // namespace etok::kernels::cuda::hopper
