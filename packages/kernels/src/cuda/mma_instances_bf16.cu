// Tensor-core instances at bf16 (every KV format); see prefill_mma.cuh.
#include "mma_instances.cuh"

namespace etok::kernels::cuda {
KernelRef mmaKernelBf16(StoreFormat kv, MmaShape shape) { return mmaFor<StoreFormat::BF16>(kv, shape); }
KernelRef warpDecodeBf16(StoreFormat kv, int headDim) { return warpDecodeFor<StoreFormat::BF16>(kv, headDim); }
}  // namespace etok::kernels::cuda
