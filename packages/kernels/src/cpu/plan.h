// The prepared CPU problem the attention core reads: stored caches, queries, block means, the per-call selection,
// the work units and where partial results of split KV ranges go. Plain data, no ISA-specific types, so the
// portable and AVX2 translation units share it.
#pragma once

#include <cstdint>
#include <vector>

#include "../common/quantize.h"
#include "etok/kernels/problem.h"

namespace etok::kernels::cpu {

/** Tokens a tile holds and queries a block shares each loaded KV vector between (attention_core.h). */
constexpr int kTileTokens = 32;
constexpr int kQueryBlockSize = 4;
/** Query blocks that must share a tile before its keys are transposed for GEMM-style scoring (scoring.h). */
constexpr int kTransposeMinBlocks = 8;

/** One work unit: a (batch, kv group), a chunk of query rows [row0, row1), and one of `splits` KV ranges. */
struct Unit {
  int64_t b = 0, g = 0, row0 = 0, row1 = 1, split = 0;
};

struct Plan {
  Problem p;
  int64_t rows = 1;            // query rows per sequence and head
  int64_t groups = 1;          // kv groups (1 under mla: the latent cache)
  int64_t headsPerGroup = 1;
  int64_t qkDim = 0, vDim = 0; // query/key length (mla: rank + ropeDim) and value/output length
  float scale = 1.0f;
  // Opt-in (ETOK_CPU_INT8_DOT=1): int8 read in place takes its dot products in 16-bit integers (int8_dot.h), rounding
  // the query and the softmax weights to int16; off, every path computes on the exact dequantized values.
  bool int8Dot = false;

  VectorStore q;                   // rows (b·heads + h)·rows + r, dim qkDim (mla: qNope ‖ qRope), activation dtype
  VectorStore keys[2];             // key segments: dense {k}; mla {ckv, kRope}. Rows (b·groups + g)·kvLen + t
  int keySegments = 1;
  VectorStore values;              // dense only; mla reads its values from keys[0] (ckv)
  const VectorStore& valueStore() const { return p.variant.mla ? keys[0] : values; }

  // sparse: block means of the (dtype, unquantized) keys, activation dtype, dim qkDim. Decode keeps one row per
  // block ((b·groups + g)·nBlocks + j); prefill keeps a running mean per token ((b·groups + g)·kvLen + t: the
  // mean of its block's tokens up to t), so a query sees the mean over exactly the tokens it may see.
  VectorStore means;
  int64_t nBlocks = 0;
  // Per call: selected block flags per (b, g, row) → nBlocks bytes each, and the selected lists.
  std::vector<uint8_t> selected;
  std::vector<std::vector<int32_t>> selectedList;

  std::vector<Unit> units;
  int64_t splits = 1;
  int64_t maxQueries = 1;          // queries per unit (headsPerGroup × rows of a chunk)
  // Partial results of split units: per unit, maxQueries × (vDim acc + m + l).
  std::vector<float> partial;

  VectorStore out;                 // rows like q, dim vDim, activation dtype

  int64_t cacheRow(int64_t b, int64_t g, int64_t t) const { return (b * groups + g) * p.shape.kvLen + t; }
  int64_t queryRow(int64_t b, int64_t h, int64_t r) const { return (b * p.shape.heads + h) * rows + r; }
  int64_t selectionIndex(int64_t b, int64_t g, int64_t r) const { return (b * groups + g) * rows + r; }
  int64_t partialStride() const { return maxQueries * (vDim + 2); }
};

/** Values a chunk of the integer loops of int8_dot.h (one vector of int16 lanes): rows must be a multiple of it. */
constexpr int64_t kIntDotChunk = 16;
/** Largest head (qkDim) whose dot product int32 holds exactly: |Σ| ≤ dim · 32767 · 127 < 2^31. */
constexpr int64_t kIntDotMaxDim = 512;

/** Which products of int8 read in place run in 16-bit integers (int8_dot.h) in a unit of `queries` queries, on a path
 *  with integer lanes or not. One rule for the core and for describe(): asked for (Plan::int8Dot), an int8 cache,
 *  read in place (one query block), one scale a row, rows of whole integer chunks. */
struct Int8DotUse {
  bool keys = false, values = false;
};
inline Int8DotUse int8DotUse(const Plan& P, int64_t queries, bool intLanes) {
  Int8DotUse use;
  if (!intLanes || !P.int8Dot || P.valueStore().format != StoreFormat::Int8 || queries > kQueryBlockSize) return use;
  use.keys = P.keySegments == 1 && P.keys[0].groups == 1 && P.qkDim % kIntDotChunk == 0 && P.qkDim <= kIntDotMaxDim;
  use.values = P.valueStore().groups == 1 && P.vDim % kIntDotChunk == 0;
  return use;
}

/** Per worker scratch, sized once by the dispatcher. */
struct Scratch {
  AlignedVector<float> qf, acc, m, l, scores, probs, scaled, bias, tmp;
  AlignedVector<float> kTile, vTile;  // a tile widened to f32 (kTile × qkDim, kTile × vDim)
  AlignedVector<float> keysT;         // a tile's keys transposed, qkDim × kTile (tokens contiguous)
  AlignedVector<int16_t> qi;          // queries rounded to int16 for int8 keys (int8_dot.h), qkDim each
  AlignedVector<float> qScale;        // and their scales
  std::vector<int64_t> ranges;
};

}  // namespace etok::kernels::cpu
