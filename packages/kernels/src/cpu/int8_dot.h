// int8 KV read in place, in integers: both dot products of a tile run on 16-bit lanes (IntVec, AVX2's vpmaddwd)
// instead of widening every stored value to f32.
//   QK: the query is rounded to int16 against its largest |value| once a unit (q ≈ σq·qi), each key row widens to
//       int16 by one sign extension, and qi · k accumulates exactly in int32; score = sum · σq · key scale · scale.
//   PV: each query's weights for the tile (softmax probability × the value row's scale) are rounded to int16 against
//       their largest (w ≈ σw·wi) and paired two tokens an int32; two value rows interleave element by element, so
//       one vpmaddwd adds wi(t)·v(t) + wi(t+1)·v(t+1) for 8 elements; acc += σw · sum once a tile.
// The rounding is the only approximation (relative 2^-16 of the row's or tile's largest; README "Tolerances"):
// the stored int8 values and their scales enter exactly. Why: widened to f32 an int8 value costs a sign extension,
// a conversion and its FMAs, so int8 decode waits on the FMA pipes and turns its byte ratio into much less time
// saved (docs/performance-log.md, 2026-11-26).
// Included inside the ISA namespace by attention_core.h after accumulation.h; instantiated only where
// IntVec::kAvailable.
#pragma once

/** Rounds a query of dim floats to int16 against its largest |value| (nearest, ties to even): q ≈ σ·out[·].
 *  Returns σ; NaN when the query holds a NaN or infinity, so its scores become NaN as the f32 path's would. */
inline float quantizeQuery(const float* q, int64_t dim, int16_t* out) {
  float amax = 0.0f;
  bool finite = true;
  for (int64_t d = 0; d < dim; d++) {
    finite = finite && std::isfinite(q[d]);
    amax = std::max(amax, std::fabs(q[d]));
  }
  const float inv = finite && amax > 0.0f ? 32767.0f / amax : 0.0f;
  for (int64_t d = 0; d < dim; d++)
    out[d] = static_cast<int16_t>(std::clamp(std::nearbyint(q[d] * inv), -32767.0f, 32767.0f));
  return finite ? amax / 32767.0f : std::numeric_limits<float>::quiet_NaN();
}

/** Integer dot products of N int16 queries with tokens [i, n) of the tile's int8 keys, K tokens a step, into
 *  tokenMajor[t·N + j] (unscaled). Requests memory as scoreTokenSteps does. Returns the first token not scored. */
template <class IV, int N, int K>
int int8DotSteps(const TileView& V, const int16_t* const* q, int i, int n, float* tokenMajor) {
  using I = typename IV::I;
  const Segment& st = V.keys[0];
  for (; i + K <= n; i += K) {
    const AheadRange::Slice ahead = V.requestForTokens(i, K);
    const uint8_t* line = ahead.first;
    const uint8_t* const lineEnd = ahead.first + ahead.lines * 64;
    const uint8_t* r[K];
    for (int k = 0; k < K; k++) r[k] = st.row(i + k);
    I acc[K * N];  // acc[k·N + j]: query j · token i + k
    for (int x = 0; x < K * N; x++) acc[x] = IV::zero();
    for (int64_t e = 0; e < st.dim; e += IV::W) {
      if (line < lineEnd) prefetchLine(line), line += 64;
      I kv[K];
      for (int k = 0; k < K; k++) {
        kv[k] = IV::widenInt8(r[k] + e);
        IV::inRegister(kv[k]);
      }
      for (int j = 0; j < N; j++) {
        I qv = IV::loadI16(q[j] + e);
        IV::inRegister(qv);
        for (int k = 0; k < K; k++) acc[k * N + j] = IV::maddAdd(qv, kv[k], acc[k * N + j]);
      }
    }
    for (; line < lineEnd; line += 64) prefetchLine(line);
    IV::template hsums<K * N>(acc, tokenMajor + i * N);
  }
  return i;
}

/** The tile's scores, query-major and scaled (softmax scale × key row scale × query scale), from int8 keys of one
 *  segment with one scale a row. */
template <class IV, int N>
void scoreInt8(const TileView& V, const int16_t* const* q, const float* qScale, int n, float* scores) {
  using T = Vec::T;
  alignas(32) float tokenMajor[kTile * N];
  const int paired = int8DotSteps<IV, N, 2>(V, q, 0, n, tokenMajor);
  int8DotSteps<IV, N, 1>(V, q, paired, n, tokenMajor);  // an odd tile's last token
  int t = 0;
  if constexpr (N == 4)
    for (; t + 8 <= n; t += 8) Vec::transpose8x4(tokenMajor + t * N, scores + t, kTile);
  for (; t < n; t++)
    for (int j = 0; j < N; j++) scores[j * kTile + t] = tokenMajor[t * N + j];
  const Segment& st = V.keys[0];
  T qs[N];
  for (int j = 0; j < N; j++) qs[j] = Vec::bcast(qScale[j] * V.scale);
  t = 0;
  for (; t + Vec::W <= n; t += Vec::W) {
    const T ks = Vec::halves(st.rowScales(t));
    for (int j = 0; j < N; j++)
      Vec::store(scores + j * kTile + t, Vec::mul(Vec::mul(Vec::load(scores + j * kTile + t), ks), qs[j]));
  }
  for (; t < n; t++) {
    const float ks = Vec::half(st.rowScales(t)[0]);
    for (int j = 0; j < N; j++) scores[j * kTile + t] *= ks * qScale[j] * V.scale;
  }
}

/** acc[j] += Σ_i w[j][i] · value(i) over the tile's int8 value rows (one scale a row, already folded into w, which
 *  is zero from n to kTile). Requests memory as accumulateTile does: a slice per chunk of 16 values, a line a token. */
template <class IV, int N>
void accumulateInt8(const TileView& V, const float* const* w, float* const* acc, int n) {
  using I = typename IV::I;
  static_assert(IV::W == 2 * Vec::W, "a chunk of 16 values is two f32 vectors of the accumulator");
  constexpr int kPairs = kTile / 2;
  alignas(32) int32_t pairs[N][kPairs];
  float sigma[N];
  for (int j = 0; j < N; j++) sigma[j] = IV::weightPairs(w[j], pairs[j]);
  const Segment& vs = V.values;
  const uint8_t* rows[kTile + 1];
  for (int i = 0; i < n; i++) rows[i] = vs.row(i);
  rows[n] = rows[n - 1];  // an odd tile's last pair: its second row has weight 0
  const int nPairs = (n + 1) / 2;
  int64_t chunk = 0;
  for (int64_t e = 0; e < vs.dim; e += IV::W) {
    const AheadRange::Slice ahead = V.inPV ? V.beginInPV(chunk++) : AheadRange::Slice{nullptr, 0};
    I a0[N], a1[N];
    for (int j = 0; j < N; j++) a0[j] = IV::zero(), a1[j] = IV::zero();
    const auto pair = [&](int p) {
      I lo, hi;
      IV::interleaveInt8(rows[2 * p] + e, rows[2 * p + 1] + e, lo, hi);
      IV::inRegister(lo), IV::inRegister(hi);
      for (int j = 0; j < N; j++) {
        const I wp = IV::bcastPair(&pairs[j][p]);
        a0[j] = IV::maddAdd(wp, lo, a0[j]);
        a1[j] = IV::maddAdd(wp, hi, a1[j]);
      }
    };
    const int64_t withLines = std::min<int64_t>(nPairs, ahead.lines / 2);
    int p = 0;
    for (; p < withLines; p++) {
      prefetchLine(ahead.first + 2 * p * 64);
      prefetchLine(ahead.first + (2 * p + 1) * 64);
      pair(p);
    }
    for (; p < nPairs; p++) pair(p);
    for (int64_t l = 2 * withLines; l < ahead.lines; l++) prefetchLine(ahead.first + l * 64);
    for (int j = 0; j < N; j++) {
      const Vec::T s = Vec::bcast(sigma[j]);
      Vec::store(acc[j] + e, Vec::fma(IV::toFloat(a0[j]), s, Vec::load(acc[j] + e)));
      Vec::store(acc[j] + e + Vec::W, Vec::fma(IV::toFloat(a1[j]), s, Vec::load(acc[j] + e + Vec::W)));
    }
  }
  if (V.inPV && chunk == 0) V.requestPVList(0);  // no chunks: planned as one slice
}
