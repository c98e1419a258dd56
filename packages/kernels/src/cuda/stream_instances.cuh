// Instance table of the stream decode (decode_stream.cuh) for one activation type: every KV format × every variant
// of kStreamVariants (dispatch_policy.h); included by stream_instances_bf16.cu and stream_instances_f16.cu so the
// two halves compile in parallel.
#pragma once

#include "decode_stream.cuh"
#include "kernels.h"

namespace etok::kernels::cuda {

template <StoreFormat A, StoreFormat K, int V>
KernelRef streamRef() {
  constexpr StreamVariant v = kStreamVariants[V];
  KernelRef k;
  k.fn = reinterpret_cast<const void*>(&streamDecode<A, K, v.warps, v.chunk, v.stages>);
  k.threads = v.warps * 32;
  k.sharedBytes = streamSharedBytes<A, K, kStreamHeadDim, v.warps, v.chunk, v.stages>();
  k.rowsPerBlock = 16;
  k.tokensPerTile = v.warps * v.chunk;  // one chunk for each warp
  k.name = v.name;
  return k;
}

template <StoreFormat A, StoreFormat K>
KernelRef streamForVariant(int variant) {
  static_assert(kStreamVariantCount == 6, "one case per variant");
  switch (variant) {
    case 0: return streamRef<A, K, 0>();
    case 1: return streamRef<A, K, 1>();
    case 2: return streamRef<A, K, 2>();
    case 3: return streamRef<A, K, 3>();
    case 4: return streamRef<A, K, 4>();
    case 5: return streamRef<A, K, 5>();
  }
  return {};
}

template <StoreFormat A>
KernelRef streamFor(StoreFormat kv, int variant) {
  switch (kv) {
    case StoreFormat::Int8: return streamForVariant<A, StoreFormat::Int8>(variant);
    case StoreFormat::Int4: return streamForVariant<A, StoreFormat::Int4>(variant);
    case StoreFormat::Fp8: return streamForVariant<A, StoreFormat::Fp8>(variant);
    default: return kv == A ? streamForVariant<A, A>(variant) : KernelRef{};
  }
}

}  // namespace etok::kernels::cuda
