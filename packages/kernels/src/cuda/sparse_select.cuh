// NSA-style block selection (docs/spec.md §3) for one (batch, kv group, query row) per block:
//   score(j) = Σ_{heads h of the group} q_h · mean_j = (Σ_h q_h) · mean_j    (mla: qNope‖qRope · ckv‖kRope means)
//   selected = {0} ∪ blocks holding the last `window` visible tokens ∪ topK best other blocks (ties: lower index)
// Block means are computed at prepare time on the host exactly as the fp64 reference does (mean in double of the
// dtype-rounded keys before any kv-* quantization, rounded to f32 and then to the dtype) and stored as f32:
// `meanPerToken` false: one row per block (the last block's mean over its tokens below kvLen); true (prefill with
// window 0, where a row's partial last block is a candidate): one row per token t = mean of its block's tokens
// ≤ t. Top-k is a bitonic sort of (score desc, index asc) keys in shared memory; the result is a bit mask (the
// tensor-core kernel masks per row) and the ascending list of blocks (the SIMT kernel walks it).
#pragma once

#include "kv_formats.cuh"

namespace etok::kernels::cuda {

struct SelectArgs {
  const float* means = nullptr;  // [batch·groups][meanRows][dk]
  int meanRows = 0;
  bool meanPerToken = false;
  int topK = 0, window = 0, sortCapacity = 0;  // sortCapacity: power of two ≥ the most blocks a row can see
  uint32_t* mask = nullptr;
  int* list = nullptr;
  int* count = nullptr;
};

constexpr int kSelectThreads = 256;

inline size_t selectSharedBytes(int dk, int sortCapacity) {
  return sizeof(float) * dk + sizeof(unsigned long long) * sortCapacity + sizeof(int) * (kSelectThreads / 32 + 1);
}

/** An f32 mapped to a uint32 whose unsigned order is the float order. */
__device__ __forceinline__ uint32_t orderedBits(float x) {
  const uint32_t u = __float_as_uint(x);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

template <StoreFormat A>
__global__ void __launch_bounds__(kSelectThreads, 1) selectBlocks(const AttnArgs a, const SelectArgs s) {
  extern __shared__ __align__(16) uint8_t smem[];
  float* qsum = reinterpret_cast<float*>(smem);
  unsigned long long* keys = reinterpret_cast<unsigned long long*>(smem + sizeof(float) * ((a.dk + 3) & ~3));
  int* warpTotals = reinterpret_cast<int*>(keys + s.sortCapacity);
  constexpr unsigned long long kNone = ~0ull;

  const int selRow = blockIdx.x, r = selRow % a.rows, bg = selRow / a.rows;
  const int b = bg / a.groups, g = bg % a.groups;
  const int visible = visibleOf(a, r), bs = a.blockSize;
  const int nBlocks = (visible + bs - 1) / bs;

  // Σ over the group's heads of the query (at the activation dtype), 8 dims a thread at a time.
  for (int d0 = threadIdx.x * 8; d0 < a.dk; d0 += kSelectThreads * 8) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, x[8];
    for (int hg = 0; hg < a.groupHeads; hg++) {
      loadQuery8<A>(a, (static_cast<int64_t>(b) * a.heads + g * a.groupHeads + hg) * a.rows + r, d0, x);
#pragma unroll
      for (int e = 0; e < 8; e++) acc[e] += x[e];
    }
#pragma unroll
    for (int e = 0; e < 8; e++) qsum[d0 + e] = acc[e];
  }
  __syncthreads();

  const int firstWindowBlock = s.window > 0 ? max(0, visible - s.window) / bs : nBlocks;
  const float* means = s.means + static_cast<int64_t>(bg) * s.meanRows * a.dk;
  for (int j = threadIdx.x; j < s.sortCapacity; j += kSelectThreads) {
    unsigned long long key = kNone;
    if (j < nBlocks && j != 0 && j < firstWindowBlock) {
      const int meanRow = s.meanPerToken ? min(visible, (j + 1) * bs) - 1 : j;
      const float4* mean = reinterpret_cast<const float4*>(means + static_cast<int64_t>(meanRow) * a.dk);
      float score = 0.f;
      for (int d = 0; d < a.dk / 4; d++) {
        const float4 m4 = __ldg(mean + d);
        score = fmaf(qsum[4 * d], m4.x, score);
        score = fmaf(qsum[4 * d + 1], m4.y, score);
        score = fmaf(qsum[4 * d + 2], m4.z, score);
        score = fmaf(qsum[4 * d + 3], m4.w, score);
      }
      key = (static_cast<unsigned long long>(~orderedBits(score)) << 32) | static_cast<uint32_t>(j);
    }
    keys[j] = key;
  }
  __syncthreads();

  // Bitonic sort, ascending: best score first, ties to the lower block index, non-candidates (kNone) last.
  const int candidates = max(0, min(nBlocks, firstWindowBlock) - 1);
  if (candidates > s.topK) {
    for (int k = 2; k <= s.sortCapacity; k <<= 1)
      for (int j = k >> 1; j > 0; j >>= 1) {
        for (int i = threadIdx.x; i < s.sortCapacity; i += kSelectThreads) {
          const int ixj = i ^ j;
          if (ixj > i) {
            const unsigned long long x = keys[i], y = keys[ixj];
            if ((x > y) == ((i & k) == 0)) keys[i] = y, keys[ixj] = x;
          }
        }
        __syncthreads();
      }
  }
  // Membership: sink, window, and the first topK sorted candidates (every candidate when there are no more).
  const int take = min(candidates, s.topK);
  uint32_t* mask = s.mask + static_cast<int64_t>(selRow) * a.maskWords;
  for (int i = threadIdx.x; i < a.maskWords; i += kSelectThreads) mask[i] = 0u;
  __syncthreads();
  if (candidates > s.topK) {
    for (int i = threadIdx.x; i < take; i += kSelectThreads) {
      const int j = static_cast<int>(keys[i] & 0xffffffffu);
      atomicOr(mask + (j >> 5), 1u << (j & 31));
    }
  } else {
    for (int j = threadIdx.x + 1; j < min(nBlocks, firstWindowBlock); j += kSelectThreads)
      atomicOr(mask + (j >> 5), 1u << (j & 31));
  }
  for (int j = threadIdx.x; j < nBlocks; j += kSelectThreads)
    if (j == 0 || j >= firstWindowBlock) atomicOr(mask + (j >> 5), 1u << (j & 31));
  __syncthreads();

  // Ascending list of the selected blocks: a block-wide exclusive scan of the membership bits, chunk by chunk.
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int base = 0;
  for (int j0 = 0; j0 < nBlocks; j0 += kSelectThreads) {
    const int j = j0 + threadIdx.x;
    const bool in = j < nBlocks && ((mask[j >> 5] >> (j & 31)) & 1u);
    const uint32_t ballot = __ballot_sync(0xffffffffu, in);
    if (lane == 0) warpTotals[warp] = __popc(ballot);
    __syncthreads();
    int before = base;
    for (int w = 0; w < warp; w++) before += warpTotals[w];
    if (in) s.list[static_cast<int64_t>(selRow) * a.listCap + before + __popc(ballot & ((1u << lane) - 1u))] = j;
    int total = 0;
    for (int w = 0; w < kSelectThreads / 32; w++) total += warpTotals[w];
    __syncthreads();
    base += total;
  }
  if (threadIdx.x == 0) s.count[selRow] = base;
}

}  // namespace etok::kernels::cuda
