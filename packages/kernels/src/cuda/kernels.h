// The table between dispatch.cu (host) and the kernel instances (*_instances.cu): each instance file compiles one
// family of template instances and hands back launchable function pointers with their launch shape, so the host
// code never includes device templates and the instance files build in parallel.
#pragma once

#include <cstddef>

#include "../common/quantize.h"

namespace etok::kernels::cuda {

/** A launchable kernel taking (AttnArgs) or (AttnArgs, SelectArgs) by value, with its launch shape. */
struct KernelRef {
  const void* fn = nullptr;
  int threads = 0;
  size_t sharedBytes = 0;     // dynamic shared memory (0 where it depends on the problem: SIMT, select)
  int rowsPerBlock = 0;       // mma: packed rows per block
  int tokensPerTile = 0;      // mma: KV tile
  int headsPerBlock = 0;      // SIMT: query heads per block (HC)
  int keyUnitsPerLane = 0;    // SIMT: UK, UV (8-value units of the key and value rows per lane)
  int valueUnitsPerLane = 0;
  const char* name = "";
};

/** Tensor-core instances: dense head dims 64 and 128 (decode: 16 rows × 4 dim slices; prefill: 64 rows), mla with
 *  rank 512 and ropeDim 64 (64 heads × 4 dim slices, decode and prefill). */
enum class MmaShape { Dense64Decode, Dense64Prefill, Dense128Decode, Dense128Prefill, Mla512x64 };

/** Shared memory of the SIMT kernel's cross-warp merge: [warp][head][dv] accumulators and [warp][head][2] states. */
inline size_t simtSharedBytes(const KernelRef& k, int dv) {
  return sizeof(float) * static_cast<size_t>(k.threads / 32) * k.headsPerBlock * (dv + 2);
}

KernelRef simtKernel(StoreFormat act, StoreFormat kv, bool mla);
KernelRef combineKernel(StoreFormat act);
KernelRef selectKernel(StoreFormat act);
KernelRef mmaKernelBf16(StoreFormat kv, MmaShape shape);
KernelRef mmaKernelF16(StoreFormat kv, MmaShape shape);
/** The token-split tensor-core decode (decode_warp.cuh): dense/GQA, K/V at the activation type or kv-int8/int4/fp8,
 *  head dim 64 or 128; an empty ref otherwise. Experimental: only ETOK_CUDA_PATH=warp selects it. */
KernelRef warpDecodeBf16(StoreFormat kv, int headDim);
KernelRef warpDecodeF16(StoreFormat kv, int headDim);
/** The stream decode (decode_stream.cuh): head dim 128, K/V at the activation type or kv-int8/int4/fp8, variant an
 *  index into kStreamVariants (dispatch_policy.h). Experimental: only ETOK_CUDA_PATH=stream selects it. */
KernelRef streamDecodeBf16(StoreFormat kv, int variant);
KernelRef streamDecodeF16(StoreFormat kv, int variant);

}  // namespace etok::kernels::cuda
