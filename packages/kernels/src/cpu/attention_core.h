// The attention core, written once (STYLE 13). What varies is a policy:
//   KV layout  — Plan::keys (dense: one segment per kv head; mla: ckv ‖ kRope of the shared latent cache) and
//                Plan::valueStore();
//   selection  — all visible tokens, or the NSA-style blocks chosen per (sequence, group, row) by selectRow();
//   KV storage — Fmt<F> (f32, bf16, f16, int8, int4, fp8), dequantized in registers; group scales multiply the
//                widened keys (QK) and are folded into the softmax weights (PV).
// Online softmax over tiles of kTile tokens (no score matrix), query blocks of up to kQueryBlock queries that share
// each loaded KV vector (the GQA heads of a group, or rows of a prefill chunk).
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

/** Where a tile's rows live: in the cache at its stored format, or in a dequantized f32 copy (dequantizeTile). */
struct Segment {
  const uint8_t* base = nullptr;     // row of the tile's first token
  int64_t stride = 0;                // bytes from one token's row to the next
  const uint16_t* scales = nullptr;  // f16 scales of the first token (scaled formats only)
  int64_t scaleStride = 0;
  int64_t dim = 0, groups = 0, groupSize = 0;
  const uint8_t* row(int i) const { return base + i * stride; }
  const uint16_t* rowScales(int i) const { return scales + i * scaleStride; }
};

/** Requests the 64-byte line at p into the cache. */
inline void prefetchLine(const uint8_t* p) {
#if defined(__GNUC__)
  __builtin_prefetch(p, 0, 3);
  // g++ 12 finds a function made only of prefetches free of side effects and deletes its calls (no prefetch
  // reached the binary); an empty volatile asm statement is a side effect it keeps, and costs nothing.
  asm volatile("");
#else
  (void)p;
#endif
}

/** Bytes read later (a tile's rows, or its scales, are contiguous in the cache) requested from memory while
 *  the arithmetic before them runs, a slice at a time. Decode reads each KV byte once; without requests issued
 *  during the arithmetic the core waits on DRAM, then computes, in turn. The slices spread the requests evenly over
 *  the tile's work: requested in a burst (a row per token scored, keys and values together) they left the memory
 *  idle while PV ran, and a faster QK loop then made dense f32 decode slower. */
struct AheadRange {
  const uint8_t* first = nullptr;  // the 64-byte line holding the range's first byte
  int64_t lines = 0, perPart = 0;

  static AheadRange of(const void* begin, int64_t bytes) {
    AheadRange r;
    const auto at = reinterpret_cast<uintptr_t>(begin);
    r.first = reinterpret_cast<const uint8_t*>(at & ~uintptr_t{63});
    r.lines = bytes > 0 ? (static_cast<int64_t>(at & 63) + bytes + 63) / 64 : 0;
    return r;
  }
  /** Cuts the range into slices for `parts` requests: parts rounded down to a power of two, so the plan costs a
   *  shift rather than a division (this runs once a tile), and the requests past the last slice find it empty. */
  void plan(int64_t parts) {
    int shift = 0;
    while ((int64_t{2} << shift) <= parts) shift++;
    perPart = (lines + (int64_t{1} << shift) - 1) >> shift;
  }
  /** Slice `part` of the plan: its first line and how many (0 past the range's end). */
  struct Slice {
    const uint8_t* first;
    int64_t lines;
  };
  Slice slice(int64_t part) const {
    const int64_t l = part * perPart;
    return {first + l * 64, std::max<int64_t>(0, std::min(perPart, lines - l))};
  }
  /** Requests slice `part` of the plan. */
  void request(int64_t part) const {
    const Slice s = slice(part);
    for (int64_t l = 0; l < s.lines; l++) prefetchLine(s.first + l * 64);
  }
};

struct TileView {
  Segment keys[2];  // dense: {k}; mla: {ckv, kRope}
  int keySegments = 1;
  Segment values;   // dense: v; mla: ckv again
  float scale = 1.0f;
  int64_t vDim = 0;
  // The keys transposed (qkDim × kTile floats, zero past n) when several query blocks share the tile; null otherwise.
  const float* keysT = nullptr;
  // Bytes requested from memory while this tile computes, in two lists: one requested a slice a token pair as QK
  // runs, one a slice a chunk of 2·W values as PV runs (inPV; when false, QK requests both lists). See requestPlan
  // in attendUnitAs for what goes in which.
  AheadRange duringQK[4], duringPV[2];
  int duringQKCount = 0, duringPVCount = 0;
  bool inPV = false;
  // int8 keys or values read in place that take the integer dot products of int8_dot.h (set once a unit).
  bool intKeys = false, intValues = false;
  // Slices planned by planAhead: one a token pair in QK, one a chunk of 2·W values in PV.
  void requestInQK(int64_t part) const {
    for (int a = 0; a < duringQKCount; a++) duringQK[a].request(part);
    if (!inPV) requestPVList(part);
  }
  void requestPVList(int64_t part) const {
    for (int a = 0; a < duringPVCount; a++) duringPV[a].request(part);
  }
  // Read in place, QK's and PV's slices are spread over their loops (a line per dot-product step, a line per
  // token): the small ranges (scales) at the start, then the rows (nearly all the bytes), returned as a Slice the
  // loop holds in registers, and what the loop did not reach at its end. Requested in a burst, a slice of 32 lines
  // stalled the arithmetic behind it (most likely the core's miss buffers filling): dense f32 decode ran 13-16%
  // slower that way (23.5 → 19.4 ms at 2 threads, 43 → 37 ms at 1).
  AheadRange::Slice beginInQK(int64_t part) const {
    for (int a = 1; a < duringQKCount; a++) duringQK[a].request(part);
    return duringQK[0].slice(part);
  }
  AheadRange::Slice beginInPV(int64_t part) const {
    for (int a = 1; a < duringPVCount; a++) duringPV[a].request(part);
    return duringPV[0].slice(part);
  }
  /** QK's requests for the k tokens from token i, a slice a token pair: read in place (one slice), returned for the
   *  loop to spread; otherwise requested here, and the returned slice is empty. */
  AheadRange::Slice requestForTokens(int i, int k) const {
    const int firstPart = (i + 1) / 2, parts = (i + k + 1) / 2 - firstPart;
    if (parts == 1 && inPV) return beginInQK(firstPart);
    for (int part = firstPart; part < firstPart + parts; part++) requestInQK(part);
    return {nullptr, 0};
  }
  void planAhead(int64_t qkParts, int64_t pvParts) {
    for (int a = 0; a < duringQKCount; a++) duringQK[a].plan(qkParts);
    for (int a = 0; a < duringPVCount; a++) duringPV[a].plan(inPV ? pvParts : qkParts);
  }
  // The first ranges are emptied too: the spread requests take their slices without checking the counts.
  void clearAhead() {
    duringQKCount = duringPVCount = 0;
    duringQK[0] = duringPV[0] = AheadRange{};
    inPV = false;
  }
};

/** The ranges of segment `s` holding n rows from its first, and their scales. */
inline int addRanges(const Segment& s, int n, AheadRange* out) {
  int count = 0;
  out[count++] = AheadRange::of(s.base, n * s.stride);
  if (s.scales) out[count++] = AheadRange::of(s.scales, n * s.scaleStride * 2);
  return count;
}

inline Segment cacheSegment(const VectorStore& st, int64_t firstRow) {
  Segment s;
  s.base = st.row(firstRow);
  s.stride = st.rowBytes;
  s.scales = st.groups ? st.rowScales(firstRow) : nullptr;
  s.scaleStride = st.groups;
  s.dim = st.dim, s.groups = st.groups, s.groupSize = st.groupSize;
  return s;
}

/** Pair-split order. Read in place, a bf16 row is loaded 2·W values at a time and split into its even- and
 *  odd-indexed W by a shift and a mask (Fmt::loadPair), with none of the widening shuffles a W-value load needs:
 *  PV's bf16 loop took 5.3 cycles per 8 FMAs with them, 4.5 without (measured in isolation). The queries those
 *  rows meet and the accumulators they add into then hold each whole chunk of 2·W as [evens, odds]; a chunk
 *  cut short by the row's end keeps natural order. toSplit reorders a row of `dim` floats into that order, or
 *  back. (With the portable path's W = 1 both orders are the same.) */
inline void pairSplit(float* x, int64_t dim, bool toSplit) {
  constexpr int W = Vec::W;
  float t[2 * W];
  for (int64_t c = 0; c + 2 * W <= dim; c += 2 * W) {
    for (int i = 0; i < 2 * W; i++) {
      const int split = (i % 2) * W + i / 2;  // where natural element i of the chunk sits in split order
      if (toSplit) t[split] = x[c + i];
      else t[i] = x[c + split];
    }
    std::copy(t, t + 2 * W, x + c);
  }
}

/** One dot-product step of scoreTokenSteps: the K rows' values from element e of a group (`begin` of `len`; Split: 2·W
 *  values in pair-split order, otherwise W in natural order) against the N queries' (qg[j] + e), into acc[k·N + j]. */
template <StoreFormat F, int N, bool RowScale, int K, bool Split = Fmt<F>::kPairSplit>
inline void dotStep(const uint8_t* const* r, int64_t begin, int64_t len, int64_t e, const Vec::T* sc,
                    const float* const* qg, Vec::T* acc) {
  using T = Vec::T;
  if constexpr (Split) {
    T even[K], odd[K];
    for (int k = 0; k < K; k++) {
      T x, y;
      Fmt<F>::loadPair(r[k] + (begin + e) * Fmt<F>::kBytes, x, y);
      Vec::inRegister(x), Vec::inRegister(y);
      even[k] = x, odd[k] = y;
    }
    for (int j = 0; j < N; j++) {
      T qv = Vec::load(qg[j] + e);
      Vec::inRegister(qv);
      for (int k = 0; k < K; k++) acc[k * N + j] = Vec::fma(qv, even[k], acc[k * N + j]);
      qv = Vec::load(qg[j] + e + Vec::W);
      Vec::inRegister(qv);
      for (int k = 0; k < K; k++) acc[k * N + j] = Vec::fma(qv, odd[k], acc[k * N + j]);
    }
  } else {
    T kv[K];
    for (int k = 0; k < K; k++) {
      T x = loadAt<F>(r[k], begin, len, e);
      if constexpr (Fmt<F>::kScaled && !RowScale) x = Vec::mul(x, sc[k]);
      Vec::inRegister(x);
      kv[k] = x;
    }
    for (int j = 0; j < N; j++) {
      T qv = Vec::load(qg[j] + e);
      Vec::inRegister(qv);
      for (int k = 0; k < K; k++) acc[k * N + j] = Vec::fma(qv, kv[k], acc[k * N + j]);
    }
  }
}

/** Values a dotStep covers in format F: 2·W in pair-split order, W otherwise. */
template <StoreFormat F>
constexpr int64_t dotStepValues() {
  return Fmt<F>::kPairSplit ? 2 * Vec::W : Vec::W;
}

/** scoreTokenSteps for the common layout: keys of one segment with no per-group scales (unscaled, or one scale a
 *  row under RowScale) whose rows are whole dotSteps. From one token pair to the next only the row pointers move;
 *  the general loop's walk over segments, groups and tails for every pair took a third of int8 decode's QK time
 *  (perf, one thread, ctx 512: 37% of its samples outside the FMA loop). */
template <StoreFormat F, int N, bool RowScale, int K>
int scoreTokenStepsFlat(const TileView& V, const float* const* q, int i, int n, float* tokenMajor) {
  using T = Vec::T;
  const Segment& st = V.keys[0];
  const int64_t dim = st.dim;
  constexpr int64_t step = dotStepValues<F>();
  for (; i + K <= n; i += K) {
    const AheadRange::Slice ahead = V.requestForTokens(i, K);
    const uint8_t* line = ahead.first;
    const uint8_t* const lineEnd = ahead.first + ahead.lines * 64;
    T acc[K * N];
    for (int j = 0; j < K * N; j++) acc[j] = Vec::zero();
    const uint8_t* r[K];
    for (int k = 0; k < K; k++) r[k] = st.row(i + k);
    for (int64_t e = 0; e < dim; e += step) {
      if (line < lineEnd) prefetchLine(line), line += 64;
      dotStep<F, N, RowScale, K>(r, 0, dim, e, nullptr, q, acc);
    }
    for (; line < lineEnd; line += 64) prefetchLine(line);
    Vec::template hsums<K * N>(acc, tokenMajor + i * N);
  }
  return i;
}

/** Whether scoreTokenStepsFlat covers the tile's keys. */
template <StoreFormat F, bool RowScale>
bool flatKeys(const TileView& V) {
  if constexpr (Fmt<F>::kInt4 || (Fmt<F>::kScaled && !RowScale)) return false;
  else return V.keySegments == 1 && V.keys[0].dim % dotStepValues<F>() == 0;
}

/** QK dot products of N queries with tokens [i, n) of the tile, unscaled, into tokenMajor[i·N + j], K tokens a step
 *  (K·N accumulators): each query chunk is loaded once for the K tokens, which relieves the load ports that bound
 *  this loop. A scaled format's group scale multiplies the widened key vector (one multiply shared by the N queries)
 *  rather than per-group partial sums, which would need twice the registers; with RowScale (one group, one segment)
 *  the caller multiplies the finished sums instead. Returns the first token it did not score. */
template <StoreFormat F, int N, bool RowScale, int K>
int scoreTokenSteps(const TileView& V, const float* const* q, int i, int n, float* tokenMajor) {
  using T = Vec::T;
  for (; i + K <= n; i += K) {
    // QK's requests, a slice a token pair (requestPlan). Read in place, the slice is spread a line per
    // dot-product step, held as a pointer pair so the loop keeps it in registers (a burst loop of 8-16 lines a
    // pair cost dense f32 decode 4-5%; spread through the view's plan, read each step, it cost more than that).
    const AheadRange::Slice ahead = V.requestForTokens(i, K);
    const uint8_t* line = ahead.first;
    const uint8_t* const lineEnd = ahead.first + ahead.lines * 64;
    T acc[K * N];  // acc[k·N + j]: query j · token i + k
    for (int j = 0; j < K * N; j++) acc[j] = Vec::zero();
    int64_t qOff = 0;
    bool tails = false;
    for (int s = 0; s < V.keySegments; s++) {
      const Segment& st = V.keys[s];
      const uint8_t* r[K];
      for (int k = 0; k < K; k++) r[k] = st.row(i + k);
      const int64_t gs = groupSize<F>(st);
      for (int64_t grp = 0; grp < groupCount<F>(st); grp++) {
        const int64_t begin = grp * gs, len = std::min(gs, st.dim - begin), vend = vectorEnd<F>(len);
        tails = tails || vend < len;
        T sc[K];
        if constexpr (Fmt<F>::kScaled && !RowScale)
          for (int k = 0; k < K; k++) sc[k] = Vec::bcast(Vec::half(st.rowScales(i + k)[grp]));
        const float* qg[N];
        for (int j = 0; j < N; j++) qg[j] = q[j] + qOff + begin;
        int64_t e = 0;
        if constexpr (Fmt<F>::kPairSplit)
          for (; e + 2 * Vec::W <= vend; e += 2 * Vec::W) {
            if (line < lineEnd) prefetchLine(line), line += 64;
            dotStep<F, N, RowScale, K, true>(r, begin, len, e, sc, qg, acc);
          }
        for (; e < vend; e += Vec::W) {  // natural order (past a row's last whole pair-split chunk)
          if (line < lineEnd) prefetchLine(line), line += 64;
          dotStep<F, N, RowScale, K, false>(r, begin, len, e, sc, qg, acc);
        }
      }
      qOff += st.dim;
    }
    for (; line < lineEnd; line += 64) prefetchLine(line);
    float* sums = tokenMajor + i * N;
    Vec::template hsums<K * N>(acc, sums);
    // Elements past the last full vector of a group, in their own pass: scalar partial sums carried through the
    // vector loop would hold K·N more registers and push its accumulators onto the stack.
    if (tails) {
      qOff = 0;
      for (int s = 0; s < V.keySegments; s++) {
        const Segment& st = V.keys[s];
        const int64_t gs = groupSize<F>(st);
        for (int64_t grp = 0; grp < groupCount<F>(st); grp++) {
          const int64_t begin = grp * gs, len = std::min(gs, st.dim - begin);
          for (int k = 0; k < K; k++) {
            float sc = 1.0f;
            if constexpr (Fmt<F>::kScaled && !RowScale) sc = Vec::half(st.rowScales(i + k)[grp]);
            for (int64_t e = vectorEnd<F>(len); e < len; e++) {
              const float kf = load1At<F>(st.row(i + k), begin, len, e) * sc;
              for (int j = 0; j < N; j++) sums[k * N + j] += q[j][qOff + begin + e] * kf;
            }
          }
        }
        qOff += st.dim;
      }
    }
  }
  return i;
}

/** Scores of the tile's tokens two at a time, written query-major and scaled; returns how many it scored (n rounded
 *  down to even: scoreTile does the last one of an odd tile). */
template <StoreFormat F, int N, bool RowScale>
int scoreTokenPairs(const TileView& V, const float* const* q, int n, float* scores) {
  using T = Vec::T;
  // Raw dot products token-major (tokenMajor[i·N + j]), as the batched horizontal sum leaves them: stored with
  // whole-vector stores, turned query-major below. Scattering them one by one cost more stores than the sums
  // themselves, and the softmax's vector loads then waited on those narrow stores.
  alignas(32) float tokenMajor[kTile * N];
  // Two tokens a step: three (12 accumulators, 3 keys, a query: all 16 vector registers) spilled an accumulator
  // and ran no faster.
  const int i = flatKeys<F, RowScale>(V) ? scoreTokenStepsFlat<F, N, RowScale, 2>(V, q, 0, n, tokenMajor)
                                          : scoreTokenSteps<F, N, RowScale, 2>(V, q, 0, n, tokenMajor);
  int t = 0;
  if constexpr (N == 4)
    for (; t + 8 <= i; t += 8) Vec::transpose8x4(tokenMajor + t * N, scores + t, kTile);
  for (; t < i; t++)
    for (int j = 0; j < N; j++) scores[j * kTile + t] = tokenMajor[t * N + j];
  // Scale: softmax's, times the key's own under RowScale (one f16 scale a row, rows' scales contiguous).
  const T sc = Vec::bcast(V.scale);
  t = 0;
  for (; t + Vec::W <= i; t += Vec::W) {
    T f = sc;
    if constexpr (RowScale) f = Vec::mul(f, Vec::halves(V.keys[0].rowScales(t)));
    for (int j = 0; j < N; j++) Vec::store(scores + j * kTile + t, Vec::mul(Vec::load(scores + j * kTile + t), f));
  }
  for (; t < i; t++) {
    float f = V.scale;
    if constexpr (RowScale) f *= Vec::half(V.keys[0].rowScales(t)[0]);
    for (int j = 0; j < N; j++) scores[j * kTile + t] *= f;
  }
  return i;
}

/** Scores from the transposed keys, a small GEMM: for each dimension, the block's N query values are broadcast
 *  against vectors of consecutive tokens, so scores land in place with no horizontal sums. 2·N accumulators cover
 *  2·W tokens at a time. */
template <int N>
void scoreTransposed(const TileView& V, const float* const* q, int64_t qkDim, int n, float* scores) {
  using T = Vec::T;
  for (int t = 0; t < n; t += 2 * Vec::W) {
    T acc[2 * N];
    for (int j = 0; j < 2 * N; j++) acc[j] = Vec::zero();
    const float* kt = V.keysT + t;
    for (int64_t d = 0; d < qkDim; d++, kt += kTile) {
      const T k0 = Vec::load(kt), k1 = Vec::load(kt + Vec::W);
      for (int j = 0; j < N; j++) {
        const T qv = Vec::bcast(q[j][d]);
        acc[j] = Vec::fma(qv, k0, acc[j]);
        acc[N + j] = Vec::fma(qv, k1, acc[N + j]);
      }
    }
    const T sc = Vec::bcast(V.scale);
    for (int j = 0; j < N; j++) {
      Vec::store(scores + j * kTile + t, Vec::mul(acc[j], sc));
      Vec::store(scores + j * kTile + t + Vec::W, Vec::mul(acc[N + j], sc));
    }
  }
}

/** Writes the tile's f32 keys (segments side by side) transposed into out (qkDim × kTile), zero past n. */
inline void transposeKeys(const TileView& V, int n, float* out) {
  int64_t off = 0;
  for (int s = 0; s < V.keySegments; s++) {
    const Segment& st = V.keys[s];
    const int64_t rowFloats = st.stride / 4;
    const float* rows = reinterpret_cast<const float*>(st.base);
    // 8×8 register blocks (element by element, the transpose took about 8% of f32 prefill at ctx 8192), then
    // element by element what is left past the last whole block of tokens or dims.
    const int n8 = n - n % 8;
    const int64_t d8 = st.dim - st.dim % 8;
    for (int i = 0; i < n8; i += 8)
      for (int64_t d = 0; d < d8; d += 8) Vec::transpose8x8(rows + i * rowFloats + d, rowFloats, out + (off + d) * kTile + i, kTile);
    for (int i = 0; i < n; i++)
      for (int64_t d = i < n8 ? d8 : 0; d < st.dim; d++) out[(off + d) * kTile + i] = rows[i * rowFloats + d];
    for (int64_t d = 0; d < st.dim; d++) std::fill(out + (off + d) * kTile + n, out + (off + d + 1) * kTile, 0.0f);
    off += st.dim;
  }
}

template <StoreFormat F, int N>
void scoreTile(const TileView& V, const float* const* q, int n, float* scores) {
  using T = Vec::T;
  // One scale a row (int8 and fp8 keys of one segment): it multiplies the finished dot product instead of every
  // widened key vector, which would compete with the FMAs for the same pipes.
  const bool rowScale = Fmt<F>::kScaled && V.keySegments == 1 && groupCount<F>(V.keys[0]) == 1 && V.keys[0].scaleStride == 1;
  const int first = rowScale ? scoreTokenPairs<F, N, true>(V, q, n, scores) : scoreTokenPairs<F, N, false>(V, q, n, scores);
  if (first == 0) V.requestInQK(0);  // a single token: planned as one slice
  for (int i = first; i < n; i++) {
    T tot[N];
    float tail[N];
    for (int j = 0; j < N; j++) tot[j] = Vec::zero(), tail[j] = 0.0f;
    int64_t qOff = 0;
    for (int s = 0; s < V.keySegments; s++) {
      const Segment& st = V.keys[s];
      const uint8_t* row = st.row(i);
      const int64_t gs = groupSize<F>(st);
      for (int64_t grp = 0; grp < groupCount<F>(st); grp++) {
        const int64_t begin = grp * gs, len = std::min(gs, st.dim - begin), vend = vectorEnd<F>(len);
        T part0[N], part1[N];
        float ptail[N];
        for (int j = 0; j < N; j++) part0[j] = Vec::zero(), part1[j] = Vec::zero(), ptail[j] = 0.0f;
        int64_t e = 0;
        // Two independent accumulator sets keep the FMA pipes busy when N is small.
        for (; e + 2 * Vec::W <= vend; e += 2 * Vec::W) {
          T k0, k1;
          if constexpr (Fmt<F>::kPairSplit) Fmt<F>::loadPair(row + (begin + e) * Fmt<F>::kBytes, k0, k1);
          else k0 = loadAt<F>(row, begin, len, e), k1 = loadAt<F>(row, begin, len, e + Vec::W);
          for (int j = 0; j < N; j++) {
            part0[j] = Vec::fma(Vec::load(q[j] + qOff + begin + e), k0, part0[j]);
            part1[j] = Vec::fma(Vec::load(q[j] + qOff + begin + e + Vec::W), k1, part1[j]);
          }
        }
        for (; e < vend; e += Vec::W) {
          const T k0 = loadAt<F>(row, begin, len, e);
          for (int j = 0; j < N; j++) part0[j] = Vec::fma(Vec::load(q[j] + qOff + begin + e), k0, part0[j]);
        }
        for (; e < len; e++) {
          const float k1 = load1At<F>(row, begin, len, e);
          for (int j = 0; j < N; j++) ptail[j] += q[j][qOff + begin + e] * k1;
        }
        if constexpr (Fmt<F>::kScaled) {
          const float sc = Vec::half(st.rowScales(i)[grp]);
          const T scv = Vec::bcast(sc);
          for (int j = 0; j < N; j++) tot[j] = Vec::fma(Vec::add(part0[j], part1[j]), scv, tot[j]), tail[j] += ptail[j] * sc;
        } else {
          for (int j = 0; j < N; j++) tot[j] = Vec::add(tot[j], Vec::add(part0[j], part1[j])), tail[j] += ptail[j];
        }
      }
      qOff += st.dim;
    }
    for (int j = 0; j < N; j++) scores[j * kTile + i] = (Vec::hsum(tot[j]) + tail[j]) * V.scale;
  }
}

/** Chunks of 2·W values accumulateTile's main loop runs over a value row (at least 1). */
template <StoreFormat F>
int64_t pvChunks(const Segment& vs) {
  int64_t chunks = 0;
  for (int64_t grp = 0, gs = groupSize<F>(vs); grp < groupCount<F>(vs); grp++)
    chunks += vectorEnd<F>(std::min(gs, vs.dim - grp * gs)) / (2 * Vec::W);
  return std::max<int64_t>(1, chunks);
}

/** acc[j] += Σ_i w[j][i] · value(t0 + i) for N queries; w already carries the value's group scale. */
template <StoreFormat F, int N>
void accumulateTile(const TileView& V, const float* const* w, int64_t wGroupStride, float* const* acc, int n) {
  using T = Vec::T;
  const Segment& vs = V.values;
  const uint8_t* rows[kTile];
  for (int i = 0; i < n; i++) rows[i] = vs.row(i);
  const int64_t gs = groupSize<F>(vs);
  int64_t chunk = 0;  // PV's requests: a slice per chunk of 2·W values (planned by pvChunks)
  for (int64_t grp = 0; grp < groupCount<F>(vs); grp++) {
    const int64_t begin = grp * gs, len = std::min(gs, vs.dim - begin), vend = vectorEnd<F>(len);
    const float* wg[N];
    for (int j = 0; j < N; j++) wg[j] = w[j] + grp * wGroupStride;
    int64_t e = 0;
    for (; e + 2 * Vec::W <= vend; e += 2 * Vec::W) {
      // PV's slice: a line a token, then the lines the tokens did not reach. The slice (first line, count) is taken
      // from the plan once a chunk so the loop holds it in registers (read from the view each token, the request
      // cost four loads and two branches).
      const AheadRange::Slice ahead = V.inPV ? V.beginInPV(chunk++) : AheadRange::Slice{nullptr, 0};
      T a0[N], a1[N];
      for (int j = 0; j < N; j++) a0[j] = Vec::load(acc[j] + begin + e), a1[j] = Vec::load(acc[j] + begin + e + Vec::W);
      const auto token = [&](int i) {
        T v0, v1;
        if constexpr (Fmt<F>::kPairSplit) Fmt<F>::loadPair(rows[i] + (begin + e) * Fmt<F>::kBytes, v0, v1);
        else v0 = loadAt<F>(rows[i], begin, len, e), v1 = loadAt<F>(rows[i], begin, len, e + Vec::W);
        for (int j = 0; j < N; j++) {
          const T p = Vec::bcast(wg[j][i]);
          a0[j] = Vec::fma(p, v0, a0[j]);
          a1[j] = Vec::fma(p, v1, a1[j]);
        }
      };
      const int withLine = static_cast<int>(std::min<int64_t>(n, ahead.lines));
      int i = 0;
      for (; i < withLine; i++) {
        prefetchLine(ahead.first + i * 64);
        token(i);
      }
      for (; i < n; i++) token(i);
      for (int64_t l = n; l < ahead.lines; l++) prefetchLine(ahead.first + l * 64);
      for (int j = 0; j < N; j++) Vec::store(acc[j] + begin + e, a0[j]), Vec::store(acc[j] + begin + e + Vec::W, a1[j]);
    }
    for (; e < vend; e += Vec::W) {
      T a0[N];
      for (int j = 0; j < N; j++) a0[j] = Vec::load(acc[j] + begin + e);
      for (int i = 0; i < n; i++) {
        const T v0 = loadAt<F>(rows[i], begin, len, e);
        for (int j = 0; j < N; j++) a0[j] = Vec::fma(Vec::bcast(wg[j][i]), v0, a0[j]);
      }
      for (int j = 0; j < N; j++) Vec::store(acc[j] + begin + e, a0[j]);
    }
    for (; e < len; e++)
      for (int i = 0; i < n; i++) {
        const float v = load1At<F>(rows[i], begin, len, e);
        for (int j = 0; j < N; j++) acc[j][begin + e] += wg[j][i] * v;
      }
  }
  if (V.inPV && chunk == 0) V.requestPVList(0);  // no chunks: planned as one slice
}

#include "int8_dot.h"

/** One tile for one query block: scores, online-softmax update, weighted values. bias (or null) masks tokens. */
template <StoreFormat FK, StoreFormat FV, int N, bool KeysT>
void tileStep(const TileView& V, Scratch& S, int64_t qkDim, const int64_t* qIdx, int n, const float* bias) {
  const float* q[N];
  float* acc[N];
  for (int j = 0; j < N; j++) q[j] = &S.qf[qIdx[j] * qkDim], acc[j] = &S.acc[qIdx[j] * V.vDim];
  float* scores = S.scores.data();
  if constexpr (KeysT) {
    scoreTransposed<N>(V, q, qkDim, n, scores);
  } else if constexpr (FK == StoreFormat::Int8 && IntVec::kAvailable) {
    if (V.intKeys) {
      const int16_t* qi[N];
      float qs[N];
      for (int j = 0; j < N; j++) qi[j] = &S.qi[qIdx[j] * qkDim], qs[j] = S.qScale[qIdx[j]];
      scoreInt8<IntVec, N>(V, qi, qs, n, scores);
    } else {
      scoreTile<FK, N>(V, q, n, scores);
    }
  } else {
    scoreTile<FK, N>(V, q, n, scores);
  }
  float* probs = S.probs.data();
  bool any = false;
  for (int j = 0; j < N; j++) {
    float* s = scores + j * kTile;
    float* p = probs + j * kTile;
    for (int i = n; i < kTile; i++) s[i] = kNegInf;
    if (bias)
      for (int i = 0; i < n; i++) s[i] += bias[j * kTile + i];
    Vec::T mv = Vec::bcast(kNegInf);
    for (int i = 0; i < kTile; i += Vec::W) mv = Vec::max(mv, Vec::load(s + i));
    const float tileMax = Vec::hmax(mv);
    float& m = S.m[qIdx[j]];
    float& l = S.l[qIdx[j]];
    if (tileMax == kNegInf) {  // every token masked for this query
      std::fill(p, p + kTile, 0.0f);
      continue;
    }
    any = true;
    const float mNew = std::max(m, tileMax);
    if (mNew > m) {
      const float correction = std::exp(m - mNew);  // 0 on the first tile (m = -inf)
      l *= correction;
      if (m != kNegInf)
        for (int64_t d = 0; d < V.vDim; d++) acc[j][d] *= correction;
      m = mNew;
    }
    const Vec::T mb = Vec::bcast(mNew);
    Vec::T sum = Vec::zero();
    for (int i = 0; i < kTile; i += Vec::W) {
      const Vec::T e = Vec::exp(Vec::add(Vec::load(s + i), Vec::mul(mb, Vec::bcast(-1.0f))));
      Vec::store(p + i, e);
      sum = Vec::add(sum, e);
    }
    l += Vec::hsum(sum);
  }
  if (!any) return;
  const float* w[N];
  int64_t groupStride = 0;
  if constexpr (Fmt<FV>::kScaled) {
    // Fold each token's value scale into its weight: w[g][j][i] = p[j][i] · scale(t0 + i, g).
    const Segment& vs = V.values;
    groupStride = N * kTile;
    float* scaled = S.scaled.data();
    int first = 0;
    if (vs.groups == 1 && vs.scaleStride == 1) {  // one scale a row, contiguous: W tokens at a time
      for (; first + Vec::W <= n; first += Vec::W) {
        const Vec::T sc = Vec::halves(vs.rowScales(first));
        for (int j = 0; j < N; j++) Vec::store(scaled + j * kTile + first, Vec::mul(Vec::load(probs + j * kTile + first), sc));
      }
    } else if (vs.groups % 4 == 0 && Vec::W == 8) {
      // Groups of 32 (int4): 8 tokens' scales of 4 groups at a time, transposed to a vector per group. Scalar,
      // this loop cost int4 decode as much as its softmax.
      alignas(32) float byGroup[4 * 8];
      for (; first + 8 <= n; first += 8)
        for (int64_t g0 = 0; g0 < vs.groups; g0 += 4) {
          Vec::transpose8x4(vs.rowScales(first) + g0, vs.scaleStride, byGroup, 8);
          for (int64_t g = 0; g < 4; g++) {
            const Vec::T sc = Vec::load(byGroup + g * 8);
            float* out = scaled + (g0 + g) * groupStride + first;
            for (int j = 0; j < N; j++) Vec::store(out + j * kTile, Vec::mul(Vec::load(probs + j * kTile + first), sc));
          }
        }
    }
    for (int i = first; i < n; i++) {
      const uint16_t* sc = vs.rowScales(i);
      for (int64_t grp = 0; grp < vs.groups; grp++) {
        const float s = Vec::half(sc[grp]);
        for (int j = 0; j < N; j++) scaled[grp * groupStride + j * kTile + i] = probs[j * kTile + i] * s;
      }
    }
    for (int j = 0; j < N; j++) w[j] = scaled + j * kTile;
  } else {
    for (int j = 0; j < N; j++) w[j] = probs + j * kTile;
  }
  if constexpr (FV == StoreFormat::Int8 && IntVec::kAvailable) {
    if (V.intValues) {
      for (int j = 0; j < N; j++) std::fill(S.scaled.data() + j * kTile + n, S.scaled.data() + (j + 1) * kTile, 0.0f);
      accumulateInt8<IntVec, N>(V, w, acc, n);
      return;
    }
  }
  accumulateTile<FV, N>(V, w, groupStride, acc, n);
}

/** Keys read as FK (KeysT: from the transposed copy), values as FV (F32 when the value tile was widened). */
template <StoreFormat FK, StoreFormat FV, bool KeysT = false>
void tileBlock(const TileView& V, Scratch& S, int64_t qkDim, const int64_t* qIdx, int count, int n, const float* bias) {
  switch (count) {
    case 1: tileStep<FK, FV, 1, KeysT>(V, S, qkDim, qIdx, n, bias); break;
    case 2: tileStep<FK, FV, 2, KeysT>(V, S, qkDim, qIdx, n, bias); break;
    case 3: tileStep<FK, FV, 3, KeysT>(V, S, qkDim, qIdx, n, bias); break;
    default: tileStep<FK, FV, 4, KeysT>(V, S, qkDim, qIdx, n, bias); break;
  }
}

/** Widens one segment of n tokens to f32 (scales applied) into out, rows `outStride` floats apart. */
template <StoreFormat F>
void dequantizeSegment(const Segment& st, int n, float* out, int64_t outStride) {
  const int64_t gs = groupSize<F>(st);
  for (int i = 0; i < n; i++) {
    const uint8_t* row = st.row(i);
    float* o = out + i * outStride;
    for (int64_t grp = 0; grp < groupCount<F>(st); grp++) {
      const int64_t begin = grp * gs, len = std::min(gs, st.dim - begin), vend = vectorEnd<F>(len);
      float sc = 1.0f;
      if constexpr (Fmt<F>::kScaled) sc = Vec::half(st.rowScales(i)[grp]);
      const Vec::T scv = Vec::bcast(sc);
      int64_t e = 0;
      for (; e < vend; e += Vec::W) Vec::store(o + begin + e, Vec::mul(loadAt<F>(row, begin, len, e), scv));
      for (; e < len; e++) o[begin + e] = load1At<F>(row, begin, len, e) * sc;
    }
  }
}

/** Points the tile's values (and with `keys` its keys) at f32 rows in scratch, widened there in row order; f32
 *  tiles are left pointing at the cache. */
template <StoreFormat F>
void dequantizeTile(TileView& V, Scratch& S, int n, int64_t qkDim, bool mla, bool keys) {
  // f32 rows are already what the query blocks read (f32 keys are never widened): a copy would only move them
  // (it took 5% of f32 prefill at ctx 8192).
  if constexpr (F == StoreFormat::F32) return;
  TileView& out = V;  // each segment is read before it is replaced
  float* kbuf = S.kTile.data();
  int64_t off = 0;
  for (int s = 0; keys && s < V.keySegments; s++) {
    dequantizeSegment<F>(V.keys[s], n, kbuf + off, qkDim);
    Segment d;
    d.base = reinterpret_cast<const uint8_t*>(kbuf + off);
    d.stride = qkDim * 4;
    d.dim = V.keys[s].dim;
    out.keys[s] = d;
    off += V.keys[s].dim;
  }
  if (mla && keys) {
    out.values = out.keys[0];  // the values are ckv, already widened
  } else {
    float* vbuf = S.vTile.data();
    dequantizeSegment<F>(V.values, n, vbuf, V.vDim);
    Segment d;
    d.base = reinterpret_cast<const uint8_t*>(vbuf);
    d.stride = V.vDim * 4;
    d.dim = V.vDim;
    out.values = d;
  }
}

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
  // that the arithmetic cannot hide (dense f32 decode at ctx 8192: 61% → 69-78% of read bandwidth without it).
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
  const bool int8Dot = IntVec::kAvailable && F == StoreFormat::Int8 && P.int8Dot;
  const bool intKeys = int8Dot && !widenKeys && P.keySegments == 1 && P.keys[0].groups == 1 &&
                       P.qkDim % kIntDotChunk == 0 && P.qkDim <= kIntDotMaxDim;
  const bool intValues = int8Dot && !widenValues && P.valueStore().groups == 1 && P.vDim % kIntDotChunk == 0;
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
  // whole tile ahead (the next tile's keys in QK, its values in PV), a tile's worth of lines waited in L1 beside the
  // tile being read and pushed it out, and dense bf16 decode ran 7-9% slower (f32 0-6%). Widened tiles, and MLA
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
        // as a small GEMM: prefill f32 at ctx 1024 ran 23-30% faster. With few the scalar transpose costs more than
        // it saves: mla decode (4 blocks) ran 28% slower, decode with 8 heads a group (2 blocks) 18%.
        if (transposeTiles) {
          transposeKeys(wide, n, S.keysT.data());
          wide.keysT = S.keysT.data();
        }
        for (int64_t qb = 0; qb < M; qb += kQueryBlock) {
          // Transposed, the next tile is requested a slice a query block: in one burst of 256 lines at the
          // transpose, the requests stalled it (a tenth of f32 prefill's time at ctx 8192 sat on them).
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

/** NSA-style selection of one (b, g, row) from the stored block means (fp32 scores; rule of SPEC §3). */
template <StoreFormat A>
void selectRowAs(Plan& P, int64_t index, Scratch& S) {
  const Problem& p = P.p;
  const int64_t rowsPerGroup = P.rows, r = index % rowsPerGroup, bg = index / rowsPerGroup;
  const int64_t b = bg / P.groups, g = bg % P.groups, G = P.headsPerGroup, bs = p.params.blockSize;
  const int64_t visible = visibleTokens(p, r), nBlocks = (visible + bs - 1) / bs;
  // Σ_h q_h · mean = (Σ_h q_h) · mean: sum the group's queries once.
  float* qs = S.tmp.data();
  float* qh = S.qf.data();
  std::fill(qs, qs + P.qkDim, 0.0f);
  for (int64_t hi = 0; hi < G; hi++) {
    decodeRow(P.q, P.queryRow(b, g * G + hi, r), qh);
    for (int64_t d = 0; d < P.qkDim; d++) qs[d] += qh[d];
  }
  uint8_t* sel = &P.selected[index * P.nBlocks];
  std::fill(sel, sel + P.nBlocks, 0);
  sel[0] = 1;
  if (p.params.window > 0)
    for (int64_t j = std::max<int64_t>(0, visible - p.params.window) / bs; j < nBlocks; j++) sel[j] = 1;
  std::vector<std::pair<float, int32_t>> cand;
  const int64_t vend = P.qkDim - P.qkDim % Vec::W;
  for (int64_t j = 0; j < nBlocks; j++) {
    if (sel[j]) continue;
    const int64_t meanRow = p.phase == Phase::Decode ? bg * P.nBlocks + j
                                                     : bg * p.shape.kvLen + std::min(visible, (j + 1) * bs) - 1;
    const uint8_t* row = P.means.row(meanRow);
    Vec::T acc = Vec::zero();
    for (int64_t d = 0; d < vend; d += Vec::W) acc = Vec::fma(Vec::load(qs + d), Fmt<A>::loadW(row + d * Fmt<A>::kBytes), acc);
    float score = Vec::hsum(acc);
    for (int64_t d = vend; d < P.qkDim; d++) score += qs[d] * Fmt<A>::load1(row + d * Fmt<A>::kBytes);
    cand.emplace_back(score, static_cast<int32_t>(j));
  }
  const size_t k = std::min<size_t>(cand.size(), static_cast<size_t>(std::max<int64_t>(0, p.params.topK)));
  std::partial_sort(cand.begin(), cand.begin() + k, cand.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first > y.first : x.second < y.second;
  });
  for (size_t i = 0; i < k; i++) sel[cand[i].second] = 1;
  auto& list = P.selectedList[index];
  list.clear();
  for (int64_t j = 0; j < nBlocks; j++)
    if (sel[j]) list.push_back(static_cast<int32_t>(j));
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

inline void selectRow(Plan& P, int64_t index, Scratch& S) {
  switch (P.means.format) {
    case StoreFormat::BF16: selectRowAs<StoreFormat::BF16>(P, index, S); break;
    case StoreFormat::F16: selectRowAs<StoreFormat::F16>(P, index, S); break;
    default: selectRowAs<StoreFormat::F32>(P, index, S); break;
  }
}

}  // namespace etok::kernels::cpu::ETOK_CPU_ISA
