// Widening a tile to f32 in scratch, once, when several query blocks read it.
// Part of the attention core: included inside the ISA namespace by attention_core.h (after tile_step.h), so `Vec` is
// that ISA's vector type.
#pragma once

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
  // f32 rows are already what the query blocks read (f32 keys are never widened): a copy would only move them.
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
