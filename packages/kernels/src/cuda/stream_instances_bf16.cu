// Stream decode instances at bf16 (every KV format and variant); see decode_stream.cuh.
#include "stream_instances.cuh"

namespace etok::kernels::cuda {
KernelRef streamDecodeBf16(StoreFormat kv, int variant) { return streamFor<StoreFormat::BF16>(kv, variant); }
}  // namespace etok::kernels::cuda
