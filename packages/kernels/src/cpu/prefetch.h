// Memory requests issued while the core computes: one 64-byte line, and a range of lines cut into slices that are
// requested a slice at a time, spread over the arithmetic of a tile.
// Part of the attention core: included inside the ISA namespace by attention_core.h (after kv_formats.h), so `Vec` is
// that ISA's vector type.
#pragma once

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
