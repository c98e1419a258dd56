// Hopper MLA instances (hopper/mla.cuh), decode and prefill, bf16 and f16, every KV format; per KV format the
// default first. t32-s3-o: 32-token tiles, 3 stages, S·V overlapped (the only order that fits the registers at 32
// tokens); t48-s2: 48-token tiles, P·V overlapped with the next S only; quantized: 2 converted + 2 raw stages.
#include "hopper/instances.cuh"

namespace etok::kernels::cuda::hopper {
namespace {
template <StoreFormat A> void mlaInstances(std::vector<HopperKernel>& out) {
  out.push_back(mlaInstance<A, A, 32, 3, 0, true>("t32-s3-o"));
  out.push_back(mlaInstance<A, StoreFormat::Int8, 32, 2, 2, false>("t32-s2-r2"));
  out.push_back(mlaInstance<A, StoreFormat::Fp8, 32, 2, 2, false>("t32-s2-r2"));
  out.push_back(mlaInstance<A, StoreFormat::Int4, 32, 2, 2, false>("t32-s2-r2"));
}
}  // namespace

std::vector<HopperKernel> mlaInstances() {
  constexpr StoreFormat B = StoreFormat::BF16;
  std::vector<HopperKernel> out;
  mlaInstances<B>(out);
  mlaInstances<StoreFormat::F16>(out);
  out.push_back(mlaInstance<B, B, 48, 2, 0, false>("t48-s2"));
  out.push_back(mlaInstance<B, B, 32, 2, 0, true>("t32-s2-o"));
  out.push_back(mlaInstance<B, StoreFormat::Fp8, 32, 2, 3, false>("t32-s2-r3"));
  out.push_back(mlaInstance<B, StoreFormat::Int8, 32, 2, 3, false>("t32-s2-r3"));
  return out;
}
}  // namespace etok::kernels::cuda::hopper
