// Stream decode: dense/GQA and NSA-sparse decode at bf16/f16, head dim 128, with the KV cache at the activation
// type or quantized (kv-int8, kv-fp8, kv-int4), staged into shared memory AS STORED and converted from there.
// EXPERIMENTAL: compiled everywhere, run only with ETOK_CUDA_PATH=stream until a GPU run has validated and timed
// it (docs/gpu.md, "Flipping a default").
//
// Why: the tensor-core decode (prefill_mma.cuh) dequantizes quantized caches in registers before its shared tiles,
// unpipelined, so quantized decode runs slower than bf16 instead of faster by its byte ratio
// (docs/performance-log.md, 2026-11-26). Here every byte moves global → shared with cp.async (16-byte copies, a ring
// per warp), so a quantized cache costs its stored bytes, and the conversion to the mma operand type is a few integer
// instructions per pair (stream_convert.cuh) out of shared memory.
//
// Layout: the block's W warps split the tokens of its KV split (FlashInfer's decode layout on mma.sync): warp w
// takes the C-token chunks c0 + w, c0 + w + W, … through its own ring of STAGES slots (copy issued STAGES − 1
// chunks ahead; cp.async.wait_group + __syncwarp, no block barrier), with its own online softmax over all 128 dims
// of 16 packed rows (the query heads of one kv group). The W states merge once at the end (shared memory, reusing
// the rings). Under sparse a chunk is C consecutive tokens of one selected NSA block (blockSize % C == 0), found in
// the selection kernel's ascending block list.
//
// Scales never touch the values: S = s_k(t) · (Q · k_int(t)) — the key scale multiplies the finished scores — and
// O = Σ_t (p_t · s_v(t)) · v_int(t) — the value scale multiplies the softmax weight before it is packed as the A
// operand; int4's per-32-dim-group scales do both per group (separate score accumulators per key group, one
// weight fragment per value group). Scales are copied with the values, from per-sequence planes padded to a
// multiple of 64 tokens (AttnArgs::kScalesSeq) so that a chunk's scales are 16-byte aligned.
//
// Fragment layouts (mma.m16n8k16: A row gid, cols 2tig..; B col gid, rows 2tig..; any bijection of the reduction
// index works if Q, or P, uses the same one):
//   16-bit caches  rows padded to 136 values; K fragments by ldmatrix.x4, V by ldmatrix.x4.trans (natural order).
//   8-bit caches   128-byte rows, 16-byte units XOR-swizzled by swz8(token); QK: a lane reads 16 bytes (4 k-steps)
//                  of its token per LDS.128; PV: a lane reads 16 value bytes of each of its 4 tokens and interleaves
//                  token pairs with prmt, so output n-tile j, column n is dim 16n + j.
//   int4           64-byte rows (4 groups of 32 dims), units swizzled by swz4(token); QK: one word a group per
//                  lane, its nibbles pair dims (d, d + 2); PV: 2 bytes per token and group, column n of n-tile
//                  4g + q is dim 32g + {2n, 2n + 1, 16 + 2n, 17 + 2n}[q].
// packages/kernels/test/cuda/emulate_stream.py emulates all of it lane by lane (and checks the swizzles for bank
// conflicts).
#pragma once

#include "dispatch_policy.h"
#include "prefill_mma.cuh"
#include "stream_convert.cuh"

namespace etok::kernels::cuda {

/** How one KV format sits in the stream decode's shared memory (head dim D). */
template <StoreFormat A, StoreFormat K, int D> struct StreamLayout {
  static constexpr bool kWide = K == A;                                   // 16-bit values: ldmatrix
  static constexpr bool kNibble = K == StoreFormat::Int4;                 // int4: per-group scales
  static constexpr int kRowBytes = kWide ? 2 * D : kNibble ? D / 2 : D;  // one stored row (its global pitch)
  static constexpr int kRowPitch = kWide ? 2 * (D + 8) : kRowBytes;       // its shared row
  static constexpr int kGroups = kWide ? 0 : kNibble ? D / 32 : 1;        // f16 scales a row
};

/** A slot of a warp's ring: K rows, V rows, K scales, V scales, and the chunk's first token. */
template <StoreFormat A, StoreFormat K, int D, int C> __host__ __device__ constexpr int streamSlotBytes() {
  using L = StreamLayout<A, K, D>;
  return 2 * C * L::kRowPitch + 2 * C * L::kGroups * 2 + 16;
}

template <StoreFormat A, StoreFormat K, int D, int W, int C, int STAGES> __host__ __device__ constexpr size_t
streamSharedBytes() {
  constexpr size_t ring = static_cast<size_t>(W) * STAGES * streamSlotBytes<A, K, D, C>();
  constexpr size_t merge = sizeof(float) * W * 16 * (D + 2);
  return ring > merge ? ring : merge;
}

/** Blocks per SM the register allocation must allow: 3 where the rings leave room for 3 blocks on a Hopper SM
 *  (228 KB; ≤ 168 registers a thread at 4 warps), fewer where shared memory allows fewer anyway. */
template <StoreFormat A, StoreFormat K, int W, int C, int STAGES> constexpr int streamMinBlocks() {
  constexpr size_t perBlock = streamSharedBytes<A, K, kStreamHeadDim, W, C, STAGES>() + 1024;
  constexpr int bySmem = static_cast<int>(228 * 1024 / perBlock);
  return W == 8 ? 1 : bySmem < 1 ? 1 : bySmem > 3 ? 3 : bySmem;
}

/** 16-byte unit swizzles: conflict-free LDS.128 for both the QK and the PV reads (emulate_stream.py checks). */
__device__ __forceinline__ int swz8(int t) { return ((((t) ^ (t >> 2)) & 1) << 2) | (t & 2); }
__device__ __forceinline__ int swz4(int t) { return (t >> 1) & 3; }

__device__ __forceinline__ uint4 lds128(const void* p) { return *reinterpret_cast<const uint4*>(p); }
__device__ __forceinline__ uint32_t lds16(const void* p) { return *reinterpret_cast<const uint16_t*>(p); }

__device__ __forceinline__ void ldmatrixX4(const void* rowAddress, uint32_t (&r)[4]) {
  const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(rowAddress));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrixX4Trans(const void* rowAddress, uint32_t (&r)[4]) {
  const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(rowAddress));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

__device__ __forceinline__ float2 half2Bits(uint32_t h) {
  return __half22float2(*reinterpret_cast<const __half2*>(&h));
}

/** The first of the two query dims (d, d + step) that A-operand register pair `hi` (0: a0/a1, 1: a2/a3) of QK
 *  k-step ks holds for lane tig; the cache's layout decides the order. */
template <class L> __device__ __forceinline__ int streamQueryDim(int ks, int hi, int tig, int& step) {
  if (L::kWide) {
    step = 1;
    return ks * 16 + 2 * tig + 8 * hi;
  }
  if (L::kNibble) {
    step = 2;
    return 32 * (ks >> 1) + 16 * (ks & 1) + 4 * tig + hi;
  }
  step = 1;
  return 16 * (4 * (ks >> 2) + tig) + 4 * (ks & 3) + 2 * hi;
}

/** The output dim of accumulator n-tile j, column c (0..7). */
template <class L> __device__ __forceinline__ int streamOutDim(int j, int c) {
  if (L::kWide) return 8 * j + c;
  if (L::kNibble) {
    const int q = j & 3;
    return 32 * (j >> 2) + (q & 2 ? 16 : 0) + 2 * c + (q & 1);
  }
  return 16 * c + j;
}

template <StoreFormat A, StoreFormat K, int W, int C, int STAGES>
__global__ void __launch_bounds__(W * 32, (streamMinBlocks<A, K, W, C, STAGES>())) streamDecode(const AttnArgs a) {
  using T = typename Act<A>::T;
  constexpr int D = kStreamHeadDim;
  using L = StreamLayout<A, K, D>;
  constexpr int KS = D / 16, VN = D / 8, SN = C / 8, PK = C / 16;
  constexpr int kSlot = streamSlotBytes<A, K, D, C>();
  constexpr int kRowUnits = L::kRowBytes / 16, kScaleUnits = C * L::kGroups * 2 / 16;
  constexpr int kValueOffset = C * L::kRowPitch, kScaleOffset = 2 * C * L::kRowPitch;
  constexpr int kHeaderOffset = kSlot - 16;
  static_assert(C % 16 == 0 && STAGES >= 2 && (W == 4 || W == 8), "variant shape");
  static_assert(L::kRowBytes % 16 == 0 && (C * L::kGroups * 2) % 16 == 0 && kSlot % 16 == 0, "16-byte units");
  static_assert(32 % kRowUnits == 0 && 2 * kScaleUnits <= 32, "one copy a lane per step");

  extern __shared__ __align__(16) uint8_t smem[];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, gid = lane >> 2, tig = lane & 3;
  uint8_t* ring = smem + warp * STAGES * kSlot;
  const int bg = blockIdx.y, b = bg / a.groups, g = bg % a.groups;
  const int pr0 = blockIdx.x * 16;
  const PackedRow rowA = packedRow(a, b, g, pr0 + gid);
  const PackedRow rowB = packedRow(a, b, g, pr0 + gid + 8);
  const int64_t kvRowBase = static_cast<int64_t>(bg) * a.kvLen;
  const int selRow = bg * a.rows;  // decode: one query row

  // The row's tokens: all of them, or under sparse the selected blocks back to back (whole chunks).
  const int logical = a.sparse ? __ldg(a.selCount + selRow) * a.blockSize : a.kvLen;
  const int nChunks = (logical + C - 1) / C;
  const int perSplit = (nChunks + a.splits - 1) / a.splits;
  const int c0 = blockIdx.z * perSplit, c1 = min(nChunks, c0 + perSplit);
  const int myChunks = c1 > c0 + warp ? (c1 - c0 - warp + W - 1) / W : 0;

  // Q fragments in the cache layout's dim order (two separate halves where the pair is (d, d + 2)).
  uint32_t qf[KS][4];
#pragma unroll
  for (int ks = 0; ks < KS; ks++)
#pragma unroll
    for (int r = 0; r < 4; r++) {
      const PackedRow& row = (r & 1) ? rowB : rowA;
      int step;
      const int d = streamQueryDim<L>(ks, r >> 1, tig, step);
      uint32_t v = 0u;
      if (row.valid) {
        const uint16_t* q = reinterpret_cast<const uint16_t*>(a.q0.values + row.qRow * a.q0.pitch);
        v = step == 1 ? __ldg(reinterpret_cast<const uint32_t*>(q + d))
                      : static_cast<uint32_t>(__ldg(q + d)) | (static_cast<uint32_t>(__ldg(q + d + 2)) << 16);
      }
      qf[ks][r] = v;
    }

  // First token of the warp's i-th chunk.
  auto chunkStart = [&](int i) -> int {
    const int i0 = (c0 + warp + i * W) * C;
    if (!a.sparse) return i0;
    return __ldg(a.selList + static_cast<int64_t>(selRow) * a.listCap + i0 / a.blockSize) * a.blockSize +
           i0 % a.blockSize;
  };

  // Copies the warp's i-th chunk (first token t0) into slot i % STAGES as stored: one group a chunk, committed
  // even when empty so that group i is chunk i. Tokens past kvLen are zero-filled (their scores are masked).
  auto issue = [&](int i, int t0) {
    if (i < myChunks) {
      uint8_t* slot = ring + (i % STAGES) * kSlot;
      // Rows: each lane copies one 16-byte unit u of a token per step, 32 / kRowUnits tokens a step (K, then V).
      constexpr int kTokensPerStep = 32 / kRowUnits;
      const int u = lane % kRowUnits;
#pragma unroll
      for (int step = 0; step < 2 * C / kTokensPerStep; step++) {
        constexpr int kKeySteps = C / kTokensPerStep;
        const bool isV = step >= kKeySteps;  // compile time once unrolled
        const int tok = (step % kKeySteps) * kTokensPerStep + lane / kRowUnits, t = t0 + tok;
        const bool inside = t < a.kvLen;
        const uint8_t* values = isV ? a.v.values : a.k0.values;  // fields, not a reference to one of two planes
        const int64_t pitch = isV ? a.v.pitch : a.k0.pitch;
        const int pu = L::kWide ? u : L::kNibble ? (u ^ swz4(tok)) : (u ^ swz8(tok));
        cpAsync16(slot + (isV ? kValueOffset : 0) + tok * L::kRowPitch + 16 * pu,
                  values + (kvRowBase + (inside ? t : 0)) * pitch + 16 * u, inside ? 16 : 0);
      }
      // Scales: one unit a lane (the planes are padded, so a chunk's scales are always there to copy).
      if (kScaleUnits > 0 && lane < 2 * kScaleUnits) {
        const bool isV = lane >= kScaleUnits;
        const int su = isV ? lane - kScaleUnits : lane;
        const uint16_t* scales = isV ? a.vScalesSeq : a.kScalesSeq;
        const int64_t first = (static_cast<int64_t>(bg) * a.scaleSeqPitch + t0) * L::kGroups;
        cpAsync16(slot + kScaleOffset + lane * 16, reinterpret_cast<const uint8_t*>(scales + first) + 16 * su, 16);
      }
      if (lane == 0) *reinterpret_cast<int*>(slot + kHeaderOffset) = t0;
    }
    cpAsyncCommit();
  };

  float o[VN][4];
#pragma unroll
  for (int j = 0; j < VN; j++) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.f;
  float mA = -INFINITY, mB = -INFINITY, lA = 0.f, lB = 0.f;

#pragma unroll
  for (int i = 0; i < STAGES - 1; i++) issue(i, i < myChunks ? chunkStart(i) : 0);
  int pending = STAGES - 1 < myChunks ? chunkStart(STAGES - 1) : 0;  // list read one chunk ahead of its copy

  for (int i = 0; i < myChunks; i++) {
    cpAsyncWait<STAGES - 2>();  // this lane's copies of chunk i have landed
    __syncwarp();               // and every lane's; every lane is also done with chunk i − 1's slot
    issue(i + STAGES - 1, pending);
    pending = i + STAGES < myChunks ? chunkStart(i + STAGES) : 0;

    const uint8_t* slot = ring + (i % STAGES) * kSlot;
    const uint8_t* kRows = slot;
    const uint8_t* vRows = slot + kValueOffset;
    const uint8_t* kScale = slot + kScaleOffset;
    const uint8_t* vScale = kScale + kScaleUnits * 16;
    const int t0 = *reinterpret_cast<const int*>(slot + kHeaderOffset);

    // S = Q · Kᵀ over the chunk: n-tile j holds tokens 8j..8j+7 (column gid reads token 8j + gid).
    float s[SN][4];
#pragma unroll
    for (int j = 0; j < SN; j++) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
    if constexpr (L::kWide) {
#pragma unroll
      for (int j = 0; j < SN; j++)
#pragma unroll
        for (int k2 = 0; k2 < KS; k2 += 2) {
          uint32_t r[4];
          ldmatrixX4(kRows + (8 * j + (lane & 7)) * L::kRowPitch + 2 * (16 * k2 + 8 * (lane >> 3)), r);
          mma16816<T>(s[j], qf[k2], r[0], r[1]);
          mma16816<T>(s[j], qf[k2 + 1], r[2], r[3]);
        }
    } else if constexpr (!L::kNibble) {
#pragma unroll
      for (int j = 0; j < SN; j++) {
        const int tok = 8 * j + gid;
#pragma unroll
        for (int h = 0; h < D / 64; h++) {
          const uint4 w = lds128(kRows + tok * L::kRowPitch + 16 * ((4 * h + tig) ^ swz8(tok)));
          const uint32_t words[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
          for (int q = 0; q < 4; q++) {
            uint32_t lo, hi;
            bytes4<K, T>(words[q], lo, hi);
            mma16816<T>(s[j], qf[4 * h + q], lo, hi);
          }
        }
        const float2 sc = half2Bits(*reinterpret_cast<const uint32_t*>(kScale + 2 * (8 * j + 2 * tig)));
        s[j][0] *= sc.x, s[j][1] *= sc.y, s[j][2] *= sc.x, s[j][3] *= sc.y;
      }
    } else {
#pragma unroll
      for (int j = 0; j < SN; j++) {
        const int tok = 8 * j + gid;
        // f16 scales [token][group] of this lane's tokens 8j + 2tig and 8j + 2tig + 1: 4 groups each, one LDS.128
        const uint4 sc = lds128(kScale + 2 * (8 * j + 2 * tig) * L::kGroups);
        const uint32_t scw[4] = {sc.x, sc.y, sc.z, sc.w};
#pragma unroll
        for (int grp = 0; grp < D / 32; grp++) {
          float sg[4] = {0.f, 0.f, 0.f, 0.f};
          const uint32_t w = *reinterpret_cast<const uint32_t*>(kRows + tok * L::kRowPitch + 16 * (grp ^ swz4(tok)) +
                                                                4 * tig);
          mma16816<T>(sg, qf[2 * grp], nibblePair<T>(w, 0), nibblePair<T>(w, 8));
          mma16816<T>(sg, qf[2 * grp + 1], nibblePair<T>(w, 4), nibblePair<T>(w, 12));
          const float2 a2 = half2Bits(scw[grp >> 1]), b2 = half2Bits(scw[2 + (grp >> 1)]);
          const float s0 = grp & 1 ? a2.y : a2.x, s1 = grp & 1 ? b2.y : b2.x;
          s[j][0] = fmaf(sg[0], s0, s[j][0]), s[j][1] = fmaf(sg[1], s1, s[j][1]);
          s[j][2] = fmaf(sg[2], s0, s[j][2]), s[j][3] = fmaf(sg[3], s1, s[j][3]);
        }
      }
    }

    // Online softmax (log2 domain) over this lane's tokens t0 + 8j + 2tig (+1); tokens past kvLen are masked.
    const int limit = a.kvLen - t0 - 2 * tig;
    float mxA = -INFINITY, mxB = -INFINITY;
#pragma unroll
    for (int j = 0; j < SN; j++) {
      const bool in0 = 8 * j < limit, in1 = 8 * j + 1 < limit;
      s[j][0] = in0 ? s[j][0] * a.scaleLog2 : -INFINITY, s[j][1] = in1 ? s[j][1] * a.scaleLog2 : -INFINITY;
      s[j][2] = in0 ? s[j][2] * a.scaleLog2 : -INFINITY, s[j][3] = in1 ? s[j][3] * a.scaleLog2 : -INFINITY;
      mxA = fmaxf(mxA, fmaxf(s[j][0], s[j][1]));
      mxB = fmaxf(mxB, fmaxf(s[j][2], s[j][3]));
    }
    mxA = fmaxf(mxA, __shfl_xor_sync(0xffffffffu, mxA, 1));
    mxA = fmaxf(mxA, __shfl_xor_sync(0xffffffffu, mxA, 2));
    mxB = fmaxf(mxB, __shfl_xor_sync(0xffffffffu, mxB, 1));
    mxB = fmaxf(mxB, __shfl_xor_sync(0xffffffffu, mxB, 2));
    // A chunk of a partial last NSA block can lie wholly past kvLen: a warp that has seen nothing else keeps
    // m = −inf, its weights are 0 and nothing is rescaled.
    const float mNewA = fmaxf(mA, mxA), mNewB = fmaxf(mB, mxB);
    const float cA = mNewA == -INFINITY ? 1.f : exp2f(mA - mNewA), cB = mNewB == -INFINITY ? 1.f : exp2f(mB - mNewB);
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
    if (__any_sync(0xffffffffu, cA != 1.f || cB != 1.f))  // the maxima settle early: most chunks skip 64 multiplies
#pragma unroll
      for (int j = 0; j < VN; j++) o[j][0] *= cA, o[j][1] *= cA, o[j][2] *= cB, o[j][3] *= cB;

    // O += P · V, 16 tokens a k-step: A = the weights (tokens 16kk + 2tig (+1) and + 8), times the value scale.
#pragma unroll
    for (int kk = 0; kk < PK; kk++) {
      const float* p0 = s[2 * kk];
      const float* p1 = s[2 * kk + 1];
      if constexpr (L::kWide) {
        const uint32_t pa[4] = {pack2<T>(p0[0], p0[1]), pack2<T>(p0[2], p0[3]), pack2<T>(p1[0], p1[1]),
                                pack2<T>(p1[2], p1[3])};
#pragma unroll
        for (int j = 0; j < VN; j += 2) {
          uint32_t r[4];
          ldmatrixX4Trans(vRows + (16 * kk + (lane & 7) + 8 * ((lane >> 3) & 1)) * L::kRowPitch +
                              2 * (8 * j + 8 * (lane >> 4)),
                          r);
          mma16816<T>(o[j], pa, r[0], r[1]);
          mma16816<T>(o[j + 1], pa, r[2], r[3]);
        }
      } else if constexpr (!L::kNibble) {
        const int tA = 16 * kk + 2 * tig;
        const float2 sa = half2Bits(*reinterpret_cast<const uint32_t*>(vScale + 2 * tA));
        const float2 sb = half2Bits(*reinterpret_cast<const uint32_t*>(vScale + 2 * (tA + 8)));
        const uint32_t pa[4] = {pack2<T>(p0[0] * sa.x, p0[1] * sa.y), pack2<T>(p0[2] * sa.x, p0[3] * sa.y),
                                pack2<T>(p1[0] * sb.x, p1[1] * sb.y), pack2<T>(p1[2] * sb.x, p1[3] * sb.y)};
        const int toks[4] = {tA, tA + 1, tA + 8, tA + 9};
        uint4 w[4];
#pragma unroll
        for (int x = 0; x < 4; x++) w[x] = lds128(vRows + toks[x] * L::kRowPitch + 16 * (gid ^ swz8(toks[x])));
        const uint32_t wa[4] = {w[0].x, w[0].y, w[0].z, w[0].w}, wb[4] = {w[1].x, w[1].y, w[1].z, w[1].w};
        const uint32_t wc[4] = {w[2].x, w[2].y, w[2].z, w[2].w}, wd[4] = {w[3].x, w[3].y, w[3].z, w[3].w};
#pragma unroll
        for (int q = 0; q < 4; q++) {
          uint32_t b0[4], b1[4];  // n-tiles 4q .. 4q + 3: value byte 4q + x of the tokens, interleaved in pairs
          bytes4<K, T>(__byte_perm(wa[q], wb[q], 0x5140), b0[0], b0[1]);
          bytes4<K, T>(__byte_perm(wa[q], wb[q], 0x7362), b0[2], b0[3]);
          bytes4<K, T>(__byte_perm(wc[q], wd[q], 0x5140), b1[0], b1[1]);
          bytes4<K, T>(__byte_perm(wc[q], wd[q], 0x7362), b1[2], b1[3]);
#pragma unroll
          for (int x = 0; x < 4; x++) mma16816<T>(o[4 * q + x], pa, b0[x], b1[x]);
        }
      } else {
        const int tA = 16 * kk + 2 * tig;
        const int toks[4] = {tA, tA + 1, tA + 8, tA + 9};
        uint2 vsc[4];  // each token's 4 group scales, one LDS.64
#pragma unroll
        for (int x = 0; x < 4; x++) vsc[x] = *reinterpret_cast<const uint2*>(vScale + 2 * toks[x] * L::kGroups);
#pragma unroll
        for (int grp = 0; grp < D / 32; grp++) {
          float sv[4];
#pragma unroll
          for (int x = 0; x < 4; x++) {
            const float2 f = half2Bits(grp >> 1 ? vsc[x].y : vsc[x].x);
            sv[x] = grp & 1 ? f.y : f.x;
          }
          const uint32_t pa[4] = {pack2<T>(p0[0] * sv[0], p0[1] * sv[1]), pack2<T>(p0[2] * sv[0], p0[3] * sv[1]),
                                  pack2<T>(p1[0] * sv[2], p1[1] * sv[3]), pack2<T>(p1[2] * sv[2], p1[3] * sv[3])};
          uint32_t h[4];
#pragma unroll
          for (int x = 0; x < 4; x++)
            h[x] = lds16(vRows + toks[x] * L::kRowPitch + 16 * (grp ^ swz4(toks[x])) + 2 * gid);
          const uint32_t ab = __byte_perm(h[0], h[1], 0x5410), cd = __byte_perm(h[2], h[3], 0x5410);
          mma16816<T>(o[4 * grp + 0], pa, nibblePair<T>(ab, 0), nibblePair<T>(cd, 0));
          mma16816<T>(o[4 * grp + 1], pa, nibblePair<T>(ab, 8), nibblePair<T>(cd, 8));
          mma16816<T>(o[4 * grp + 2], pa, nibblePair<T>(ab, 4), nibblePair<T>(cd, 4));
          mma16816<T>(o[4 * grp + 3], pa, nibblePair<T>(ab, 12), nibblePair<T>(cd, 12));
        }
      }
    }
  }
  cpAsyncWaitAll();

  lA += __shfl_xor_sync(0xffffffffu, lA, 1);
  lA += __shfl_xor_sync(0xffffffffu, lA, 2);
  lB += __shfl_xor_sync(0xffffffffu, lB, 1);
  lB += __shfl_xor_sync(0xffffffffu, lB, 2);

  // Merge the W warps' states: M = max m_w, L = Σ 2^(m_w − M) l_w, O = Σ 2^(m_w − M) o_w. A warp that saw no chunk
  // has m = −inf and drops out; a split none of whose warps saw one writes m = −inf, l = 0 and drops out of combine.
  __syncthreads();  // every warp is done with its ring
  float* mo = reinterpret_cast<float*>(smem);  // [W][16][D]
  float* ml = mo + W * 16 * D;                   // [W][16][2]
  {
    float* mine = mo + warp * 16 * D;
#pragma unroll
    for (int j = 0; j < VN; j++)
#pragma unroll
      for (int e = 0; e < 2; e++) {
        const int d = streamOutDim<L>(j, 2 * tig + e);
        mine[gid * D + d] = o[j][e];
        mine[(gid + 8) * D + d] = o[j][2 + e];
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
    float Lsum = 0.f, x = 0.f, y = 0.f;
#pragma unroll
    for (int w = 0; w < W; w++) {
      const float m = ml[w * 32 + r * 2];
      if (m == -INFINITY) continue;
      const float c = exp2f(m - M);
      Lsum += c * ml[w * 32 + r * 2 + 1];
      x += c * mo[(w * 16 + r) * D + d];
      y += c * mo[(w * 16 + r) * D + d + 1];
    }
    if (a.splits == 1) {
      store2(static_cast<T*>(a.out) + row.qRow * D + d, x / Lsum, y / Lsum);
    } else {
      const int64_t part = row.qRow * a.splits + blockIdx.z;
      *reinterpret_cast<float2*>(a.partO + part * D + d) = make_float2(x, y);
      if (d == 0) a.partML[part * 2] = M, a.partML[part * 2 + 1] = Lsum;
    }
  }
}

}  // namespace etok::kernels::cuda
