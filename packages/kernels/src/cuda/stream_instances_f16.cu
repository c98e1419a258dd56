// Stream decode instances at f16 (every KV format and variant); see decode_stream.cuh.
#include "stream_instances.cuh"

namespace etok::kernels::cuda {
KernelRef streamDecodeF16(StoreFormat kv, int variant) { return streamFor<StoreFormat::F16>(kv, variant); }
}  // namespace etok::kernels::cuda
