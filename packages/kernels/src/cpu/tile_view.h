// A tile of the KV cache as the core reads it: where its rows live (in the cache at their stored format, or widened
// in scratch) and the memory requests planned while it computes.
// Part of the attention core: included inside the ISA namespace by attention_core.h (after prefetch.h), so `Vec` is
// that ISA's vector type.
#pragma once

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
  // loop holds in registers, and what the loop did not reach at its end: requested in a burst, a slice stalls the
  // arithmetic behind it (most likely the core's miss buffers filling) (docs/performance-log.md, 2026-11-26).
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
