// Instance tables of the Hopper kernels: each *_instances_*.cu file compiles one family and lists it, so the host
// (hopper_launch.cu) never includes device templates and the families build in parallel.
#pragma once

#include <vector>

#include "../kernels.h"
#include "mla.cuh"
#include "prefill.cuh"

namespace etok::kernels::cuda::hopper {

template <StoreFormat A, StoreFormat KV, int D, int CWG, int NTOK, int STAGES, int RAW>
HopperKernel prefillInstance(const char* config) {
  using P = PrefillPlan<A, KV, D, CWG, NTOK, STAGES, RAW>;
  HopperKernel k;
  k.fn = reinterpret_cast<const void*>(&hopperPrefill<A, KV, D, CWG, NTOK, STAGES, RAW>);
  k.act = static_cast<int>(A), k.kv = static_cast<int>(KV), k.headDim = D;
  k.threads = P::kThreads;
  k.fixedShared = P::kFixedShared;
  k.rowsPerBlock = P::kRows;
  k.tokensPerTile = NTOK;
  k.stages = STAGES;
  k.rawStages = RAW;
  k.rawPieceBytes = P::kRawPiece;
  k.config = config;
  k.name = "hopper prefill (wgmma + bulk copies)";
  return k;
}

template <StoreFormat A, StoreFormat KV, int NTOK, int STAGES, int RAW, bool OVERLAP>
HopperKernel mlaInstance(const char* config) {
  using P = MlaPlan<A, KV, NTOK, STAGES, RAW>;
  HopperKernel k;
  k.fn = reinterpret_cast<const void*>(&hopperMla<A, KV, NTOK, STAGES, RAW, OVERLAP>);
  k.mla = true;
  k.act = static_cast<int>(A), k.kv = static_cast<int>(KV), k.headDim = P::kDims;
  k.threads = P::kThreads;
  k.fixedShared = P::kFixedShared;
  k.rowsPerBlock = P::kRows;
  k.tokensPerTile = NTOK;
  k.stages = STAGES;
  k.rawStages = RAW;
  k.rawPieceBytes = P::kRawCkvPiece;
  k.rawRopePieceBytes = P::kRawRopePiece;
  k.config = config;
  k.name = "hopper mla (wgmma + bulk copies)";
  return k;
}

/** Every dense instance of one activation type: per head dim and KV format the default first (c2-t128-s2: two
 *  compute warpgroups, 128-token tiles, 2 stages; quantized caches add one raw stage). */
template <StoreFormat A> void densePrefillInstances(std::vector<HopperKernel>& out) {
  constexpr StoreFormat I8 = StoreFormat::Int8, I4 = StoreFormat::Int4, F8 = StoreFormat::Fp8;
  out.push_back(prefillInstance<A, A, 128, 2, 128, 2, 0>("c2-t128-s2"));
  out.push_back(prefillInstance<A, A, 64, 2, 128, 2, 0>("c2-t128-s2"));
  out.push_back(prefillInstance<A, I8, 128, 2, 128, 2, 1>("c2-t128-s2-r1"));
  out.push_back(prefillInstance<A, I8, 64, 2, 128, 2, 1>("c2-t128-s2-r1"));
  out.push_back(prefillInstance<A, F8, 128, 2, 128, 2, 1>("c2-t128-s2-r1"));
  out.push_back(prefillInstance<A, F8, 64, 2, 128, 2, 1>("c2-t128-s2-r1"));
  out.push_back(prefillInstance<A, I4, 128, 2, 128, 2, 1>("c2-t128-s2-r1"));
  out.push_back(prefillInstance<A, I4, 64, 2, 128, 2, 1>("c2-t128-s2-r1"));
}

}  // namespace etok::kernels::cuda::hopper
