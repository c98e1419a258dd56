// One tile for one query block: scores, the online-softmax update of (m, l) and the accumulators, value scales
// folded into the weights, then the weighted values.
// Part of the attention core: included inside the ISA namespace by attention_core.h (after int8_dot.h), so `Vec` is
// that ISA's vector type.
#pragma once

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
        for (int j = 0; j < N; j++)
          Vec::store(scaled + j * kTile + first, Vec::mul(Vec::load(probs + j * kTile + first), sc));
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
