// Which KV tiles a block of packed query rows visits, in what order, and the NSA union list.
//
// A block's tiles are 0 .. ⌈maxVisible / NTOK⌉ − 1 (maxVisible: what its last valid row may see). Under `sparse` the
// block visits only the tiles that at least one of its rows selected: tile T is kept when some row r of the block has
// a visible token of T in a block of its selection (the per-position selection of docs/spec.md §3, made by
// selectBlocks).
// Tiles are kept in ascending order in a shared list that the copy warp and the compute warpgroups walk alike; each
// row still masks per element, so the result is the exact per-position attention while bytes are read once per
// block. A KV split z of `splits` takes the positions [z·per, min(n, (z + 1)·per)) of that sequence.
#pragma once

#include "../common.cuh"

namespace etok::kernels::cuda::hopper {

/** The packed rows [pr0, pr0 + count) of one (batch, kv group) and what they see. */
struct RowBlock {
  int b, g, pr0, prEnd;  // prEnd: one past the last valid packed row
  __device__ __forceinline__ int firstPosition(const AttnArgs& a) const { return pr0 / a.groupHeads; }
  __device__ __forceinline__ int lastPosition(const AttnArgs& a) const { return (prEnd - 1) / a.groupHeads; }
};

__device__ __forceinline__ RowBlock rowBlock(const AttnArgs& a, int b, int g, int pr0, int rowsPerBlock) {
  return RowBlock{b, g, pr0, min(pr0 + rowsPerBlock, a.rows * a.groupHeads)};
}

/** Whether row `r` (a query position) of (b, g) selected a visible token of tokens [t0, t0 + ntok). */
__device__ __forceinline__ bool positionSelectsTile(const AttnArgs& a, int b, int g, int r, int t0, int ntok) {
  const int last = min(t0 + ntok, visibleOf(a, r)) - 1;
  if (last < t0) return false;
  const uint32_t* mask = a.selMask + static_cast<int64_t>((b * a.groups + g) * a.rows + r) * a.maskWords;
  const int first = t0 / a.blockSize, end = last / a.blockSize;
  for (int w = first >> 5; w <= end >> 5; w++) {
    uint32_t bits = __ldg(mask + w);
    if (w == first >> 5) bits &= ~0u << (first & 31);
    if (w == end >> 5 && (end & 31) != 31) bits &= (2u << (end & 31)) - 1u;
    if (bits) return true;
  }
  return false;
}

/** The block's tile sequence. Dense: tiles 0..count − 1 (list = nullptr). Sparse: the ascending list of tiles some
 *  row selected, built by every thread of the block into `list` (capacity ≥ tiles); `scratch` holds one int per
 *  warp. Ends with __syncthreads(). */
template <int NTOK, int THREADS>
__device__ __forceinline__ int buildTileSequence(const AttnArgs& a, const RowBlock& rb, int* list, int* scratch) {
  const int tiles = (visibleOf(a, rb.lastPosition(a)) + NTOK - 1) / NTOK;
  if (!a.sparse) return tiles;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int r0 = rb.firstPosition(a), r1 = rb.lastPosition(a);
  int base = 0;
  for (int j0 = 0; j0 < tiles; j0 += THREADS) {
    const int tile = j0 + static_cast<int>(threadIdx.x);
    bool keep = false;
    for (int r = r0; tile < tiles && r <= r1 && !keep; r++)
      keep = positionSelectsTile(a, rb.b, rb.g, r, tile * NTOK, NTOK);
    const uint32_t ballot = __ballot_sync(0xffffffffu, keep);
    if (lane == 0) scratch[warp] = __popc(ballot);
    __syncthreads();
    int before = base, total = 0;
    for (int w = 0; w < THREADS / 32; w++) {
      if (w < warp) before += scratch[w];
      total += scratch[w];
    }
    if (keep) list[before + __popc(ballot & ((1u << lane) - 1u))] = tile;
    __syncthreads();
    base += total;
  }
  return base;
}

/** The part of a sequence of `count` tiles that KV split `split` of `splits` walks. */
struct TileRange {
  int begin, end;
  const int* list;
  __device__ __forceinline__ int tile(int i) const { return list ? list[i] : i; }
  __device__ __forceinline__ int count() const { return end - begin; }
};

__device__ __forceinline__ TileRange splitRange(int count, int split, int splits, const int* list) {
  const int per = (count + splits - 1) / splits;
  const int begin = min(count, split * per);
  return TileRange{begin, min(count, begin + per), list};
}

}  // namespace etok::kernels::cuda::hopper
