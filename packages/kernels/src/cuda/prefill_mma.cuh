// Tensor-core attention (FlashAttention-2 style, mma.sync m16n8k16 with f32 accumulators) at bf16/f16: causal
// prefill for dense/GQA and mla, and the mla decode kernel (its 16..128 heads are the rows of the tile).
//
// Rows are packed query rows of one kv group: packed row pr = r · groupHeads + head-in-group, so GQA heads sharing
// a KV head share every K/V tile (FlashInfer's head-group packing), and under mla all heads share the latent tile.
// Grid: x = packed-row tile of 16·RT rows, y = batch × kv group, z = KV split. The block has RT × DS warps: warp
// (rt, cs) owns rows rt·16.. of the tile and the cs-th slice of the key dims (QK) and of the value dims (PV). With
// DS > 1 the partial scores of the DS slices are summed through shared memory, so wide heads (mla: 576 key dims,
// 512 value dims) are split across warps instead of across blocks and the latent tile is read once per block.
// Per KV tile of NTOK tokens: every thread loads 8-value units (dequantized in registers by kv_formats.cuh) and
// stores them at the activation type into padded shared rows; S = Q·Kᵀ (Q fragments stay in registers), causal /
// length / NSA-selection mask, online softmax in the log2 domain, P re-packed as the A operand in registers, and
// O += P·V with V fragments from ldmatrix.trans. Under mla V is the first rank dims of the key tile itself.
//
// K/V stored at the activation type (bf16/f16 caches, not mla, not sparse) skip the registers: tiles are copied
// with cp.async into two shared stages, and tile i + 1 is in flight while tile i is computed: loaded and computed
// in turn, each block left the memory system idle most of the time (docs/performance-log.md, 2026-11-26).
#pragma once

#include "kv_formats.cuh"

namespace etok::kernels::cuda {

template <class T> __device__ __forceinline__ uint32_t pack2(float x, float y);
template <> __device__ __forceinline__ uint32_t pack2<__nv_bfloat16>(float x, float y) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(x, y);
  return *reinterpret_cast<const uint32_t*>(&v);
}
template <> __device__ __forceinline__ uint32_t pack2<__half>(float x, float y) {
  const __half2 v = __floats2half2_rn(x, y);
  return *reinterpret_cast<const uint32_t*>(&v);
}

/** D += A·B for one m16n8k16 tile, f32 accumulators. */
template <class T>
__device__ __forceinline__ void mma16816(float* d, const uint32_t* a, uint32_t b0, uint32_t b1);
template <>
__device__ __forceinline__ void mma16816<__nv_bfloat16>(float* d, const uint32_t* a, uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template <>
__device__ __forceinline__ void mma16816<__half>(float* d, const uint32_t* a, uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/** B fragments (k = 16 tokens, n = 8 value dims) of a row-major [token][dim] shared tile: ldmatrix .x2 .trans. */
__device__ __forceinline__ void ldmatrixX2Trans(const void* rowAddress, uint32_t& b0, uint32_t& b1) {
  const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(rowAddress));
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n" : "=r"(b0), "=r"(b1) : "r"(addr));
}

__device__ __forceinline__ uint32_t lds32(const void* p) { return *reinterpret_cast<const uint32_t*>(p); }

/** 16 bytes global → shared without registers; `srcBytes` 0 writes 16 zero bytes (padding past kvLen). */
__device__ __forceinline__ void cpAsync16(void* dst, const void* src, int srcBytes) {
  const uint32_t d = static_cast<uint32_t>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(srcBytes) : "memory");
}
__device__ __forceinline__ void cpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void cpAsyncWaitAll() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }
/** Waits until at most N of this thread's committed copy groups are still in flight. */
template <int N> __device__ __forceinline__ void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

/** Whether an instance pipelines its K/V tiles with cp.async: the cache is stored at the activation type (no
 *  dequantization on the way) and keys and values are separate tiles (not mla). */
template <StoreFormat A, StoreFormat K, bool MLA> constexpr bool kAsyncTiles = K == A && !MLA;

/** Shared memory of one instance: K tile, V tile (not under mla), the DS-slice score reduction buffer, and under
 *  mla the query tile (its 576-dim fragments would not fit in registers beside a 16 × 128 accumulator at 512
 *  threads: ptxas spilled ~600 bytes a thread; from shared memory they cost 4 lds32 per k-step). */
template <int DK, int DV, int RT, int DS, int NTOK, bool MLA, class T, bool ASYNC>
constexpr size_t mmaSharedBytes() {
  return (ASYNC ? 2 : 1) * (sizeof(T) * NTOK * (DK + 8) + (MLA ? 0 : sizeof(T) * NTOK * (DV + 8))) +
         (DS > 1 ? sizeof(float) * RT * DS * 16 * NTOK : 0) + (MLA ? sizeof(T) * 16 * RT * (DK + 8) : 0);
}

/** One packed row of the tile: where its query lives and which tokens it may see. */
struct PackedRow {
  bool valid;
  int r, head, visible, selRow;
  int64_t qRow;
};

__device__ __forceinline__ PackedRow packedRow(const AttnArgs& a, int b, int g, int pr) {
  PackedRow row;
  row.valid = pr < a.rows * a.groupHeads;
  const int prc = row.valid ? pr : 0;
  row.r = prc / a.groupHeads;
  row.head = g * a.groupHeads + prc % a.groupHeads;
  row.visible = row.valid ? visibleOf(a, row.r) : 0;
  row.selRow = (b * a.groups + g) * a.rows + row.r;
  row.qRow = (static_cast<int64_t>(b) * a.heads + row.head) * a.rows + row.r;
  return row;
}

/** Two activation values of a query row at dims d, d + 1 (d even), as the packed A-operand register. */
template <StoreFormat A>
__device__ __forceinline__ uint32_t queryPair(const AttnArgs& a, const PackedRow& row, int d) {
  if (!row.valid) return 0u;
  // Select fields, not a reference to one of two kernel-parameter structs (that forces a local-memory copy).
  const bool first = d < a.q0.dim;
  const uint8_t* values = first ? a.q0.values : a.q1.values;
  const int64_t pitch = first ? a.q0.pitch : a.q1.pitch;
  const int dd = first ? d : d - a.q0.dim;
  return __ldg(reinterpret_cast<const uint32_t*>(values + row.qRow * pitch) + (dd >> 1));
}

__device__ __forceinline__ bool tokenAllowed(const AttnArgs& a, const PackedRow& row, int t) {
  return t < row.visible && (!a.sparse || blockSelected(a, row.selRow, t / a.blockSize));
}

/** Whether any token of [t0, t0 + n) is allowed for the row (NSA tile skipping). */
__device__ __forceinline__ bool tileAllowed(const AttnArgs& a, const PackedRow& row, int t0, int n) {
  const int last = min(t0 + n, row.visible) - 1;
  if (last < t0) return false;
  if (!a.sparse) return true;
  for (int blk = t0 / a.blockSize; blk <= last / a.blockSize; blk++)
    if (blockSelected(a, row.selRow, blk)) return true;
  return false;
}

/** Dequantizes tokens [t0, t0 + NTOK) of one plane pair into a padded shared tile at the activation type. */
template <StoreFormat K, class T, int D, int NTOK, int THREADS, bool KEYS>
__device__ __forceinline__ void loadTile(const AttnArgs& a, T* tile, int64_t rowBase, int t0) {
  constexpr int kUnits = D / 8, kPitch = D + 8, kIters = (NTOK * kUnits + THREADS - 1) / THREADS;
  // Unrolled with compile-time trip count so that all of a thread's loads of the tile are in flight at once
  // (except at 512 threads, the mla instance, where the 128-register cap leaves no room: ptxas spilled).
  constexpr int kUnroll = THREADS >= 512 ? 1 : kIters;
#pragma unroll kUnroll
  for (int it = 0; it < kIters; it++) {
    const int idx = threadIdx.x + it * THREADS;
    if (NTOK * kUnits % THREADS != 0 && idx >= NTOK * kUnits) break;
    const int tok = idx / kUnits, d0 = (idx % kUnits) * 8, t = t0 + tok;
    float x[8];
    if (t < a.kvLen) {
      // Every instance's dims (64, 128, 512 + 64) are multiples of 32: int4 groups are always full.
      if (KEYS) loadKey8<K, true>(a, rowBase + t, d0, x);
      else Format<K>::template load8<true>(a.v, rowBase + t, d0, x);
    } else {
#pragma unroll
      for (int e = 0; e < 8; e++) x[e] = 0.f;  // finite padding: masked weights are 0 and 0·pad must stay 0
    }
    uint4 packed;
    packed.x = pack2<T>(x[0], x[1]), packed.y = pack2<T>(x[2], x[3]);
    packed.z = pack2<T>(x[4], x[5]), packed.w = pack2<T>(x[6], x[7]);
    *reinterpret_cast<uint4*>(tile + tok * kPitch + d0) = packed;
  }
}

/** Copies tokens [t0, t0 + NTOK) of a plane stored at the activation type into a padded shared tile with cp.async
 *  (one 16-byte copy per 8-value unit; tokens past kvLen are zero-filled). The caller commits and waits. */
template <class T, int D, int NTOK, int THREADS>
__device__ __forceinline__ void copyTileAsync(const Plane& p, int kvLen, T* tile, int64_t rowBase, int t0) {
  constexpr int kUnits = D / 8, kPitch = D + 8, kIters = (NTOK * kUnits + THREADS - 1) / THREADS;
#pragma unroll
  for (int it = 0; it < kIters; it++) {
    const int idx = threadIdx.x + it * THREADS;
    if (NTOK * kUnits % THREADS != 0 && idx >= NTOK * kUnits) break;
    const int tok = idx / kUnits, d0 = (idx % kUnits) * 8, t = t0 + tok;
    const bool inside = t < kvLen;
    const uint8_t* src = p.values + (rowBase + (inside ? t : 0)) * p.pitch + d0 * sizeof(T);
    cpAsync16(tile + tok * kPitch + d0, src, inside ? 16 : 0);
  }
}

/** One online-softmax step over a tile's scores, for this lane's two rows (A: gid, B: gid + 8) and its tokens
 *  t + 8j, t + 8j + 1 (t = t0 + 2·tig): masks and scales the scores into the log2 domain, moves the running max m
 *  and sum l, and turns s into the weights 2^(s − m). Returns the factors (A, B) that rescale the rows' output
 *  accumulators. A row that has seen no allowed token keeps m = −inf: its weights are 0 and nothing is rescaled. */
template <int SN>
__device__ __forceinline__ float2 softmaxStep(const AttnArgs& a, const PackedRow& rowA, const PackedRow& rowB, int t,
                                              float (&s)[SN][4], float& mA, float& mB, float& lA, float& lB) {
  float mxA = -INFINITY, mxB = -INFINITY;
#pragma unroll
  for (int j = 0; j < SN; j++) {
    const int tj = t + j * 8;
    s[j][0] = tokenAllowed(a, rowA, tj) ? s[j][0] * a.scaleLog2 : -INFINITY;
    s[j][1] = tokenAllowed(a, rowA, tj + 1) ? s[j][1] * a.scaleLog2 : -INFINITY;
    s[j][2] = tokenAllowed(a, rowB, tj) ? s[j][2] * a.scaleLog2 : -INFINITY;
    s[j][3] = tokenAllowed(a, rowB, tj + 1) ? s[j][3] * a.scaleLog2 : -INFINITY;
    mxA = fmaxf(mxA, fmaxf(s[j][0], s[j][1]));
    mxB = fmaxf(mxB, fmaxf(s[j][2], s[j][3]));
  }
  mxA = fmaxf(mxA, __shfl_xor_sync(0xffffffffu, mxA, 1));
  mxA = fmaxf(mxA, __shfl_xor_sync(0xffffffffu, mxA, 2));
  mxB = fmaxf(mxB, __shfl_xor_sync(0xffffffffu, mxB, 1));
  mxB = fmaxf(mxB, __shfl_xor_sync(0xffffffffu, mxB, 2));
  const float mNewA = fmaxf(mA, mxA), mNewB = fmaxf(mB, mxB);
  const float cA = mNewA == -INFINITY ? 1.f : exp2f(mA - mNewA);
  const float cB = mNewB == -INFINITY ? 1.f : exp2f(mB - mNewB);
  const float subA = mNewA == -INFINITY ? 0.f : mNewA, subB = mNewB == -INFINITY ? 0.f : mNewB;
  mA = mNewA, mB = mNewB;
  float sumA = 0.f, sumB = 0.f;
#pragma unroll
  for (int j = 0; j < SN; j++) {
    s[j][0] = exp2f(s[j][0] - subA), s[j][1] = exp2f(s[j][1] - subA);
    s[j][2] = exp2f(s[j][2] - subB), s[j][3] = exp2f(s[j][3] - subB);
    sumA += s[j][0] + s[j][1];
    sumB += s[j][2] + s[j][3];
  }
  lA = lA * cA + sumA, lB = lB * cB + sumB;
  return make_float2(cA, cB);
}

/** Blocks per SM the register allocation must allow: the 16-row decode instances are memory-bound and want
 *  occupancy (3 blocks: ≤ 170 registers, no spills at sm_80/sm_90a); without the bound ptxas picked 96 registers
 *  and spilled. Prefill and mla take what they need (255 at 128 threads; 128 at mla's 512). */
template <int RT> constexpr int kMinBlocks = RT == 1 ? 3 : 1;

template <StoreFormat A, StoreFormat K, int DK, int DV, int RT, int DS, int NTOK, bool MLA>
__global__ void __launch_bounds__(RT * DS * 32, kMinBlocks<RT>) mmaAttention(const AttnArgs a) {
  using T = typename Act<A>::T;
  constexpr int kThreads = RT * DS * 32;
  constexpr int KS = DK / DS / 16;  // QK k-steps per warp
  constexpr int VN = DV / DS / 8;   // PV n-tiles per warp
  constexpr int SN = NTOK / 8;      // score n-tiles
  constexpr int KP = DK + 8, VP = DV + 8;
  static_assert(DK % (16 * DS) == 0 && DV % (8 * DS) == 0 && NTOK % 16 == 0, "tile shape");
  static_assert(!MLA || DV <= DK, "mla values are the first rank dims of the key tile");
  static_assert(DK % 32 == 0 && DV % 32 == 0, "loadTile assumes full int4 groups");

  constexpr bool ASYNC = kAsyncTiles<A, K, MLA>;
  constexpr int kStageElems = NTOK * KP + (MLA ? 0 : NTOK * VP);  // one K tile + one V tile
  extern __shared__ __align__(16) uint8_t smem[];
  T* Ks = reinterpret_cast<T*>(smem);
  T* Vs = MLA ? Ks : Ks + NTOK * KP;
  float* Sred = reinterpret_cast<float*>(smem + sizeof(T) * kStageElems * (ASYNC ? 2 : 1));
  T* Qs = reinterpret_cast<T*>(Sred + (DS > 1 ? RT * DS * 16 * NTOK : 0));  // mla only: [16·RT][KP]

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int gid = lane >> 2, tig = lane & 3, rt = warp / DS, cs = warp % DS;
  const int bg = blockIdx.y, b = bg / a.groups, g = bg % a.groups;
  const int pr0 = blockIdx.x * 16 * RT;
  const PackedRow rowA = packedRow(a, b, g, pr0 + rt * 16 + gid);
  const PackedRow rowB = packedRow(a, b, g, pr0 + rt * 16 + gid + 8);
  const int64_t kvRowBase = static_cast<int64_t>(bg) * a.kvLen;

  // The block's KV range ends at what its last valid row may see (visibility grows with r).
  const int lastPr = min(pr0 + 16 * RT, a.rows * a.groupHeads) - 1;
  const int maxVisible = visibleOf(a, lastPr / a.groupHeads);
  const int nTiles = (maxVisible + NTOK - 1) / NTOK;
  const int perSplit = (nTiles + a.splits - 1) / a.splits;
  const int tileBegin = blockIdx.z * perSplit, tileEnd = min(nTiles, tileBegin + perSplit);

  // Q fragments (A operand, rows gid / gid + 8, dims k0 + 2·tig (+8)): registers, or under mla a shared tile.
  constexpr int KSR = MLA ? 1 : KS;
  uint32_t qf[KSR][4];
  if (MLA) {
    for (int idx = threadIdx.x; idx < 16 * RT * (DK / 8); idx += kThreads) {
      const int row = idx / (DK / 8), d0 = (idx % (DK / 8)) * 8;
      const PackedRow pr = packedRow(a, b, g, pr0 + row);
      uint4 packed = make_uint4(0u, 0u, 0u, 0u);
      if (pr.valid) {
        const bool first = d0 < a.q0.dim;
        const uint8_t* values = first ? a.q0.values : a.q1.values;
        const int64_t pitch = first ? a.q0.pitch : a.q1.pitch;
        const int dd = first ? d0 : d0 - a.q0.dim;
        packed = __ldg(reinterpret_cast<const uint4*>(values + pr.qRow * pitch + dd * sizeof(T)));
      }
      *reinterpret_cast<uint4*>(Qs + row * KP + d0) = packed;
    }
  } else {
#pragma unroll
    for (int ks = 0; ks < KSR; ks++) {
      const int k0 = cs * (DK / DS) + ks * 16 + 2 * tig;
      qf[ks][0] = queryPair<A>(a, rowA, k0);
      qf[ks][1] = queryPair<A>(a, rowB, k0);
      qf[ks][2] = queryPair<A>(a, rowA, k0 + 8);
      qf[ks][3] = queryPair<A>(a, rowB, k0 + 8);
    }
  }
  const T* qRowA = Qs + (rt * 16 + gid) * KP + cs * (DK / DS) + 2 * tig;
  const T* qRowB = qRowA + 8 * KP;

  float o[VN][4];
#pragma unroll
  for (int j = 0; j < VN; j++) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.f;
  float mA = -INFINITY, mB = -INFINITY, lA = 0.f, lB = 0.f;

  // One KV tile already in shared memory (Kt, Vt): scores, mask, online softmax, O += P·V.
  auto computeTile = [&](const T* Kt, const T* Vt, int t0) {
    float s[SN][4];
#pragma unroll
    for (int j = 0; j < SN; j++) {
      s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
      const T* krow = Kt + (j * 8 + gid) * KP + cs * (DK / DS) + 2 * tig;
#pragma unroll
      for (int ks = 0; ks < KS; ks++) {
        if (MLA) {
          uint32_t qa[4] = {lds32(qRowA + ks * 16), lds32(qRowB + ks * 16), lds32(qRowA + ks * 16 + 8),
                            lds32(qRowB + ks * 16 + 8)};
          mma16816<T>(s[j], qa, lds32(krow + ks * 16), lds32(krow + ks * 16 + 8));
        } else {
          mma16816<T>(s[j], qf[ks < KSR ? ks : 0], lds32(krow + ks * 16), lds32(krow + ks * 16 + 8));
        }
      }
    }
    if (DS > 1) {  // sum the DS key-dim slices of the row tile's scores
      float* mine = Sred + (rt * DS + cs) * 16 * NTOK;
#pragma unroll
      for (int j = 0; j < SN; j++) {
        const int c = j * 8 + 2 * tig;
        mine[gid * NTOK + c] = s[j][0], mine[gid * NTOK + c + 1] = s[j][1];
        mine[(gid + 8) * NTOK + c] = s[j][2], mine[(gid + 8) * NTOK + c + 1] = s[j][3];
      }
      __syncthreads();
#pragma unroll
      for (int j = 0; j < SN; j++) {
        const int c = j * 8 + 2 * tig;
        s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
#pragma unroll
        for (int x = 0; x < DS; x++) {
          const float* part = Sred + (rt * DS + x) * 16 * NTOK;
          s[j][0] += part[gid * NTOK + c], s[j][1] += part[gid * NTOK + c + 1];
          s[j][2] += part[(gid + 8) * NTOK + c], s[j][3] += part[(gid + 8) * NTOK + c + 1];
        }
      }
    }

    const float2 c = softmaxStep<SN>(a, rowA, rowB, t0 + 2 * tig, s, mA, mB, lA, lB);
    const float cA = c.x, cB = c.y;
#pragma unroll
    for (int j = 0; j < VN; j++) o[j][0] *= cA, o[j][1] *= cA, o[j][2] *= cB, o[j][3] *= cB;

#pragma unroll
    for (int kk = 0; kk < NTOK / 16; kk++) {
      uint32_t pa[4];
      pa[0] = pack2<T>(s[2 * kk][0], s[2 * kk][1]);
      pa[1] = pack2<T>(s[2 * kk][2], s[2 * kk][3]);
      pa[2] = pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]);
      pa[3] = pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3]);
      const T* vrow = Vt + (kk * 16 + (lane & 15)) * (MLA ? KP : VP) + cs * (DV / DS);
#pragma unroll
      for (int j = 0; j < VN; j++) {
        uint32_t b0, b1;
        ldmatrixX2Trans(vrow + j * 8, b0, b1);
        mma16816<T>(o[j], pa, b0, b1);
      }
    }
  };

  if (ASYNC && !a.sparse) {
    // Two stages: the copy of tile i + 1 is issued right after the barrier that frees its stage (everyone is done
    // with tile i − 1) and runs while tile i is computed. One barrier a tile; it also frees Sred.
    auto issue = [&](int tile, int stage) {
      T* kt = Ks + stage * kStageElems;
      copyTileAsync<T, DK, NTOK, kThreads>(a.k0, a.kvLen, kt, kvRowBase, tile * NTOK);
      copyTileAsync<T, DV, NTOK, kThreads>(a.v, a.kvLen, kt + NTOK * KP, kvRowBase, tile * NTOK);
      cpAsyncCommit();
    };
    if (tileBegin < tileEnd) issue(tileBegin, 0);
    for (int tile = tileBegin; tile < tileEnd; tile++) {
      const int stage = (tile - tileBegin) & 1;
      cpAsyncWaitAll();  // this thread's copies of `tile` have landed
      __syncthreads();   // everyone's have; everyone is done with the other stage and with Sred
      if (tile + 1 < tileEnd) issue(tile + 1, stage ^ 1);
      const T* kt = Ks + stage * kStageElems;
      computeTile(kt, kt + NTOK * KP, tile * NTOK);
    }
  } else {
    for (int tile = tileBegin; tile < tileEnd; tile++) {
      const int t0 = tile * NTOK;
      if (a.sparse) {
        const bool mine = tileAllowed(a, rowA, t0, NTOK) || tileAllowed(a, rowB, t0, NTOK);
        if (!__syncthreads_or(mine)) continue;  // no row of the block selected a token here: skip the bytes
      }
      __syncthreads();  // the previous tile's readers are done with Ks, Vs and Sred
      loadTile<K, T, DK, NTOK, kThreads, true>(a, Ks, kvRowBase, t0);
      if (!MLA) loadTile<K, T, DV, NTOK, kThreads, false>(a, Vs, kvRowBase, t0);
      __syncthreads();
      computeTile(Ks, Vs, t0);
    }
  }

  lA += __shfl_xor_sync(0xffffffffu, lA, 1);
  lA += __shfl_xor_sync(0xffffffffu, lA, 2);
  lB += __shfl_xor_sync(0xffffffffu, lB, 1);
  lB += __shfl_xor_sync(0xffffffffu, lB, 2);

  // Epilogue: the row's identity is recomputed from its index (keeping qRow live through the loop cost registers
  // the mla instance needs).
#pragma unroll
  for (int half = 0; half < 2; half++) {
    const PackedRow row = packedRow(a, b, g, pr0 + rt * 16 + gid + 8 * half);
    if (!row.valid) continue;
    const float m = half ? mB : mA, l = half ? lB : lA;
    if (a.splits == 1) {
      const float inv = 1.f / l;
      T* out = static_cast<T*>(a.out) + row.qRow * DV + cs * (DV / DS) + 2 * tig;
#pragma unroll
      for (int j = 0; j < VN; j++) store2(out + j * 8, o[j][2 * half] * inv, o[j][2 * half + 1] * inv);
    } else {
      const int64_t part = row.qRow * a.splits + blockIdx.z;
      float* out = a.partO + part * DV + cs * (DV / DS) + 2 * tig;
#pragma unroll
      for (int j = 0; j < VN; j++)
        *reinterpret_cast<float2*>(out + j * 8) = make_float2(o[j][2 * half], o[j][2 * half + 1]);
      if (cs == 0 && tig == 0) a.partML[part * 2] = m, a.partML[part * 2 + 1] = l;
    }
  }
}

}  // namespace etok::kernels::cuda
