// Instance table of the tensor-core kernel for one activation type; included by mma_instances_bf16.cu and
// mma_instances_f16.cu so the two halves compile in parallel.
#pragma once

#include "kernels.h"
#include "decode_warp.cuh"
#include "prefill_mma.cuh"

namespace etok::kernels::cuda {

template <StoreFormat A, StoreFormat K, int DK, int DV, int RT, int DS, int NTOK, bool MLA>
KernelRef mmaRef(const char* name) {
  KernelRef k;
  k.fn = reinterpret_cast<const void*>(&mmaAttention<A, K, DK, DV, RT, DS, NTOK, MLA>);
  k.threads = RT * DS * 32;
  k.sharedBytes = mmaSharedBytes<DK, DV, RT, DS, NTOK, MLA, typename Act<A>::T, kAsyncTiles<A, K, MLA>>();
  k.rowsPerBlock = 16 * RT;
  k.tokensPerTile = NTOK;
  k.name = name;
  return k;
}

template <StoreFormat A, StoreFormat K>
KernelRef mmaForShape(MmaShape shape) {
  switch (shape) {
    case MmaShape::Dense64Decode: return mmaRef<A, K, 64, 64, 1, 4, 64, false>("mma<d64, 16 rows x 4 dim slices>");
    case MmaShape::Dense64Prefill: return mmaRef<A, K, 64, 64, 4, 1, 64, false>("mma<d64, 64 rows>");
    case MmaShape::Dense128Decode: return mmaRef<A, K, 128, 128, 1, 4, 64, false>("mma<d128, 16 rows x 4 dim slices>");
    case MmaShape::Dense128Prefill: return mmaRef<A, K, 128, 128, 4, 1, 64, false>("mma<d128, 64 rows>");
    case MmaShape::Mla512x64: return mmaRef<A, K, 576, 512, 4, 4, 16, true>("mma<mla 512+64, 64 heads x 4 dim slices>");
  }
  return {};
}

template <StoreFormat A>
KernelRef mmaFor(StoreFormat kv, MmaShape shape) {
  switch (kv) {
    case StoreFormat::Int8: return mmaForShape<A, StoreFormat::Int8>(shape);
    case StoreFormat::Int4: return mmaForShape<A, StoreFormat::Int4>(shape);
    case StoreFormat::Fp8: return mmaForShape<A, StoreFormat::Fp8>(shape);
    default: return mmaForShape<A, A>(shape);
  }
}

/** The token-split decode (decode_warp.cuh); 3 chunks a warp in its ring. */
template <StoreFormat A, StoreFormat K, int D>
KernelRef warpRef(const char* name) {
  constexpr int kStages = 3;
  KernelRef k;
  k.fn = reinterpret_cast<const void*>(&warpDecode<A, K, D, kStages>);
  k.threads = kWarpDecodeWarps * 32;
  k.sharedBytes = warpDecodeSharedBytes<D, kStages, typename Act<A>::T>();
  k.rowsPerBlock = 16;
  k.tokensPerTile = kWarpDecodeWarps * kWarpDecodeChunk;  // one chunk for each warp
  k.name = name;
  return k;
}

template <StoreFormat A, StoreFormat K>
KernelRef warpDecodeForKv(int headDim) {
  switch (headDim) {
    case 64: return warpRef<A, K, 64>("mma-warp<d64, 16 rows, 4 warps x 16-token chunks, 3 stages>");
    case 128: return warpRef<A, K, 128>("mma-warp<d128, 16 rows, 4 warps x 16-token chunks, 3 stages>");
  }
  return {};
}

template <StoreFormat A>
KernelRef warpDecodeFor(StoreFormat kv, int headDim) {
  switch (kv) {
    case StoreFormat::Int8: return warpDecodeForKv<A, StoreFormat::Int8>(headDim);
    case StoreFormat::Int4: return warpDecodeForKv<A, StoreFormat::Int4>(headDim);
    case StoreFormat::Fp8: return warpDecodeForKv<A, StoreFormat::Fp8>(headDim);
    default: return kv == A ? warpDecodeForKv<A, A>(headDim) : KernelRef{};
  }
}

}  // namespace etok::kernels::cuda
