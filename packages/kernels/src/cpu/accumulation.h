// PV: a query block's softmax weights times a tile's values, added into its f32 accumulators.
// Part of the attention core: included inside the ISA namespace by attention_core.h (after scoring.h), so `Vec` is
// that ISA's vector type.
#pragma once

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
