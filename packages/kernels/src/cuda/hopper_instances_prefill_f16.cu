// Hopper dense/GQA prefill instances at f16 (hopper/prefill.cuh).
#include "hopper/instances.cuh"

namespace etok::kernels::cuda::hopper {
std::vector<HopperKernel> prefillInstancesF16() {
  std::vector<HopperKernel> out;
  densePrefillInstances<StoreFormat::F16>(out);
  return out;
}
}  // namespace etok::kernels::cuda::hopper
