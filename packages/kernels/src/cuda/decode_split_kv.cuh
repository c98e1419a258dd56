// SIMT split-KV attention (flash-decoding): the decode kernel for every lever set at every dtype, and the simple
// causal-prefill path at f32 (and wherever the tensor-core kernel has no instance for the dims).
//
// Grid: x = query row × head chunk, y = batch × kv group, z = KV split. A block of 4 warps owns HC query heads of
// one kv group (all heads of the latent cache under mla) and one query row, over one contiguous share of the
// tokens it may see (a dense range, or under `sparse` the concatenated tokens of its selected blocks). A warp
// holds `32 / lanesPerToken` tokens at a time; each token's row is spread over `lanesPerToken` lanes in units of
// 8 values, so one K row is one coalesced run of 16-byte loads (bf16/f16) and is dequantized in registers
// (kv_formats.cuh) and used for all HC heads. Online softmax in the log2 domain per (warp slot, head); the slots,
// then the warps, are merged at the end; with one split the block writes the normalised output at the activation
// dtype, else (m, l, unnormalised o) partials for combine.cuh.
// Under mla the values are ckv: the first rank/8 key units, reused from registers (the latent is read once).
#pragma once

#include "kv_formats.cuh"

namespace etok::kernels::cuda {

constexpr int kSimtWarps = 4;

/** Merges (m2, l2) into (m, l) and returns the factors the two accumulators are scaled by. */
__device__ __forceinline__ void mergeState(float& m, float& l, float m2, float l2, float& c1, float& c2) {
  const float mNew = fmaxf(m, m2);
  if (mNew == -INFINITY) {
    c1 = 1.f, c2 = 0.f;
    return;
  }
  c1 = exp2f(m - mNew), c2 = exp2f(m2 - mNew);
  l = l * c1 + l2 * c2;
  m = mNew;
}

template <StoreFormat A, StoreFormat K, int UK, int UV, int HC>
__global__ void __launch_bounds__(kSimtWarps * 32) simtAttention(const AttnArgs a) {
  using T = typename Act<A>::T;
  extern __shared__ float shared[];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int lpt = a.lanesPerToken, slots = 32 / lpt, slot = lane / lpt, sl = lane % lpt;
  const int headChunks = (a.groupHeads + HC - 1) / HC;
  const int r = blockIdx.x / headChunks, hc = blockIdx.x % headChunks;
  const int bg = blockIdx.y, b = bg / a.groups, g = bg % a.groups;
  const int visible = visibleOf(a, r), selRow = bg * a.rows + r;
  const int logical = a.sparse ? __ldg(a.selCount + selRow) * a.blockSize : visible;
  const int share = (logical + a.splits - 1) / a.splits;
  const int begin = blockIdx.z * share, end = min(logical, begin + share);
  const int64_t kvRowBase = static_cast<int64_t>(bg) * a.kvLen;  // dense (b·kvHeads + g), mla b (groups = 1)

  float q[HC][UK][8];
#pragma unroll
  for (int h = 0; h < HC; h++) {
    const int hg = hc * HC + h;
    const int64_t qRow = (static_cast<int64_t>(b) * a.heads + g * a.groupHeads + hg) * a.rows + r;
#pragma unroll
    for (int u = 0; u < UK; u++) {
      const int d0 = (sl + lpt * u) * 8;
      if (hg < a.groupHeads && d0 < a.dk) {
        loadQuery8<A>(a, qRow, d0, q[h][u]);
#pragma unroll
        for (int i = 0; i < 8; i++) q[h][u][i] *= a.scaleLog2;
      } else {
#pragma unroll
        for (int i = 0; i < 8; i++) q[h][u][i] = 0.f;
      }
    }
  }

  float m[HC], l[HC], acc[HC][UV][8];
#pragma unroll
  for (int h = 0; h < HC; h++) {
    m[h] = -INFINITY, l[h] = 0.f;
#pragma unroll
    for (int u = 0; u < UV; u++)
#pragma unroll
      for (int i = 0; i < 8; i++) acc[h][u][i] = 0.f;
  }

  // Warp-uniform trip count: every lane reaches the shuffles; lanes past the end compute on zeros and drop them.
  for (int i0 = begin + warp * slots; i0 < end; i0 += kSimtWarps * slots) {
    const int i = i0 + slot;
    int t = i;
    bool valid = i < end;
    if (a.sparse && valid) {
      const int blk = __ldg(a.selList + static_cast<int64_t>(selRow) * a.listCap + i / a.blockSize);
      t = blk * a.blockSize + i % a.blockSize;
      valid = t < visible;
    }
    const int64_t kvRow = kvRowBase + t;
    float k[UK][8];
#pragma unroll
    for (int u = 0; u < UK; u++) {
      const int d0 = (sl + lpt * u) * 8;
      if (valid && d0 < a.dk) {
        loadKey8<K>(a, kvRow, d0, k[u]);
      } else {
#pragma unroll
        for (int e = 0; e < 8; e++) k[u][e] = 0.f;
      }
    }
    float v[UV][8];
#pragma unroll
    for (int u = 0; u < UV; u++) {
      const int d0 = (sl + lpt * u) * 8;
      if (a.mla) {
#pragma unroll
        for (int e = 0; e < 8; e++) v[u][e] = d0 < a.dv ? k[u][e] : 0.f;
      } else if (valid && d0 < a.dv) {
        Format<K>::load8(a.v, kvRow, d0, v[u]);
      } else {
#pragma unroll
        for (int e = 0; e < 8; e++) v[u][e] = 0.f;
      }
    }
#pragma unroll
    for (int h = 0; h < HC; h++) {
      float s = 0.f;
#pragma unroll
      for (int u = 0; u < UK; u++)
#pragma unroll
        for (int e = 0; e < 8; e++) s = fmaf(q[h][u][e], k[u][e], s);
      for (int off = lpt >> 1; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
      if (valid) {
        const float mNew = fmaxf(m[h], s);
        const float c = exp2f(m[h] - mNew), p = exp2f(s - mNew);
        l[h] = l[h] * c + p;
        m[h] = mNew;
#pragma unroll
        for (int u = 0; u < UV; u++)
#pragma unroll
          for (int e = 0; e < 8; e++) acc[h][u][e] = fmaf(acc[h][u][e], c, p * v[u][e]);
      }
    }
  }

  // Merge the token slots of the warp (lanes sl, sl + lpt, ... hold the same dims for different tokens).
  for (int off = lpt; off < 32; off <<= 1) {
#pragma unroll
    for (int h = 0; h < HC; h++) {
      const float m2 = __shfl_xor_sync(0xffffffffu, m[h], off), l2 = __shfl_xor_sync(0xffffffffu, l[h], off);
      float c1, c2;
      mergeState(m[h], l[h], m2, l2, c1, c2);
#pragma unroll
      for (int u = 0; u < UV; u++)
#pragma unroll
        for (int e = 0; e < 8; e++) {
          const float o2 = __shfl_xor_sync(0xffffffffu, acc[h][u][e], off);
          acc[h][u][e] = acc[h][u][e] * c1 + o2 * c2;
        }
    }
  }

  // Merge the warps through shared memory: [warp][head][dv] accumulators and [warp][head][2] states.
  const int dv = a.dv;
  float* sAcc = shared;
  float* sState = shared + kSimtWarps * HC * dv;
  if (slot == 0) {
#pragma unroll
    for (int h = 0; h < HC; h++) {
#pragma unroll
      for (int u = 0; u < UV; u++) {
        const int d0 = (sl + lpt * u) * 8;
        if (d0 < dv)
#pragma unroll
          for (int e = 0; e < 8; e++) sAcc[(warp * HC + h) * dv + d0 + e] = acc[h][u][e];
      }
      if (sl == 0) sState[(warp * HC + h) * 2] = m[h], sState[(warp * HC + h) * 2 + 1] = l[h];
    }
  }
  __syncthreads();
  for (int idx = threadIdx.x; idx < HC * dv; idx += blockDim.x) {
    const int h = idx / dv, d = idx % dv, hg = hc * HC + h;
    if (hg >= a.groupHeads) continue;
    float mm = -INFINITY;
#pragma unroll
    for (int w = 0; w < kSimtWarps; w++) mm = fmaxf(mm, sState[(w * HC + h) * 2]);
    float ll = 0.f, o = 0.f;
    if (mm != -INFINITY) {
#pragma unroll
      for (int w = 0; w < kSimtWarps; w++) {
        const float c = exp2f(sState[(w * HC + h) * 2] - mm);
        ll += sState[(w * HC + h) * 2 + 1] * c;
        o += sAcc[(w * HC + h) * dv + d] * c;
      }
    }
    const int64_t outRow = (static_cast<int64_t>(b) * a.heads + g * a.groupHeads + hg) * a.rows + r;
    if (a.splits == 1) {
      store1(static_cast<T*>(a.out) + outRow * dv + d, o / ll);
    } else {
      const int64_t part = outRow * a.splits + blockIdx.z;
      a.partO[part * dv + d] = o;
      if (d == 0) a.partML[part * 2] = mm, a.partML[part * 2 + 1] = ll;
    }
  }
}

}  // namespace etok::kernels::cuda
