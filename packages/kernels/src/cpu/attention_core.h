// The attention core, written once. What varies is a policy:
//   KV layout  — Plan::keys (dense: one segment per kv head; mla: ckv ‖ kRope of the shared latent cache) and
//                Plan::valueStore();
//   selection  — all visible tokens, or the NSA-style blocks chosen per (sequence, group, row) by selectRow();
//   KV storage — Fmt<F> (f32, bf16, f16, int8, int4, fp8), dequantized in registers; group scales multiply the
//                widened keys (QK) and are folded into the softmax weights (PV).
// Online softmax over tiles of kTile tokens (no score matrix), query blocks of up to kQueryBlock queries that share
// each loaded KV vector (the GQA heads of a group, or rows of a prefill chunk).
// This file is the driver (a work unit's ranges, tiles and query blocks); the parts, in the order they build on each
// other: kv_formats.h (storage), prefetch.h, tile_view.h, scoring.h (QK), accumulation.h (PV), int8_dot.h,
// tile_step.h (one tile: scores, online softmax, values), widen.h, block_selection.h (NSA selection).
// Include inside a translation unit that first defines ETOK_CPU_ISA and includes its vec_<isa>.h.
#pragma once

#ifndef ETOK_CPU_ISA
#error "define ETOK_CPU_ISA (portable, avx2 or avx512) and include its vector header before attention_core.h"
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "../common/numeric.h"
#include "plan.h"

namespace etok::kernels::cpu::ETOK_CPU_ISA {

#include "kv_formats.h"

constexpr int kTile = kTileTokens;
constexpr int kQueryBlock = kQueryBlockSize;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

#include "prefetch.h"
#include "tile_view.h"
#include "scoring.h"
#include "accumulation.h"
#include "int8_dot.h"
#include "tile_step.h"
#include "widen.h"

/** One work unit: queries of a (b, g, row chunk) over its KV ranges (or its split of them). */
template <StoreFormat F>
void attendUnitAs(Plan& P, int64_t unitIndex, Scratch& S) {
  const Unit& u = P.units[unitIndex];
  const Problem& p = P.p;
  const int64_t G = P.headsPerGroup, nRows = u.row1 - u.row0, M = G * nRows, bs = p.params.blockSize;
  const bool sparse = p.variant.sparse;
  // Queries ordered row-major (row, head): a block of kQueryBlock shares a row when G is a multiple of it.
  std::vector<int64_t>& vis = S.ranges;  // reused: [0, M) visible ends, then token ranges
  vis.assign(static_cast<size_t>(M), 0);
  for (int64_t ri = 0; ri < nRows; ri++)
    for (int64_t hi = 0; hi < G; hi++) {
      const int64_t qi = ri * G + hi;
      decodeRow(P.q, P.queryRow(u.b, u.g * G + hi, u.row0 + ri), &S.qf[qi * P.qkDim]);
      vis[qi] = visibleTokens(p, u.row0 + ri);
    }
  std::fill(S.acc.begin(), S.acc.begin() + M * P.vDim, 0.0f);
  std::fill(S.m.begin(), S.m.begin() + M, kNegInf);
  std::fill(S.l.begin(), S.l.begin() + M, 0.0f);

  // Token ranges [begin, end) to visit, appended after the M visible ends.
  const int64_t maxVis = visibleTokens(p, u.row1 - 1), minVis = visibleTokens(p, u.row0);
  if (sparse) {
    std::vector<uint8_t> any(static_cast<size_t>(P.nBlocks), 0);
    for (int64_t r = u.row0; r < u.row1; r++)
      for (int32_t j : P.selectedList[P.selectionIndex(u.b, u.g, r)]) any[j] = 1;
    for (int64_t j = 0; j < P.nBlocks; j++) {
      if (!any[j]) continue;
      const int64_t begin = j * bs, end = std::min(maxVis, begin + bs);
      if (begin >= end) continue;
      if (vis.size() > static_cast<size_t>(M) && vis.back() == begin) vis.back() = end;
      else vis.push_back(begin), vis.push_back(end);
    }
  } else {
    vis.push_back(0), vis.push_back(maxVis);
  }
  if (P.splits > 1) {  // keep this split's share of the tokens, cut at tile multiples
    int64_t total = 0;
    for (size_t i = M; i < vis.size(); i += 2) total += vis[i + 1] - vis[i];
    const int64_t tilesTotal = (total + kTile - 1) / kTile;
    const int64_t lo = std::min(total, tilesTotal * u.split / P.splits * kTile);
    const int64_t hi = std::min(total, tilesTotal * (u.split + 1) / P.splits * kTile);
    int64_t seen = 0;
    size_t w = M;
    for (size_t i = M; i < vis.size(); i += 2) {
      const int64_t begin = vis[i], len = vis[i + 1] - begin;
      const int64_t from = std::max(lo, seen), to = std::min(hi, seen + len);
      if (from < to) vis[w] = begin + (from - seen), vis[w + 1] = begin + (to - seen), w += 2;
      seen += len;
    }
    vis.resize(w);
  }

  const bool prefill = p.phase == Phase::Prefill;
  // When more than one query block reads a tile (prefill; decode with more than kQueryBlock heads a group), the tile
  // is widened to f32 scratch once, in row order, and every block reads the copy: values always, keys too for
  // formats other than f32. A single block (decode, GQA ratio ≤ kQueryBlock) reads the tile in place at its stored
  // format: with the next tile prefetched as this one is scored, a row-order copy only adds a pass over memory
  // that the arithmetic cannot hide (docs/performance-log.md, 2026-11-26).
  const bool widenKeys = F != StoreFormat::F32 && M > kQueryBlock;
  const bool widenValues = M > kQueryBlock;
  const int64_t queryBlocks = (M + kQueryBlock - 1) / kQueryBlock;
  const bool transposeTiles = M >= kTransposeMinBlocks * kQueryBlock;
  // Read in place, a pair-split format meets its queries, and leaves its accumulators, in pair-split order.
  const bool splitKeys = Fmt<F>::kPairSplit && !widenKeys, splitValues = Fmt<F>::kPairSplit && !widenValues;
  if (splitKeys)
    for (int64_t qi = 0; qi < M; qi++)
      for (int sg = 0, off = 0; sg < P.keySegments; off += static_cast<int>(P.keys[sg].dim), sg++)
        pairSplit(&S.qf[qi * P.qkDim + off], P.keys[sg].dim, true);
  // int8 read in place, when asked for (Plan::int8Dot): dot products in 16-bit integers (int8_dot.h), the queries
  // rounded to int16 once here.
  const Int8DotUse intDot = F == StoreFormat::Int8 ? int8DotUse(P, M, IntVec::kAvailable) : Int8DotUse{};
  const bool intKeys = intDot.keys, intValues = intDot.values;
  if (intKeys)
    for (int64_t qi = 0; qi < M; qi++) S.qScale[qi] = quantizeQuery(&S.qf[qi * P.qkDim], P.qkDim, &S.qi[qi * P.qkDim]);
  int64_t qIdx[kQueryBlock];
  // One view, refilled a tile at a time (a TileView is a few hundred bytes: built and copied per tile, the
  // copies cost more than the softmax).
  TileView view;
  view.keySegments = P.keySegments;
  view.scale = P.scale;
  view.vDim = P.vDim;
  view.intKeys = intKeys, view.intValues = intValues;
  auto toTile = [&](int64_t t0) {
    for (int sgi = 0; sgi < P.keySegments; sgi++) view.keys[sgi] = cacheSegment(P.keys[sgi], P.cacheRow(u.b, u.g, t0));
    view.values = cacheSegment(P.valueStore(), P.cacheRow(u.b, u.g, t0));
    view.keysT = nullptr;
    view.clearAhead();
  };
  // One query block over one tile: mask (prefill), then the online-softmax step.
  auto step = [&](int64_t qb, int64_t t0, int n, const TileView& view) {
    const int count = static_cast<int>(std::min<int64_t>(kQueryBlock, M - qb));
    for (int j = 0; j < count; j++) qIdx[j] = qb + j;
    const float* bias = nullptr;
    if (prefill && (sparse || t0 + n > minVis)) {
      float* bb = S.bias.data();
      bool anyAllowed = false;
      for (int j = 0; j < count; j++) {
        const int64_t row = u.row0 + qIdx[j] / G;
        const uint8_t* sel = sparse ? &P.selected[P.selectionIndex(u.b, u.g, row) * P.nBlocks] : nullptr;
        for (int i = 0; i < n; i++) {
          const int64_t t = t0 + i;
          const bool ok = t < vis[qIdx[j]] && (!sel || sel[t / bs]);
          bb[j * kTile + i] = ok ? 0.0f : kNegInf;
          anyAllowed = anyAllowed || ok;
        }
      }
      if (!anyAllowed) return;
      bias = bb;
    }
    if (transposeTiles) tileBlock<StoreFormat::F32, StoreFormat::F32, true>(view, S, P.qkDim, qIdx, count, n, bias);
    else if (widenKeys) tileBlock<StoreFormat::F32, StoreFormat::F32>(view, S, P.qkDim, qIdx, count, n, bias);
    else if (widenValues) tileBlock<F, StoreFormat::F32>(view, S, P.qkDim, qIdx, count, n, bias);
    else tileBlock<F, F>(view, S, P.qkDim, qIdx, count, n, bias);
  };
  // What is requested from memory while tile [t0, t0 + n) computes. Read in place (one query block, not MLA), QK
  // requests this tile's values and PV the next tile's keys, each about half a tile before it is read: requested a
  // whole tile ahead, a tile's worth of lines waits in L1 beside the tile being read and pushes it out
  // (docs/performance-log.md, 2026-11-26). Widened tiles, and MLA
  // (whose values are its keys), request the whole next tile while this one is widened and scored. The next tile
  // is the next range's first when this range ends; the unit's first tile is not requested ahead.
  auto requestPlan = [&](size_t ri, int64_t t0, int n, bool inPlace) {
    int64_t next = t0 + kTile, end = vis[ri + 1];
    const bool last = next >= end && ri + 2 >= vis.size();
    if (next >= end && !last) next = vis[ri + 2], end = vis[ri + 3];
    const int nNext = last ? 0 : static_cast<int>(std::min<int64_t>(kTile, end - next));
    const int64_t row = last ? 0 : P.cacheRow(u.b, u.g, next);
    if (inPlace && !p.variant.mla) {
      view.duringQKCount = addRanges(cacheSegment(P.values, P.cacheRow(u.b, u.g, t0)), n, view.duringQK);
      if (!last) view.duringPVCount = addRanges(cacheSegment(P.keys[0], row), nNext, view.duringPV);
      view.inPV = true;
    } else {
      if (last) return;
      for (int sg = 0; sg < P.keySegments; sg++)
        view.duringQKCount += addRanges(cacheSegment(P.keys[sg], row), nNext, view.duringQK + view.duringQKCount);
      if (!p.variant.mla) view.duringPVCount = addRanges(cacheSegment(P.values, row), nNext, view.duringPV);
      view.inPV = false;
    }
    // Slices: one a token pair in QK (all at once for a single token), one a query block when the keys are
    // transposed, one a chunk of values in PV.
    view.planAhead(transposeTiles ? queryBlocks : std::max(1, n / 2), pvChunks<F>(view.values));
  };
  if (widenValues) {
    // Tile outer: widen each tile once, then every query block reads the f32 copy.
    for (size_t ri = M; ri < vis.size(); ri += 2)
      for (int64_t t0 = vis[ri]; t0 < vis[ri + 1]; t0 += kTile) {
        const int n = static_cast<int>(std::min<int64_t>(kTile, vis[ri + 1] - t0));
        toTile(t0);
        requestPlan(ri, t0, n, false);
        dequantizeTile<F>(view, S, n, P.qkDim, p.variant.mla, widenKeys);
        TileView& wide = view;
        // With many query blocks (prefill) the keys (f32 by now) are transposed once, so each block scores the tile
        // as a small GEMM; with fewer than kTransposeMinBlocks the transpose costs more than it saves
        // (docs/performance-log.md, 2026-11-26).
        if (transposeTiles) {
          transposeKeys(wide, n, S.keysT.data());
          wide.keysT = S.keysT.data();
        }
        for (int64_t qb = 0; qb < M; qb += kQueryBlock) {
          // Transposed, the next tile is requested a slice a query block: in one burst at the transpose, the
          // requests would stall it.
          if (transposeTiles) wide.requestInQK(qb / kQueryBlock);
          step(qb, t0, n, wide);
          if (!transposeTiles) wide.clearAhead();  // requested once, by the first query block
        }
      }
  } else {
    // Query block outer (flash-attention order): its q, accumulators and scores stay in L1 while the KV streams.
    for (int64_t qb = 0; qb < M; qb += kQueryBlock)
      for (size_t ri = M; ri < vis.size(); ri += 2)
        for (int64_t t0 = vis[ri]; t0 < vis[ri + 1]; t0 += kTile) {
          const int n = static_cast<int>(std::min<int64_t>(kTile, vis[ri + 1] - t0));
          toTile(t0);
          requestPlan(ri, t0, n, true);
          step(qb, t0, n, view);
        }
  }

  if (splitValues)
    for (int64_t qi = 0; qi < M; qi++) pairSplit(&S.acc[qi * P.vDim], P.vDim, false);
  if (P.splits > 1) {
    float* part = &P.partial[unitIndex * P.partialStride()];
    std::copy(S.acc.begin(), S.acc.begin() + M * P.vDim, part);
    std::copy(S.m.begin(), S.m.begin() + M, part + M * P.vDim);
    std::copy(S.l.begin(), S.l.begin() + M, part + M * P.vDim + M);
    return;
  }
  float* o = S.tmp.data();
  for (int64_t qi = 0; qi < M; qi++) {
    const float inv = S.l[qi] > 0 ? 1.0f / S.l[qi] : 0.0f;
    for (int64_t d = 0; d < P.vDim; d++) o[d] = S.acc[qi * P.vDim + d] * inv;
    encodeRow(P.out, P.queryRow(u.b, u.g * G + qi % G, u.row0 + qi / G), o);
  }
}

inline void attendUnit(Plan& P, int64_t unit, Scratch& S) {
  switch (P.valueStore().format) {
    case StoreFormat::F32: attendUnitAs<StoreFormat::F32>(P, unit, S); break;
    case StoreFormat::BF16: attendUnitAs<StoreFormat::BF16>(P, unit, S); break;
    case StoreFormat::F16: attendUnitAs<StoreFormat::F16>(P, unit, S); break;
    case StoreFormat::Int8: attendUnitAs<StoreFormat::Int8>(P, unit, S); break;
    case StoreFormat::Int4: attendUnitAs<StoreFormat::Int4>(P, unit, S); break;
    case StoreFormat::Fp8: attendUnitAs<StoreFormat::Fp8>(P, unit, S); break;
  }
}

#include "block_selection.h"

}  // namespace etok::kernels::cpu::ETOK_CPU_ISA
