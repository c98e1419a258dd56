// Instances of the SIMT split-KV kernel (every activation × KV format, dense and mla), the combine step and the
// block selection. Head chunk HC and units per lane (UK key, UV value) are fixed per family:
//   dense: HC 4, UK = UV = 1 (head dims ≤ 256 over ≤ 32 lanes) · mla: HC 2, UK 3, UV 2 (rank + ropeDim ≤ 768,
//   rank ≤ 512 over 32 lanes).
#include "combine.cuh"
#include "decode_split_kv.cuh"
#include "kernels.h"
#include "sparse_select.cuh"

namespace etok::kernels::cuda {

namespace {

template <StoreFormat A, StoreFormat K>
KernelRef simtFor(bool mla) {
  KernelRef k;
  k.threads = kSimtWarps * 32;
  if (mla) {
    k.fn = reinterpret_cast<const void*>(&simtAttention<A, K, 3, 2, 2>);
    k.headsPerBlock = 2, k.keyUnitsPerLane = 3, k.valueUnitsPerLane = 2;
    k.name = "simt-split-kv<mla, 2 heads/block>";
  } else {
    k.fn = reinterpret_cast<const void*>(&simtAttention<A, K, 1, 1, 4>);
    k.headsPerBlock = 4, k.keyUnitsPerLane = 1, k.valueUnitsPerLane = 1;
    k.name = "simt-split-kv<dense, 4 heads/block>";
  }
  return k;
}

template <StoreFormat A>
KernelRef simtForKv(StoreFormat kv, bool mla) {
  switch (kv) {
    case StoreFormat::Int8: return simtFor<A, StoreFormat::Int8>(mla);
    case StoreFormat::Int4: return simtFor<A, StoreFormat::Int4>(mla);
    case StoreFormat::Fp8: return simtFor<A, StoreFormat::Fp8>(mla);
    default: return simtFor<A, A>(mla);  // the cache at the activation dtype
  }
}

}  // namespace

KernelRef simtKernel(StoreFormat act, StoreFormat kv, bool mla) {
  switch (act) {
    case StoreFormat::BF16: return simtForKv<StoreFormat::BF16>(kv, mla);
    case StoreFormat::F16: return simtForKv<StoreFormat::F16>(kv, mla);
    default: return simtForKv<StoreFormat::F32>(kv, mla);
  }
}

KernelRef combineKernel(StoreFormat act) {
  KernelRef k;
  k.threads = 128;
  k.name = "combine";
  k.fn = act == StoreFormat::BF16  ? reinterpret_cast<const void*>(&combineSplits<StoreFormat::BF16>)
         : act == StoreFormat::F16 ? reinterpret_cast<const void*>(&combineSplits<StoreFormat::F16>)
                                   : reinterpret_cast<const void*>(&combineSplits<StoreFormat::F32>);
  return k;
}

KernelRef selectKernel(StoreFormat act) {
  KernelRef k;
  k.threads = kSelectThreads;
  k.name = "nsa-select";
  k.fn = act == StoreFormat::BF16  ? reinterpret_cast<const void*>(&selectBlocks<StoreFormat::BF16>)
         : act == StoreFormat::F16 ? reinterpret_cast<const void*>(&selectBlocks<StoreFormat::F16>)
                                   : reinterpret_cast<const void*>(&selectBlocks<StoreFormat::F32>);
  return k;
}

}  // namespace etok::kernels::cuda
