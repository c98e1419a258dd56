// Storage policies of the attention core: how a stored value widens to f32, and whether rows carry f16 scales.
// Included inside the ISA namespace by attention_core.h, so `Vec` is that ISA's vector type.
// Element e of a row sits at byte e·kBytes, except int4, whose groups of L values pack element j (low nibble)
// with element j + L/2 (high nibble) in byte j (quantize.h).

template <StoreFormat F>
struct Fmt;

template <>
struct Fmt<StoreFormat::F32> {
  static constexpr bool kScaled = false, kInt4 = false, kPairSplit = false;
  static constexpr int kBytes = 4;
  static Vec::T loadW(const uint8_t* p) { return Vec::loadF32(p); }
  static float load1(const uint8_t* p) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
};

template <>
struct Fmt<StoreFormat::BF16> {
  // Read in place, bf16 rows are read 2·W values a load in pair-split order (scoring.h: pairSplit).
  static constexpr bool kScaled = false, kInt4 = false, kPairSplit = true;
  static constexpr int kBytes = 2;
  static Vec::T loadW(const uint8_t* p) { return Vec::loadBf16(p); }
  static void loadPair(const uint8_t* p, Vec::T& even, Vec::T& odd) { Vec::loadBf16Pair(p, even, odd); }
  static float load1(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return numeric::bf16ToFloat(h);
  }
};

template <>
struct Fmt<StoreFormat::F16> {
  static constexpr bool kScaled = false, kInt4 = false, kPairSplit = false;
  static constexpr int kBytes = 2;
  static Vec::T loadW(const uint8_t* p) { return Vec::loadF16(p); }
  static float load1(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return numeric::f16ToFloat(h);
  }
};

template <>
struct Fmt<StoreFormat::Int8> {
  static constexpr bool kScaled = true, kInt4 = false, kPairSplit = false;
  static constexpr int kBytes = 1;
  static Vec::T loadW(const uint8_t* p) { return Vec::loadInt8(p); }
  static float load1(const uint8_t* p) { return static_cast<float>(static_cast<int8_t>(*p)); }
};

template <>
struct Fmt<StoreFormat::Fp8> {
  static constexpr bool kScaled = true, kInt4 = false, kPairSplit = false;
  static constexpr int kBytes = 1;
  static Vec::T loadW(const uint8_t* p) { return Vec::loadFp8(p); }
  static float load1(const uint8_t* p) { return numeric::fp8e4m3ToFloat(*p); }
};

template <>
struct Fmt<StoreFormat::Int4> {
  static constexpr bool kScaled = true, kInt4 = true, kPairSplit = false;
  static constexpr int kBytes = 0;  // packed: see loadAt
};

/** Where vector loads of a group of `len` values stop (the rest goes scalar). */
template <StoreFormat F>
inline int64_t vectorEnd(int64_t len) {
  if constexpr (Fmt<F>::kInt4) return (len / 2) % Vec::W == 0 ? len : 0;
  else return len - len % Vec::W;
}

/** Vec::W values of the group starting at element `begin` (length len), from element e of the group. */
template <StoreFormat F>
inline Vec::T loadAt(const uint8_t* row, int64_t begin, int64_t len, int64_t e) {
  if constexpr (Fmt<F>::kInt4) {
    const int64_t half = len / 2;
    const uint8_t* bytes = row + begin / 2;
    return e < half ? Vec::loadInt4(bytes + e, false) : Vec::loadInt4(bytes + e - half, true);
  } else {
    return Fmt<F>::loadW(row + (begin + e) * Fmt<F>::kBytes);
  }
}

template <StoreFormat F>
inline float load1At(const uint8_t* row, int64_t begin, int64_t len, int64_t e) {
  if constexpr (Fmt<F>::kInt4) {
    const int64_t half = len / 2;
    const uint8_t b = row[begin / 2 + (e < half ? e : e - half)];
    return static_cast<float>((e < half ? b & 0xf : b >> 4) - 8);
  } else {
    return Fmt<F>::load1(row + (begin + e) * Fmt<F>::kBytes);
  }
}

/** Scale groups of a row: (count, size); float formats are one unscaled group spanning the row. S is a
 *  VectorStore or a tile Segment (tile_view.h). */
template <StoreFormat F, class S>
inline int64_t groupCount(const S& s) {
  return Fmt<F>::kScaled ? s.groups : 1;
}
template <StoreFormat F, class S>
inline int64_t groupSize(const S& s) {
  return Fmt<F>::kScaled ? s.groupSize : s.dim;
}
