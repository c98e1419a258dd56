// Tensor-core instances at f16 (every KV format); see prefill_mma.cuh.
#include "mma_instances.cuh"

namespace etok::kernels::cuda {
KernelRef mmaKernelF16(StoreFormat kv, MmaShape shape) { return mmaFor<StoreFormat::F16>(kv, shape); }
KernelRef warpDecodeF16(StoreFormat kv, int headDim) { return warpDecodeFor<StoreFormat::F16>(kv, headDim); }
}  // namespace etok::kernels::cuda
