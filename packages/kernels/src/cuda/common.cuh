// Shared by every CUDA kernel of etok: the argument block one attention launch reads, the storage types of the
// activation dtypes, and error checking. Host-visible so dispatch.cu fills the same struct the kernels read.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "../common/quantize.h"
#include "etok/kernels/errors.h"

namespace etok::kernels::cuda {

inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw CodedError("CUDA_ERROR", std::string(what) + ": " + cudaGetErrorString(err));
}

/** The C++ type a float activation format is stored as on the device. */
template <StoreFormat A> struct Act;
template <> struct Act<StoreFormat::F32> {
  using T = float;
};
template <> struct Act<StoreFormat::BF16> {
  using T = __nv_bfloat16;
};
template <> struct Act<StoreFormat::F16> {
  using T = __half;
};

/**
 * One stored plane of row vectors on the device, as quantize.h describes a VectorStore, with each row padded to a
 * 16-byte pitch so that every 8-value unit can be fetched with one aligned vector load.
 */
struct Plane {
  const uint8_t* values = nullptr;  // rows × pitch bytes
  const uint16_t* scales = nullptr;  // rows × groups f16 bit patterns (quantized formats only)
  int64_t pitch = 0;                 // bytes per row, a multiple of 16
  int groups = 0;                    // scales per row
  int dim = 0;                       // values per row
};

/** Everything one attention launch reads (both the SIMT and the tensor-core kernels). */
struct AttnArgs {
  // Queries at the activation dtype, row (b·heads + h)·rows + r. Under mla q0 = qNope, q1 = qRope; else q1.dim = 0.
  Plane q0, q1;
  // Keys: dense row (b·kvHeads + g)·kvLen + t; mla row b·kvLen + t with k0 = ckv, k1 = kRope. v: dense values
  // (mla reads the values out of k0).
  Plane k0, k1, v;
  int batch = 0, heads = 0, groups = 0, groupHeads = 0, rows = 0, qLen = 0, kvLen = 0;
  int dk = 0, dv = 0;  // key dims (headDim, or rank + ropeDim) and value dims (headDim, or rank)
  int splits = 1;      // KV splits: 1 writes `out` directly, more write partials for the combine kernel
  float scaleLog2 = 0;  // softmax scale × log2(e): scores live in the log2 domain
  bool prefill = false, mla = false, sparse = false;
  int lanesPerToken = 32;  // SIMT kernel: lanes sharing one token (a power of two)
  // NSA selection per (b·groups + g)·rows + r: bit mask over blocks and the ascending list of selected blocks.
  int blockSize = 64, maskWords = 0, listCap = 0;
  const uint32_t* selMask = nullptr;
  const int* selList = nullptr;
  const int* selCount = nullptr;
  // Stream decode (decode_stream.cuh) only: the K and V scales again, per sequence (b·kvHeads + g) padded to
  // scaleSeqPitch tokens (a multiple of 64), so that every 16-token chunk's scales start 16-byte aligned.
  const uint16_t* kScalesSeq = nullptr;
  const uint16_t* vScalesSeq = nullptr;
  int scaleSeqPitch = 0;
  void* out = nullptr;       // [batch, heads, rows, dv] at the activation dtype
  float* partO = nullptr;    // [(b·heads + h)·rows + r][splits][dv], unnormalised
  float* partML = nullptr;   // [(b·heads + h)·rows + r][splits][2]: running max (log2 domain) and sum
};

/** Visible KV tokens of query row r (causal prefill) or all of them (decode). */
__device__ __forceinline__ int visibleOf(const AttnArgs& a, int r) {
  return a.prefill ? a.kvLen - a.qLen + r + 1 : a.kvLen;
}

__device__ __forceinline__ bool blockSelected(const AttnArgs& a, int selRow, int block) {
  return (__ldg(a.selMask + static_cast<int64_t>(selRow) * a.maskWords + (block >> 5)) >> (block & 31)) & 1u;
}

/** Writes two consecutive output values at the activation type. */
template <class T> __device__ __forceinline__ void store2(T* p, float x, float y);
template <> __device__ __forceinline__ void store2<float>(float* p, float x, float y) {
  *reinterpret_cast<float2*>(p) = make_float2(x, y);
}
template <> __device__ __forceinline__ void store2<__nv_bfloat16>(__nv_bfloat16* p, float x, float y) {
  *reinterpret_cast<__nv_bfloat162*>(p) = __floats2bfloat162_rn(x, y);
}
template <> __device__ __forceinline__ void store2<__half>(__half* p, float x, float y) {
  *reinterpret_cast<__half2*>(p) = __floats2half2_rn(x, y);
}
template <class T> __device__ __forceinline__ void store1(T* p, float x);
template <> __device__ __forceinline__ void store1<float>(float* p, float x) { *p = x; }
template <> __device__ __forceinline__ void store1<__nv_bfloat16>(__nv_bfloat16* p, float x) {
  *p = __float2bfloat16_rn(x);
}
template <> __device__ __forceinline__ void store1<__half>(__half* p, float x) { *p = __float2half_rn(x); }

}  // namespace etok::kernels::cuda
