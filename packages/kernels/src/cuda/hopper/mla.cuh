// MLA attention on Hopper (sm_90a): decode (rows = heads) and causal prefill (rows = position · heads + head), rank
// 512 + rope 64, on the same machinery as prefill.cuh (bulk copies into a ring of shared stages, mbarriers, a
// producer warpgroup that gives its registers to two compute warpgroups, wgmma with f32 accumulators).
//
// A block owns 64 packed rows and reads each latent tile once for them: 9 SW128 blocks of 64 dims (8 of ckv, 1 of
// kRope). The 64 × 512 output accumulator is 128 registers a thread per warpgroup, so the two compute warpgroups
// split it: warpgroup c owns value dims [256c, 256c + 256). The scores are split the same way, by key dims:
// warpgroup c computes the partial S over ckv dims [256c, 256c + 256) and rope dims [32c, 32c + 32) (18 k-steps
// each), the halves are swapped through shared memory (named barriers 2, 3, 4), and both warpgroups run the
// identical softmax on the identical sum, so each holds the same P for its P·V (N = 256, values = ckv read
// MN-major out of the same stage). Decode splits the tiles over blocks (grid z) and combine.cuh merges them.
#pragma once

#include "convert.cuh"
#include "layout.cuh"
#include "primitives.cuh"
#include "softmax.cuh"
#include "tile_maps.h"
#include "tile_walk.cuh"
#include "wgmma_ops.cuh"

namespace etok::kernels::cuda::hopper {

template <StoreFormat A, StoreFormat KV, int NTOK, int STAGES, int RAW>
struct MlaPlan {
  static constexpr bool kQuantized = KV != A;
  static constexpr int kThreads = 384, kRows = 64, kRank = 512, kRope = 64, kDims = kRank + kRope, kConverters = 96;
  static constexpr int kTile = tileBytes(NTOK, kDims);
  static constexpr int kRawCkvRow = rawRowBytes<KV>(kRank), kRawRopeRow = rawRowBytes<KV>(kRope);
  static constexpr int kRawCkvPiece = rawPieceBytes<KV>(kRank), kRawRopePiece = rawPieceBytes<KV>(kRope);
  static constexpr int kRawCkv = kQuantized ? NTOK * kRawCkvRow : 0, kRawRope = kQuantized ? NTOK * kRawRopeRow : 0;
  static constexpr int kQ = 0;
  static constexpr int kK = kQ + tileBytes(kRows, kDims);
  static constexpr int kExchange = kK + STAGES * kTile;  // [warpgroup][NTOK/2][128] partial scores
  static constexpr int kRaw = kExchange + 2 * (NTOK / 2) * 128 * 4;
  static constexpr int kBarriers = kRaw + RAW * (kRawCkv + kRawRope);
  static constexpr int kScratch = kBarriers + 8 * (2 * STAGES + 2 * RAW);
  static constexpr int kList = kScratch + 4 * (kThreads / 32);
  static constexpr size_t kFixedShared = kList + 1024;
  // Registers: 384·168 at launch; a copy-only producer keeps 24 (128·24 + 256·240), a converting one 40 (+ 232).
  static constexpr int kProducerRegs = kQuantized ? 40 : 24, kConsumerRegs = kQuantized ? 232 : 240;
  static_assert(!kQuantized || RAW > 0, "quantized caches need raw stages");
  static_assert(NTOK % 16 == 0 && NTOK <= 64, "tile shape");
  static_assert(kRawRope % 128 == 0 || !kQuantized, "raw planes stay 128-byte aligned");
};

/** The k-step (16 of the 576 key dims) that warpgroup c issues j-th: ckv dims 256c + 16j, then rope dims. */
__host__ __device__ constexpr int mlaKeyStep(int c, int j) { return j < 16 ? 16 * c + j : 32 + 2 * c + (j - 16); }

template <StoreFormat A, StoreFormat KV, int NTOK, int STAGES, int RAW, bool OVERLAP>
__global__ void __launch_bounds__(384, 1) hopperMla(const AttnArgs a, const __grid_constant__ TileMaps maps) {
#if ETOK_HOPPER_DEVICE
  using P = MlaPlan<A, KV, NTOK, STAGES, RAW>;
  using T = typename Act<A>::T;
  extern __shared__ uint8_t smemRaw[];
  uint8_t* smem = smemRaw + ((1024 - (smemAddress(smemRaw) & 1023)) & 1023);
  uint64_t* full = reinterpret_cast<uint64_t*>(smem + P::kBarriers);
  uint64_t* empty = full + STAGES;
  uint64_t* rawFull = empty + STAGES;
  uint64_t* rawEmpty = rawFull + RAW;
  int* scratch = reinterpret_cast<int*>(smem + P::kScratch);
  int* list = reinterpret_cast<int*>(smem + P::kList);
  float* exchange = reinterpret_cast<float*>(smem + P::kExchange);

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, wg = warp >> 2;
  const int b = blockIdx.y;
  const int rowTile = a.prefill ? gridDim.x - 1 - blockIdx.x : blockIdx.x;
  const RowBlock rb = rowBlock(a, b, 0, rowTile * P::kRows, P::kRows);

  if (threadIdx.x == 0) {
    for (int s = 0; s < STAGES; s++) {
      mbarInit(&full[s], P::kQuantized ? P::kConverters : 1);
      mbarInit(&empty[s], 8);
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
          uint8_t* tile = smem + P::kK + s * P::kTile;
          mbarWait(&empty[s], ((i / STAGES) & 1) ^ 1);
          mbarArriveExpectTx(&full[s], P::kTile);
#pragma unroll
          for (int blk = 0; blk < P::kRank / 64; blk++)
            tmaLoad3d(tile + blk * blockBytes(NTOK), &maps.k, &full[s], 64 * blk, t0, b);
          tmaLoad3d(tile + (P::kRank / 64) * blockBytes(NTOK), &maps.v, &full[s], 0, t0, b);
        } else {
          const int r = i % RAW;
          uint8_t* raw = smem + P::kRaw + r * (P::kRawCkv + P::kRawRope);
          mbarWait(&rawEmpty[r], ((i / RAW) & 1) ^ 1);
          mbarArriveExpectTx(&rawFull[r], P::kRawCkv + P::kRawRope);
#pragma unroll
          for (int x = 0; x < P::kRawCkvRow; x += P::kRawCkvPiece)
            tmaLoad3d(raw + x * NTOK, &maps.k, &rawFull[r], x, t0, b);
          tmaLoad3d(raw + P::kRawCkv, &maps.v, &rawFull[r], 0, t0, b);
        }
      }
    } else if constexpr (P::kQuantized) {
      const int worker = threadIdx.x - 32;
      const int64_t rowBase = static_cast<int64_t>(b) * a.kvLen;
      for (int i = 0; i < n; i++) {
        const int t0 = range.tile(range.begin + i) * NTOK, r = i % RAW, s = i % STAGES;
        mbarWait(&rawFull[r], (i / RAW) & 1);
        mbarWait(&empty[s], ((i / STAGES) & 1) ^ 1);
        const uint8_t* raw = smem + P::kRaw + r * (P::kRawCkv + P::kRawRope);
        uint8_t* tile = smem + P::kK + s * P::kTile;
        convertPlane<KV, T, NTOK, P::kRank>(raw, a.k0, rowBase, t0, a.kvLen, tile, 0, worker, P::kConverters);
        convertPlane<KV, T, NTOK, P::kRope>(raw + P::kRawCkv, a.k1, rowBase, t0, a.kvLen, tile, P::kRank / 8, worker,
                                            P::kConverters);
        fenceProxyAsync();
        mbarArrive(&full[s]);
        mbarArrive(&rawEmpty[r]);
      }
    }
    return;
  }

  registersUp<P::kConsumerRegs>();
  const int c = wg - 1, tw = threadIdx.x - 128 * wg, wq = tw >> 5, gid = lane >> 2;

  // Q (qNope ‖ qRope) of the 64 rows into the SW128 tile, by both compute warpgroups.
  for (int idx = threadIdx.x - 128; idx < 64 * (P::kDims / 8); idx += 256) {
    const int row = idx / (P::kDims / 8), chunk = idx % (P::kDims / 8);
    const PackedRow q = packedRow(a, b, 0, rb.pr0 + row);
    uint4 v = make_uint4(0u, 0u, 0u, 0u);
    if (q.valid) {
      const bool nope = chunk < P::kRank / 8;
      const Plane& plane = nope ? a.q0 : a.q1;
      v = __ldg(reinterpret_cast<const uint4*>(plane.values + q.qRow * plane.pitch) +
                (nope ? chunk : chunk - P::kRank / 8));
    }
    *reinterpret_cast<uint4*>(smem + P::kQ + chunkOffset(P::kRows, row, chunk)) = v;
  }
  fenceProxyAsync();
  namedSync(1, 256);

  RowPair rp = rowPair(a, b, 0, rb.pr0 + 16 * wq + gid);
  const int warpVisible = packedRow(a, b, 0, rb.pr0 + 16 * wq).visible;
  const uint32_t qBase = smemAddress(smem + P::kQ), kBase = smemAddress(smem + P::kK);
  const uint32_t mine = smemAddress(exchange + c * (NTOK / 2) * 128 + tw);
  const uint32_t theirs = smemAddress(exchange + (1 - c) * (NTOK / 2) * 128 + tw);

  float o[128];
#pragma unroll
  for (int i = 0; i < 128; i++) o[i] = 0.f;
  float s[NTOK / 2];
  uint32_t p[NTOK / 16][4];

  auto issueScores = [&](int stage) {
#pragma unroll
    for (int j = 0; j < 18; j++) {
      const int ks = mlaKeyStep(c, j);
      WgmmaSS<T, NTOK>::template run<0>(s, kMajorDescriptor(qBase, P::kRows, 0, ks),
                                        kMajorDescriptor(kBase + stage * P::kTile, NTOK, 0, ks), j > 0);
    }
  };
  auto issueValues = [&](int stage) {
#pragma unroll
    for (int kk = 0; kk < NTOK / 16; kk++)
      WgmmaRS<T, 256>::template run<1>(o, p[kk], mnMajorDescriptor(kBase + stage * P::kTile, NTOK, 256 * c, kk), 1);
  };
  auto fenceWeights = [&] {
#pragma unroll
    for (int kk = 0; kk < NTOK / 16; kk++) fenceRegisters(p[kk]);
  };
  // The other warpgroup's partial scores of the same tile. Barrier 2: both halves written; 3 + c: the other
  // warpgroup has read my previous half (so I may overwrite it).
  auto swapHalves = [&](int i) {
    if (i > 0) namedSync(3 + c, 256);
#pragma unroll
    for (int k = 0; k < NTOK / 2; k++) stsF32(mine + k * 512, s[k]);
    namedSync(2, 256);
#pragma unroll
    for (int k = 0; k < NTOK / 2; k++) s[k] += ldsF32(theirs + k * 512);
    if (i < n - 1) namedArrive(3 + (1 - c), 256);
  };
  auto masked = [&](int t0) { return a.sparse || t0 + NTOK > warpVisible; };

  if (OVERLAP) {
    // S_i = Q·K_iᵀ in flight together with O += P_{i−1}·V_{i−1}; the softmax of S_i runs while P·V is still going.
    if (n > 0) {
      int t0 = range.tile(range.begin) * NTOK;
      mbarWait(&full[0], 0);
      wgmmaFence();
      issueScores(0);
      wgmmaCommit();
      wgmmaWait<0>();
      fenceRegisters(s);
      swapHalves(0);
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
        swapHalves(i);
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
  } else {
    // P_{i−1}·V_{i−1} runs while S_i is issued and computed; the softmax runs with no MMA in flight, so the weights
    // and the softmax temporaries are never live together (fewer registers than the overlapped order).
    for (int i = 0; i < n; i++) {
      const int st = i % STAGES, t0 = range.tile(range.begin + i) * NTOK;
      mbarWait(&full[st], (i / STAGES) & 1);
      fenceRegisters(o);
      fenceWeights();
      wgmmaFence();
      issueScores(st);
      wgmmaCommit();
      if (i > 0) {
        wgmmaWait<1>();
        fenceRegisters(o);
        fenceWeights();
        if (lane == 0) mbarArrive(&empty[(i - 1) % STAGES]);
      }
      wgmmaWait<0>();
      fenceRegisters(s);
      swapHalves(i);
      const float2 cf = softmaxTile<NTOK>(a, rp, s, t0, masked(t0));
      rescale(o, cf);
      packWeights<T, NTOK>(s, p);
      fenceRegisters(o);
      fenceWeights();
      wgmmaFence();
      issueValues(st);
      wgmmaCommit();
    }
    if (n > 0) {
      wgmmaWait<0>();
      fenceRegisters(o);
      fenceWeights();
      if (lane == 0) mbarArrive(&empty[(n - 1) % STAGES]);
    }
  }
  finishSums(rp);
  storeRows<T, 256>(a, b, 0, rp, o, 256 * c, c == 0);
#endif
}

}  // namespace etok::kernels::cuda::hopper
