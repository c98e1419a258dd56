// Causal prefill for dense / GQA attention on Hopper (sm_90a), FlashAttention-3's design: warpgroup MMA (wgmma) with
// f32 accumulators, K/V tiles brought by the bulk tensor copy engine into a ring of shared stages completing on
// mbarriers, and warp specialisation.
//
// Block: warpgroup 0 produces, warpgroups 1..CWG compute. Rows are packed query rows of one kv group (row = query
// position · groupHeads + head, as in prefill_mma.cuh), 64 per compute warpgroup. Warp 0 of the producer issues the
// copies (one lane); under a kv-* format warps 1-3 convert each raw tile into the activation-type stage
// (convert.cuh). The producer gives up registers (setmaxnreg) to the compute warpgroups.
// Compute warpgroup, per tile i: S_i = Q·K_iᵀ (SS wgmma, K-major) is issued together with O += P_{i−1}·V_{i−1}
// (RS wgmma: the weights stay in registers, V is read MN-major); the softmax of S_i runs while the P·V product is
// still in flight, then O is rescaled and P_i packed. A stage is released (empty barrier) when its P·V is done.
// Masks: only tiles that reach past the warp's first row's visibility test causality per element; under `sparse`
// the block walks the union list of tile_walk.cuh and each row tests its own selection bits.
#pragma once

#include "convert.cuh"
#include "layout.cuh"
#include "primitives.cuh"
#include "softmax.cuh"
#include "tile_maps.h"
#include "tile_walk.cuh"
#include "wgmma_ops.cuh"

namespace etok::kernels::cuda::hopper {

/** Shared-memory plan of one prefill instance (offsets from a 1024-aligned base). */
template <StoreFormat A, StoreFormat KV, int D, int CWG, int NTOK, int STAGES, int RAW>
struct PrefillPlan {
  static constexpr bool kQuantized = KV != A;
  static constexpr int kThreads = 128 * (1 + CWG), kRows = 64 * CWG, kConverters = 96;
  static constexpr int kRawRow = rawRowBytes<KV>(D), kRawPiece = rawPieceBytes<KV>(D);
  static constexpr int kRawPlane = kQuantized ? NTOK * kRawRow : 0;
  static constexpr int kTile = tileBytes(NTOK, D);
  static constexpr int kQ = 0;
  static constexpr int kK = kQ + tileBytes(kRows, D);
  static constexpr int kV = kK + STAGES * kTile;
  static constexpr int kRaw = kV + STAGES * kTile;  // RAW × (raw K plane, raw V plane)
  static constexpr int kBarriers = kRaw + RAW * 2 * kRawPlane;
  static constexpr int kScratch = kBarriers + 8 * (2 * STAGES + 2 * RAW);
  static constexpr int kList = kScratch + 4 * (kThreads / 32);
  static constexpr size_t kFixedShared = kList + 1024;  // + alignment slack of the dynamic base
  // Registers: the launch bound gives 65536 / threads / minBlocks; the producer drops to 40, the compute
  // warpgroups take the rest (CWG 2: 128·40 + 256·232 = 384·168).
  static constexpr int kMinBlocks = CWG == 1 ? 2 : 1;
  static constexpr int kProducerRegs = 40, kConsumerRegs = CWG == 1 ? 216 : 232;
  static_assert(!kQuantized || RAW > 0, "quantized caches need raw stages");
  static_assert(D % 64 == 0 && NTOK % 16 == 0 && NTOK <= 128, "tile shape");
};

template <StoreFormat A, StoreFormat KV, int D, int CWG, int NTOK, int STAGES, int RAW>
__global__ void __launch_bounds__(128 * (1 + CWG), (CWG == 1 ? 2 : 1))
    hopperPrefill(const AttnArgs a, const __grid_constant__ TileMaps maps) {
#if ETOK_HOPPER_DEVICE
  using P = PrefillPlan<A, KV, D, CWG, NTOK, STAGES, RAW>;
  using T = typename Act<A>::T;
  extern __shared__ uint8_t smemRaw[];
  uint8_t* smem = smemRaw + ((1024 - (smemAddress(smemRaw) & 1023)) & 1023);
  uint64_t* full = reinterpret_cast<uint64_t*>(smem + P::kBarriers);
  uint64_t* empty = full + STAGES;
  uint64_t* rawFull = empty + STAGES;
  uint64_t* rawEmpty = rawFull + RAW;
  int* scratch = reinterpret_cast<int*>(smem + P::kScratch);
  int* list = reinterpret_cast<int*>(smem + P::kList);

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, wg = warp >> 2;
  const int bg = blockIdx.y, b = bg / a.groups, g = bg % a.groups;
  const int rowTile = gridDim.x - 1 - blockIdx.x;  // causal: the longest rows start first
  const RowBlock rb = rowBlock(a, b, g, rowTile * P::kRows, P::kRows);

  if (threadIdx.x == 0) {
    for (int s = 0; s < STAGES; s++) {
      mbarInit(&full[s], P::kQuantized ? P::kConverters : 1);
      mbarInit(&empty[s], 4 * CWG);
    }
    for (int r = 0; r < RAW; r++) {
      mbarInit(&rawFull[r], 1);
      mbarInit(&rawEmpty[r], P::kConverters);
    }
    fenceBarrierInit();
  }
  const int count = buildTileSequence<NTOK, P::kThreads>(a, rb, list, scratch);
  __syncthreads();
  const TileRange range = splitRange(count, blockIdx.z, a.splits, a.sparse ? list : nullptr);
  const int n = range.count();

  if (wg == 0) {
    registersDown<P::kProducerRegs>();
    if (warp == 0) {
      if (lane != 0) return;
      tmaPrefetch(&maps.k);
      tmaPrefetch(&maps.v);
      for (int i = 0; i < n; i++) {
        const int t0 = range.tile(range.begin + i) * NTOK;
        if constexpr (!P::kQuantized) {
          const int s = i % STAGES;
          mbarWait(&empty[s], ((i / STAGES) & 1) ^ 1);
          mbarArriveExpectTx(&full[s], 2 * P::kTile);
#pragma unroll
          for (int blk = 0; blk < D / 64; blk++) {
            tmaLoad3d(smem + P::kK + s * P::kTile + blk * blockBytes(NTOK), &maps.k, &full[s], blk * 64, t0, bg);
            tmaLoad3d(smem + P::kV + s * P::kTile + blk * blockBytes(NTOK), &maps.v, &full[s], blk * 64, t0, bg);
          }
        } else {
          const int r = i % RAW;
          mbarWait(&rawEmpty[r], ((i / RAW) & 1) ^ 1);
          mbarArriveExpectTx(&rawFull[r], 2 * P::kRawPlane);
          uint8_t* raw = smem + P::kRaw + r * 2 * P::kRawPlane;
#pragma unroll
          for (int x = 0; x < P::kRawRow; x += P::kRawPiece) {
            tmaLoad3d(raw + x * NTOK, &maps.k, &rawFull[r], x, t0, bg);
            tmaLoad3d(raw + P::kRawPlane + x * NTOK, &maps.v, &rawFull[r], x, t0, bg);
          }
        }
      }
    } else if constexpr (P::kQuantized) {
      const int worker = threadIdx.x - 32;
      const int64_t rowBase = static_cast<int64_t>(bg) * a.kvLen;
      for (int i = 0; i < n; i++) {
        const int t0 = range.tile(range.begin + i) * NTOK, r = i % RAW, s = i % STAGES;
        mbarWait(&rawFull[r], (i / RAW) & 1);
        mbarWait(&empty[s], ((i / STAGES) & 1) ^ 1);
        const uint8_t* raw = smem + P::kRaw + r * 2 * P::kRawPlane;
        convertPlane<KV, T, NTOK, D>(raw, a.k0, rowBase, t0, a.kvLen, smem + P::kK + s * P::kTile, 0, worker,
                                     P::kConverters);
        convertPlane<KV, T, NTOK, D>(raw + P::kRawPlane, a.v, rowBase, t0, a.kvLen, smem + P::kV + s * P::kTile, 0,
                                     worker, P::kConverters);
        fenceProxyAsync();
        mbarArrive(&full[s]);
        mbarArrive(&rawEmpty[r]);
      }
    }
    return;
  }

  registersUp<P::kConsumerRegs>();
  const int c = wg - 1, tw = threadIdx.x - 128 * wg, wq = tw >> 5, gid = lane >> 2;

  // Q: this warpgroup's 64 packed rows into the SW128 tile (zeros for rows past the end), then published to wgmma.
  for (int idx = tw; idx < 64 * (D / 8); idx += 128) {
    const int row = idx / (D / 8), chunk = idx % (D / 8);
    const PackedRow q = packedRow(a, b, g, rb.pr0 + 64 * c + row);
    uint4 v = make_uint4(0u, 0u, 0u, 0u);
    if (q.valid) v = __ldg(reinterpret_cast<const uint4*>(a.q0.values + q.qRow * a.q0.pitch) + chunk);
    *reinterpret_cast<uint4*>(smem + P::kQ + chunkOffset(P::kRows, 64 * c + row, chunk)) = v;
  }
  fenceProxyAsync();
  namedSync(1 + c, 128);

  RowPair rp = rowPair(a, b, g, rb.pr0 + 64 * c + 16 * wq + gid);
  const int warpVisible = packedRow(a, b, g, rb.pr0 + 64 * c + 16 * wq).visible;  // the warp's smallest
  const uint32_t qBase = smemAddress(smem + P::kQ), kBase = smemAddress(smem + P::kK),
                 vBase = smemAddress(smem + P::kV);

  float o[D / 2];
#pragma unroll
  for (int i = 0; i < D / 2; i++) o[i] = 0.f;
  float s[NTOK / 2];
  uint32_t p[NTOK / 16][4];

  auto issueScores = [&](int stage) {
#pragma unroll
    for (int ks = 0; ks < D / 16; ks++)
      WgmmaSS<T, NTOK>::template run<0>(s, kMajorDescriptor(qBase, P::kRows, 64 * c, ks),
                                        kMajorDescriptor(kBase + stage * P::kTile, NTOK, 0, ks), ks > 0);
  };
  auto issueValues = [&](int stage) {
#pragma unroll
    for (int kk = 0; kk < NTOK / 16; kk++)
      WgmmaRS<T, D>::template run<1>(o, p[kk], mnMajorDescriptor(vBase + stage * P::kTile, NTOK, 0, kk), 1);
  };
  auto fenceWeights = [&] {
#pragma unroll
    for (int kk = 0; kk < NTOK / 16; kk++) fenceRegisters(p[kk]);
  };
  auto masked = [&](int t0) { return a.sparse || t0 + NTOK > warpVisible; };

  if (n > 0) {
    int t0 = range.tile(range.begin) * NTOK;
    mbarWait(&full[0], 0);
    wgmmaFence();
    issueScores(0);
    wgmmaCommit();
    wgmmaWait<0>();
    fenceRegisters(s);
    softmaxTile<NTOK>(a, rp, s, t0, masked(t0));
    packWeights<T, NTOK>(s, p);
    for (int i = 1; i < n; i++) {
      const int st = i % STAGES, prev = (i - 1) % STAGES;
      t0 = range.tile(range.begin + i) * NTOK;
      mbarWait(&full[st], (i / STAGES) & 1);
      fenceRegisters(o);
      fenceWeights();
      wgmmaFence();
      issueScores(st);
      wgmmaCommit();
      issueValues(prev);
      wgmmaCommit();
      wgmmaWait<1>();
      fenceRegisters(s);
      const float2 cf = softmaxTile<NTOK>(a, rp, s, t0, masked(t0));
      wgmmaWait<0>();
      fenceRegisters(o);
      fenceWeights();
      if (lane == 0) mbarArrive(&empty[prev]);
      rescale(o, cf);
      packWeights<T, NTOK>(s, p);
    }
    const int last = (n - 1) % STAGES;
    fenceRegisters(o);
    fenceWeights();
    wgmmaFence();
    issueValues(last);
    wgmmaCommit();
    wgmmaWait<0>();
    fenceRegisters(o);
    fenceWeights();
    if (lane == 0) mbarArrive(&empty[last]);
  }
  finishSums(rp);
  storeRows<T, D>(a, b, g, rp, o, 0, true);
#endif
}

}  // namespace etok::kernels::cuda::hopper
