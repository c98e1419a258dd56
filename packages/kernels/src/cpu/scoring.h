// QK: scores of a query block against a tile's keys, read in place at their stored format (a token pair a step, or
// a token at a time for what is left), or from the transposed f32 copy as a small GEMM.
// Part of the attention core: included inside the ISA namespace by attention_core.h (after tile_view.h), so `Vec` is
// that ISA's vector type.
#pragma once

/** Pair-split order. Read in place, a bf16 row is loaded 2·W values at a time and split into its even- and
 *  odd-indexed W by a shift and a mask (Fmt::loadPair), with none of the widening shuffles a W-value load needs
 *  (docs/performance-log.md, 2026-11-26). The queries those
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
 *  row under RowScale) whose rows are whole dotSteps. From one token pair to the next only the row pointers move:
 *  the general loop's walk over segments, groups and tails for every pair costs a third of int8 decode's QK time
 *  (docs/performance-log.md, 2026-11-26). */
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
    // dot-product step, held as a pointer pair so the loop keeps it in registers: a burst a pair, or the plan read
    // from the view on every step, costs more (docs/performance-log.md, 2026-11-26).
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
    // 8×8 register blocks (element by element, the transpose is a visible share of f32 prefill), then element by
    // element what is left past the last whole block of tokens or dims.
    const int n8 = n - n % 8;
    const int64_t d8 = st.dim - st.dim % 8;
    for (int i = 0; i < n8; i += 8)
      for (int64_t d = 0; d < d8; d += 8)
        Vec::transpose8x8(rows + i * rowFloats + d, rowFloats, out + (off + d) * kTile + i, kTile);
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
  const bool rowScale = Fmt<F>::kScaled && V.keySegments == 1 && groupCount<F>(V.keys[0]) == 1 &&
                        V.keys[0].scaleStride == 1;
  const int first = rowScale ? scoreTokenPairs<F, N, true>(V, q, n, scores)
                             : scoreTokenPairs<F, N, false>(V, q, n, scores);
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
          for (int j = 0; j < N; j++)
            tot[j] = Vec::fma(Vec::add(part0[j], part1[j]), scv, tot[j]), tail[j] += ptail[j] * sc;
        } else {
          for (int j = 0; j < N; j++) tot[j] = Vec::add(tot[j], Vec::add(part0[j], part1[j])), tail[j] += ptail[j];
        }
      }
      qOff += st.dim;
    }
    for (int j = 0; j < N; j++) scores[j * kTile + i] = (Vec::hsum(tot[j]) + tail[j]) * V.scale;
  }
}
