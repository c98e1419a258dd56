// Tensor-core decode whose warps split the tokens, not the head dims (FlashInfer's decode layout, on mma.sync), for
// dense/GQA decode at bf16/f16 with the cache stored at the activation type or quantized (kv-int8, kv-int4, kv-fp8).
// EXPERIMENTAL: compiled everywhere, run only with ETOK_CUDA_PATH=warp until a GPU run has validated it
// (docs/gpu.md).
//
// Why: in the tensor-core decode instance (prefill_mma.cuh, 16 rows × 4 dim slices) each warp owns a quarter of the
// dims, so its partial scores go through shared memory and a block barrier before the softmax, and a tile costs the
// block ~2800 instructions (an estimate read off the code; the tile time measured on an H100 is in
// docs/performance-log.md, 2026-11-26). Here each of the 4 warps streams its own 16-token chunks (chunks c0 + w,
// c0 + w + 4, … of the block's KV split) through its own cp.async ring of STAGES chunks and keeps its own
// online-softmax state: per chunk 16 mma for QK, 16 for PV, no barrier but __syncwarp, ~150 instructions (estimated
// likewise). The 4 states are merged once at the end through shared memory.
// A quantized cache cannot be copied as is (the tile holds activation-type values): each lane loads and
// dequantizes its units in registers (kv_formats.cuh) and stores them into the ring slot, so a warp waits for its
// own loads, and the 12 warps of an SM (3 blocks) are what keeps the memory system busy.
//
// Rows are packed as in prefill_mma.cuh (row = head in group at decode): the 16-row A operand covers 16 heads of one
// kv group; groups of more than 16 heads take more blocks along x.
#pragma once

#include "prefill_mma.cuh"

namespace etok::kernels::cuda {

constexpr int kWarpDecodeWarps = 4, kWarpDecodeChunk = 16;

/** Shared memory: each warp's ring of STAGES (K chunk, V chunk) at the activation type, reused at the end for the
 *  merge ([warp][16 rows][D] accumulators, then [warp][16 rows][m, l]). */
template <int D, int STAGES, class T>
constexpr size_t warpDecodeSharedBytes() {
  constexpr size_t ring = sizeof(T) * kWarpDecodeWarps * STAGES * 2 * kWarpDecodeChunk * (D + 8);
  constexpr size_t merge = sizeof(float) * kWarpDecodeWarps * 16 * (D + 2);
  return ring > merge ? ring : merge;
}

template <StoreFormat A, StoreFormat K, int D, int STAGES>
__global__ void __launch_bounds__(kWarpDecodeWarps * 32, 3) warpDecode(const AttnArgs a) {
  using T = typename Act<A>::T;
  constexpr int W = kWarpDecodeWarps, C = kWarpDecodeChunk;
  constexpr int KS = D / 16;  // QK k-steps
  constexpr int VN = D / 8;   // PV n-tiles
  constexpr int KP = D + 8;   // padded shared row: conflict-free 32-bit fragment loads and ldmatrix
  constexpr int kStageElems = 2 * C * KP;
  constexpr int kUnitsPerLane = C * (D / 8) / 32;
  static_assert(D % 64 == 0 && STAGES >= 2, "shape");

  extern __shared__ __align__(16) uint8_t smem[];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, gid = lane >> 2, tig = lane & 3;
  T* ring = reinterpret_cast<T*>(smem) + warp * STAGES * kStageElems;
  const int bg = blockIdx.y, b = bg / a.groups, g = bg % a.groups;
  const int pr0 = blockIdx.x * 16;
  const PackedRow rowA = packedRow(a, b, g, pr0 + gid);
  const PackedRow rowB = packedRow(a, b, g, pr0 + gid + 8);
  const int64_t kvRowBase = static_cast<int64_t>(bg) * a.kvLen;

  // The block's chunks are those of its KV split; warp w takes every W-th of them, starting at the w-th.
  const int nChunks = (a.kvLen + C - 1) / C;
  const int perSplit = (nChunks + a.splits - 1) / a.splits;
  const int c0 = blockIdx.z * perSplit, c1 = min(nChunks, c0 + perSplit);
  const int myChunks = c1 > c0 + warp ? (c1 - c0 - warp + W - 1) / W : 0;

  uint32_t qf[KS][4];
#pragma unroll
  for (int ks = 0; ks < KS; ks++) {
    const int k0 = ks * 16 + 2 * tig;
    qf[ks][0] = queryPair<A>(a, rowA, k0);
    qf[ks][1] = queryPair<A>(a, rowB, k0);
    qf[ks][2] = queryPair<A>(a, rowA, k0 + 8);
    qf[ks][3] = queryPair<A>(a, rowB, k0 + 8);
  }

  // The i-th chunk of this warp into ring slot i % STAGES. Stored at the activation type: cp.async, one group a
  // chunk (committed even when empty, so group i is chunk i). Quantized: loaded and dequantized now.
  auto issue = [&](int i) {
    if (i < myChunks) {
      const int t0 = (c0 + warp + i * W) * C;
      T* kc = ring + (i % STAGES) * kStageElems;
#pragma unroll
      for (int it = 0; it < kUnitsPerLane; it++) {
        const int idx = lane + it * 32, tok = idx / (D / 8), d0 = (idx % (D / 8)) * 8, t = t0 + tok;
        const bool inside = t < a.kvLen;
        const int64_t row = kvRowBase + (inside ? t : 0);
        if constexpr (K == A) {
          cpAsync16(kc + tok * KP + d0, a.k0.values + row * a.k0.pitch + d0 * sizeof(T), inside ? 16 : 0);
          cpAsync16(kc + (C + tok) * KP + d0, a.v.values + row * a.v.pitch + d0 * sizeof(T), inside ? 16 : 0);
        } else {
          float k[8], v[8];
          if (inside) {  // head dims 64 and 128 are multiples of 32: int4 groups are always full
            Format<K>::template load8<true>(a.k0, row, d0, k);
            Format<K>::template load8<true>(a.v, row, d0, v);
          } else {
#pragma unroll
            for (int e = 0; e < 8; e++) k[e] = v[e] = 0.f;  // finite padding: masked weights are 0
          }
          *reinterpret_cast<uint4*>(kc + tok * KP + d0) = make_uint4(pack2<T>(k[0], k[1]), pack2<T>(k[2], k[3]),
                                                                     pack2<T>(k[4], k[5]), pack2<T>(k[6], k[7]));
          *reinterpret_cast<uint4*>(kc + (C + tok) * KP + d0) = make_uint4(pack2<T>(v[0], v[1]), pack2<T>(v[2], v[3]),
                                                                           pack2<T>(v[4], v[5]), pack2<T>(v[6], v[7]));
        }
      }
    }
    if constexpr (K == A) cpAsyncCommit();
  };

  float o[VN][4];
#pragma unroll
  for (int j = 0; j < VN; j++) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.f;
  float mA = -INFINITY, mB = -INFINITY, lA = 0.f, lB = 0.f;

#pragma unroll
  for (int i = 0; i < STAGES - 1; i++) issue(i);
  for (int i = 0; i < myChunks; i++) {
    if constexpr (K == A) cpAsyncWait<STAGES - 2>();  // this lane's copies of chunk i have landed
    __syncwarp();                                     // and every lane's (or every lane's stores)
    const T* kc = ring + (i % STAGES) * kStageElems;
    const T* vc = kc + C * KP;
    const int t0 = (c0 + warp + i * W) * C;

    float s[2][4];
#pragma unroll
    for (int j = 0; j < 2; j++) {
      s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
      const T* krow = kc + (j * 8 + gid) * KP + 2 * tig;
#pragma unroll
      for (int ks = 0; ks < KS; ks++) mma16816<T>(s[j], qf[ks], lds32(krow + ks * 16), lds32(krow + ks * 16 + 8));
    }
    const float2 c = softmaxStep<2>(a, rowA, rowB, t0 + 2 * tig, s, mA, mB, lA, lB);
    const float cA = c.x, cB = c.y;
    uint32_t pa[4];
    pa[0] = pack2<T>(s[0][0], s[0][1]);
    pa[1] = pack2<T>(s[0][2], s[0][3]);
    pa[2] = pack2<T>(s[1][0], s[1][1]);
    pa[3] = pack2<T>(s[1][2], s[1][3]);
    const T* vrow = vc + (lane & 15) * KP;
#pragma unroll
    for (int j = 0; j < VN; j++) {
      o[j][0] *= cA, o[j][1] *= cA, o[j][2] *= cB, o[j][3] *= cB;
      uint32_t b0, b1;
      ldmatrixX2Trans(vrow + j * 8, b0, b1);
      mma16816<T>(o[j], pa, b0, b1);
    }
    __syncwarp();  // every lane is done with slot i % STAGES before chunk i + STAGES - 1 refills it
    issue(i + STAGES - 1);
  }
  if constexpr (K == A) cpAsyncWaitAll();

  lA += __shfl_xor_sync(0xffffffffu, lA, 1);
  lA += __shfl_xor_sync(0xffffffffu, lA, 2);
  lB += __shfl_xor_sync(0xffffffffu, lB, 1);
  lB += __shfl_xor_sync(0xffffffffu, lB, 2);

  // Merge the W warps' states: M = max m_w, L = Σ 2^(m_w − M) l_w, O = Σ 2^(m_w − M) o_w (a warp that saw no
  // token has m = −inf and drops out; a split whose warps all saw none writes m = −inf, l = 0 for combine).
  __syncthreads();  // every warp is done with its ring
  float* mo = reinterpret_cast<float*>(smem);  // [W][16][D]
  float* ml = mo + W * 16 * D;                   // [W][16][2]
  {
    float* mine = mo + warp * 16 * D;
#pragma unroll
    for (int j = 0; j < VN; j++) {
      const int d = j * 8 + 2 * tig;
      mine[gid * D + d] = o[j][0], mine[gid * D + d + 1] = o[j][1];
      mine[(gid + 8) * D + d] = o[j][2], mine[(gid + 8) * D + d + 1] = o[j][3];
    }
    if (tig == 0) {
      float* st = ml + warp * 32;
      st[gid * 2] = mA, st[gid * 2 + 1] = lA;
      st[(gid + 8) * 2] = mB, st[(gid + 8) * 2 + 1] = lB;
    }
  }
  __syncthreads();
  for (int idx = threadIdx.x; idx < 16 * (D / 2); idx += W * 32) {
    const int r = idx / (D / 2), d = (idx % (D / 2)) * 2;
    const PackedRow row = packedRow(a, b, g, pr0 + r);
    if (!row.valid) continue;
    float M = -INFINITY;
#pragma unroll
    for (int w = 0; w < W; w++) M = fmaxf(M, ml[w * 32 + r * 2]);
    float L = 0.f, x = 0.f, y = 0.f;
#pragma unroll
    for (int w = 0; w < W; w++) {
      const float m = ml[w * 32 + r * 2];
      if (m == -INFINITY) continue;
      const float c = exp2f(m - M);
      L += c * ml[w * 32 + r * 2 + 1];
      x += c * mo[(w * 16 + r) * D + d];
      y += c * mo[(w * 16 + r) * D + d + 1];
    }
    if (a.splits == 1) {
      store2(static_cast<T*>(a.out) + row.qRow * D + d, x / L, y / L);
    } else {
      const int64_t part = row.qRow * a.splits + blockIdx.z;
      *reinterpret_cast<float2*>(a.partO + part * D + d) = make_float2(x, y);
      if (d == 0) a.partML[part * 2] = M, a.partML[part * 2 + 1] = L;
    }
  }
}

}  // namespace etok::kernels::cuda
