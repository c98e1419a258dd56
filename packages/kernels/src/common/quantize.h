// How the kernels store a cache of vectors (KV rows, block means, queries, outputs): at an activation dtype, or
// quantized by a kv-* lever. The scheme is the contract documented in packages/kernels/README.md ("KV formats"):
//   int8  symmetric per vector: scale = f16(amax / 127), value = clamp(round(x / scale), -127, 127)
//   fp8   E4M3 per vector:      scale = f16(amax / 448), value = e4m3(x / scale)
//   int4  symmetric per group of 32 along the vector: scale = f16(amax / 7), value = clamp(round(x / scale), -7, 7)
//         stored +8 as a nibble; in a group of L values byte j holds value j (low nibble) and j + L/2 (high)
// Scales are 16-bit floats (2 bytes), so a vector costs dim + 2 bytes (int8, fp8) or dim/2 + 2·⌈dim/32⌉ (int4).
#pragma once

#include <cstdint>
#include <vector>

#include "aligned.h"
#include "etok/kernels/problem.h"

namespace etok::kernels {

enum class StoreFormat { F32, BF16, F16, Int8, Int4, Fp8 };

constexpr int64_t kInt4Group = 32;

/** The storage of the KV cache for a problem: the kv-* lever if any, else the activation dtype. */
StoreFormat kvFormat(const Problem& p);
StoreFormat activationFormat(Dtype d);

/** Rows of `dim` values in one format: values plane (rowBytes a row) and f16 scales plane (groups a row). */
struct VectorStore {
  StoreFormat format = StoreFormat::F32;
  int64_t rows = 0, dim = 0;
  int64_t rowBytes = 0;   // bytes of values per row
  int64_t groups = 0;     // scales per row (0 for f32/bf16/f16)
  int64_t groupSize = 0;  // values per scale group (the last group may be shorter)
  AlignedVector<uint8_t> values;
  AlignedVector<uint16_t> scales;

  const uint8_t* row(int64_t r) const { return values.data() + r * rowBytes; }
  const uint16_t* rowScales(int64_t r) const { return scales.data() + r * groups; }
  /** Bytes one row costs, scales included (what the cost model counts). */
  int64_t bytesPerRow() const { return rowBytes + 2 * groups; }
};

VectorStore makeStore(StoreFormat format, int64_t rows, int64_t dim);
/** Encodes one row from float (x has `dim` values). */
void encodeRow(VectorStore& store, int64_t row, const float* x);
/** Decodes one row to float: exact, since every stored value × its f16 scale fits in an f32. */
void decodeRow(const VectorStore& store, int64_t row, float* out);
/** Encodes `rows` consecutive rows of `data`. */
VectorStore encodeRows(StoreFormat format, const std::vector<float>& data, int64_t rows, int64_t dim);

/** x rounded to the dtype and back (the values a kernel storing at that dtype sees). */
std::vector<float> roundToDtype(const std::vector<float>& x, Dtype d);
/** Quantize → dequantize of each `dim`-vector of x (identity for float formats after dtype rounding). */
std::vector<float> roundTrip(const std::vector<float>& x, int64_t dim, StoreFormat format);

}  // namespace etok::kernels
