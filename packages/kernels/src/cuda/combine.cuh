// Combine step of split-KV attention: merges the (m, l, o) partials of every split of one (batch, head, row) into
// the normalised output at the activation dtype. One block per output row, threads over the value dims; splits
// that saw no token carry m = -inf, l = 0 and drop out.
#pragma once

#include "common.cuh"

namespace etok::kernels::cuda {

template <StoreFormat A>
__global__ void __launch_bounds__(128) combineSplits(const AttnArgs a) {
  using T = typename Act<A>::T;
  const int64_t outRow = blockIdx.x;
  const float* ml = a.partML + outRow * a.splits * 2;
  float mm = -INFINITY;
  for (int s = 0; s < a.splits; s++) mm = fmaxf(mm, ml[2 * s]);
  float ll = 0.f;
  for (int s = 0; s < a.splits; s++)
    if (ml[2 * s + 1] > 0.f) ll += ml[2 * s + 1] * exp2f(ml[2 * s] - mm);
  const float inv = 1.f / ll;
  for (int d = threadIdx.x; d < a.dv; d += blockDim.x) {
    float o = 0.f;
    for (int s = 0; s < a.splits; s++)
      if (ml[2 * s + 1] > 0.f) o += a.partO[(outRow * a.splits + s) * a.dv + d] * exp2f(ml[2 * s] - mm);
    store1(static_cast<T*>(a.out) + outRow * a.dv + d, o * inv);
  }
}

}  // namespace etok::kernels::cuda
