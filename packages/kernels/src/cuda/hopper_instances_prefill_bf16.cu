// Hopper dense/GQA prefill instances at bf16 (hopper/prefill.cuh), with the tile-shape candidates the sweep
// (bench/gpu/sweep_hopper.py) times against the default.
#include "hopper/instances.cuh"

namespace etok::kernels::cuda::hopper {
std::vector<HopperKernel> prefillInstancesBf16() {
  constexpr StoreFormat B = StoreFormat::BF16;
  std::vector<HopperKernel> out;
  densePrefillInstances<B>(out);
  out.push_back(prefillInstance<B, B, 128, 2, 96, 3, 0>("c2-t96-s3"));
  out.push_back(prefillInstance<B, B, 128, 2, 64, 4, 0>("c2-t64-s4"));
  out.push_back(prefillInstance<B, B, 128, 1, 64, 3, 0>("c1-t64-s3"));
  out.push_back(prefillInstance<B, StoreFormat::Int8, 128, 2, 96, 2, 2>("c2-t96-s2-r2"));
  out.push_back(prefillInstance<B, StoreFormat::Fp8, 128, 2, 96, 2, 2>("c2-t96-s2-r2"));
  return out;
}
}  // namespace etok::kernels::cuda::hopper
