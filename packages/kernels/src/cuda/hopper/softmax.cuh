// Online softmax on wgmma accumulator fragments, and P re-packed as the A operand of the next wgmma.
//
// A warpgroup's m64nN accumulator gives thread (warp w, lane = 4·gid + tig) the values
//   s[4j + e], j < N/8:  row 16w + gid + 8·(e ≥ 2), column 8j + 2·tig + (e & 1),
// so each thread holds two rows (A: gid, B: gid + 8) and each row is spread over the 4 lanes of a quad. The
// A-operand registers of an m64k16 step kk take exactly s[8kk .. 8kk + 7] in pairs, so P never leaves registers.
#pragma once

#include "../prefill_mma.cuh"  // pack2, PackedRow, packedRow
#include "primitives.cuh"

namespace etok::kernels::cuda::hopper {

/** What the tile loop keeps of a thread's two rows (A: gid, B: gid + 8 of its warp): visibility, NSA selection
 *  row, running max (log2 domain) and running sum. The rest of PackedRow is recomputed for the epilogue, so the
 *  loop holds as few registers as possible beside the accumulators. */
struct RowPair {
  int prA, visA, visB, selA, selB;
  float mA = -INFINITY, mB = -INFINITY, lA = 0.f, lB = 0.f;
};

__device__ __forceinline__ RowPair rowPair(const AttnArgs& a, int b, int g, int prA) {
  const PackedRow A = packedRow(a, b, g, prA), B = packedRow(a, b, g, prA + 8);
  RowPair rp;
  rp.prA = prA, rp.visA = A.visible, rp.visB = B.visible, rp.selA = A.selRow, rp.selB = B.selRow;
  return rp;
}

/** 64 bits of a row's selection mask from block `blk0` on (bit i: block blk0 + i); a tile never spans more. */
__device__ __forceinline__ uint64_t selectionWindow(const AttnArgs& a, int visible, int selRow, int blk0) {
  if (visible == 0) return 0;  // a row past the end
  const uint32_t* mask = a.selMask + static_cast<int64_t>(selRow) * a.maskWords;
  const int w = blk0 >> 5;
  const uint64_t lo = __ldg(mask + w), hi = w + 1 < a.maskWords ? __ldg(mask + w + 1) : 0u;
  return ((hi << 32) | lo) >> (blk0 & 31);
}

/** Masks, scales into the log2 domain and exponentiates one tile's scores for the thread's two rows; moves their
 *  running max and sum; returns the factors (A, B) that rescale the rows' output accumulators. `masked` false: the
 *  caller knows every token of the tile is allowed for every row of the warp (no test per element). A row that has
 *  seen no allowed token keeps m = −inf: its weights are 0 and nothing is rescaled. */
template <int NTOK>
__device__ __forceinline__ float2 softmaxTile(const AttnArgs& a, RowPair& rp, float (&s)[NTOK / 2], int t0,
                                              bool masked) {
  const int tig = threadIdx.x & 3;
  float mxA = -INFINITY, mxB = -INFINITY;
  if (masked) {
    const int shift = __ffs(a.blockSize) - 1, blk0 = t0 >> shift;  // block sizes are powers of two here
    const uint64_t winA = a.sparse ? selectionWindow(a, rp.visA, rp.selA, blk0) : ~uint64_t{0};
    const uint64_t winB = a.sparse ? selectionWindow(a, rp.visB, rp.selB, blk0) : ~uint64_t{0};
#pragma unroll
    for (int j = 0; j < NTOK / 8; j++) {
#pragma unroll
      for (int e = 0; e < 2; e++) {
        const int t = t0 + 8 * j + 2 * tig + e, bit = (t >> shift) - blk0;
        const bool okA = t < rp.visA && ((winA >> bit) & 1u);
        const bool okB = t < rp.visB && ((winB >> bit) & 1u);
        s[4 * j + e] = okA ? s[4 * j + e] * a.scaleLog2 : -INFINITY;
        s[4 * j + 2 + e] = okB ? s[4 * j + 2 + e] * a.scaleLog2 : -INFINITY;
      }
    }
  } else {
#pragma unroll
    for (int i = 0; i < NTOK / 2; i++) s[i] *= a.scaleLog2;
  }
#pragma unroll
  for (int j = 0; j < NTOK / 8; j++) {
    mxA = fmaxf(mxA, fmaxf(s[4 * j], s[4 * j + 1]));
    mxB = fmaxf(mxB, fmaxf(s[4 * j + 2], s[4 * j + 3]));
  }
  mxA = fmaxf(mxA, __shfl_xor_sync(0xffffffffu, mxA, 1));
  mxA = fmaxf(mxA, __shfl_xor_sync(0xffffffffu, mxA, 2));
  mxB = fmaxf(mxB, __shfl_xor_sync(0xffffffffu, mxB, 1));
  mxB = fmaxf(mxB, __shfl_xor_sync(0xffffffffu, mxB, 2));
  const float mNewA = fmaxf(rp.mA, mxA), mNewB = fmaxf(rp.mB, mxB);
  const float cA = mNewA == -INFINITY ? 1.f : exp2f(rp.mA - mNewA);
  const float cB = mNewB == -INFINITY ? 1.f : exp2f(rp.mB - mNewB);
  const float subA = mNewA == -INFINITY ? 0.f : mNewA, subB = mNewB == -INFINITY ? 0.f : mNewB;
  rp.mA = mNewA, rp.mB = mNewB;
  float sumA = 0.f, sumB = 0.f;
#pragma unroll
  for (int j = 0; j < NTOK / 8; j++) {
    s[4 * j] = exp2f(s[4 * j] - subA), s[4 * j + 1] = exp2f(s[4 * j + 1] - subA);
    s[4 * j + 2] = exp2f(s[4 * j + 2] - subB), s[4 * j + 3] = exp2f(s[4 * j + 3] - subB);
    sumA += s[4 * j] + s[4 * j + 1];
    sumB += s[4 * j + 2] + s[4 * j + 3];
  }
  rp.lA = rp.lA * cA + sumA, rp.lB = rp.lB * cB + sumB;
  return make_float2(cA, cB);
}

/** Multiplies a thread's output accumulators by the rows' factors (A: e < 2, B: e ≥ 2). */
template <int N> __device__ __forceinline__ void rescale(float (&o)[N], float2 c) {
#pragma unroll
  for (int i = 0; i < N; i += 4) o[i] *= c.x, o[i + 1] *= c.x, o[i + 2] *= c.y, o[i + 3] *= c.y;
}

/** The weights as A operands: p[kk] for tokens 16kk .. 16kk + 15. */
template <class T, int NTOK>
__device__ __forceinline__ void packWeights(const float (&s)[NTOK / 2], uint32_t (&p)[NTOK / 16][4]) {
#pragma unroll
  for (int kk = 0; kk < NTOK / 16; kk++)
#pragma unroll
    for (int q = 0; q < 4; q++) p[kk][q] = pack2<T>(s[8 * kk + 2 * q], s[8 * kk + 2 * q + 1]);
}

/** Sums the rows' running sums over the quad (each lane summed its own columns). */
__device__ __forceinline__ void finishSums(RowPair& rp) {
  rp.lA += __shfl_xor_sync(0xffffffffu, rp.lA, 1);
  rp.lA += __shfl_xor_sync(0xffffffffu, rp.lA, 2);
  rp.lB += __shfl_xor_sync(0xffffffffu, rp.lB, 1);
  rp.lB += __shfl_xor_sync(0xffffffffu, rp.lB, 2);
}

/** Writes the thread's part of `N` output columns starting at `col0` for both rows: normalised at the activation
 *  type when the launch has one split, else unnormalised f32 partials with the rows' (m, l). */
template <class T, int N>
__device__ __forceinline__ void storeRows(const AttnArgs& a, int b, int g, const RowPair& rp, const float (&o)[N / 2],
                                          int col0, bool writesState) {
  const int tig = threadIdx.x & 3;
#pragma unroll
  for (int half = 0; half < 2; half++) {
    const PackedRow row = packedRow(a, b, g, rp.prA + 8 * half);
    if (!row.valid) continue;
    const float m = half ? rp.mB : rp.mA, l = half ? rp.lB : rp.lA;
    if (a.splits == 1) {
      const float inv = 1.f / l;
      T* out = static_cast<T*>(a.out) + row.qRow * a.dv + col0 + 2 * tig;
#pragma unroll
      for (int j = 0; j < N / 8; j++) store2(out + 8 * j, o[4 * j + 2 * half] * inv, o[4 * j + 2 * half + 1] * inv);
    } else {
      const int64_t part = row.qRow * a.splits + blockIdx.z;
      float* out = a.partO + part * a.dv + col0 + 2 * tig;
#pragma unroll
      for (int j = 0; j < N / 8; j++)
        *reinterpret_cast<float2*>(out + 8 * j) = make_float2(o[4 * j + 2 * half], o[4 * j + 2 * half + 1]);
      if (writesState && tig == 0) a.partML[part * 2] = m, a.partML[part * 2 + 1] = l;
    }
  }
}

}  // namespace etok::kernels::cuda::hopper
