// The KV quantizers and dtype rounding (scheme in quantize.h and the README). One implementation serves the
// references (quantize → dequantize round trip) and the kernels' prepare step, so both see the same stored bits.
#include "quantize.h"

#include <algorithm>
#include <cmath>

#include "numeric.h"

namespace etok::kernels {

using namespace numeric;

StoreFormat activationFormat(Dtype d) {
  return d == Dtype::F32 ? StoreFormat::F32 : d == Dtype::BF16 ? StoreFormat::BF16 : StoreFormat::F16;
}

StoreFormat kvFormat(const Problem& p) {
  switch (p.variant.kv) {
    case KvQuant::Int8: return StoreFormat::Int8;
    case KvQuant::Int4: return StoreFormat::Int4;
    case KvQuant::Fp8: return StoreFormat::Fp8;
    case KvQuant::None: break;
  }
  return activationFormat(p.dtype);
}

VectorStore makeStore(StoreFormat format, int64_t rows, int64_t dim) {
  VectorStore s;
  s.format = format;
  s.rows = rows;
  s.dim = dim;
  switch (format) {
    case StoreFormat::F32: s.rowBytes = 4 * dim; break;
    case StoreFormat::BF16:
    case StoreFormat::F16: s.rowBytes = 2 * dim; break;
    case StoreFormat::Int8:
    case StoreFormat::Fp8: s.rowBytes = dim, s.groups = 1, s.groupSize = dim; break;
    case StoreFormat::Int4:
      s.rowBytes = dim / 2, s.groupSize = kInt4Group, s.groups = (dim + kInt4Group - 1) / kInt4Group;
      break;
  }
  s.values.assign(static_cast<size_t>(rows * s.rowBytes), 0);
  s.scales.assign(static_cast<size_t>(rows * s.groups), 0);
  return s;
}

namespace {

float absMax(const float* x, int64_t n) {
  float a = 0.0f;
  for (int64_t i = 0; i < n; i++) a = std::max(a, std::fabs(x[i]));
  return a;
}

/** f16 scale for amax / levels, clamped to the largest finite f16 (saturating absurdly large inputs). */
uint16_t scaleFor(float amax, float levels) { return floatToF16(std::min(amax / levels, 65504.0f)); }

int symmetricLevel(float x, float scale, int limit) {
  if (scale == 0.0f) return 0;
  const float q = std::nearbyint(x / scale);
  return static_cast<int>(std::clamp(q, static_cast<float>(-limit), static_cast<float>(limit)));
}

}  // namespace

void encodeRow(VectorStore& s, int64_t row, const float* x) {
  uint8_t* out = s.values.data() + row * s.rowBytes;
  uint16_t* scales = s.scales.data() + row * s.groups;
  const int64_t dim = s.dim;
  switch (s.format) {
    case StoreFormat::F32: std::memcpy(out, x, static_cast<size_t>(4 * dim)); return;
    case StoreFormat::BF16:
      for (int64_t d = 0; d < dim; d++) {
        const uint16_t h = floatToBf16(x[d]);
        std::memcpy(out + 2 * d, &h, 2);
      }
      return;
    case StoreFormat::F16:
      for (int64_t d = 0; d < dim; d++) {
        const uint16_t h = floatToF16(x[d]);
        std::memcpy(out + 2 * d, &h, 2);
      }
      return;
    case StoreFormat::Int8: {
      scales[0] = scaleFor(absMax(x, dim), 127.0f);
      const float scale = f16ToFloat(scales[0]);
      for (int64_t d = 0; d < dim; d++)
        out[d] = static_cast<uint8_t>(static_cast<int8_t>(symmetricLevel(x[d], scale, 127)));
      return;
    }
    case StoreFormat::Fp8: {
      scales[0] = scaleFor(absMax(x, dim), 448.0f);
      const float scale = f16ToFloat(scales[0]);
      for (int64_t d = 0; d < dim; d++) out[d] = scale == 0.0f ? 0 : floatToFp8e4m3(x[d] / scale);
      return;
    }
    case StoreFormat::Int4:
      for (int64_t g = 0; g < s.groups; g++) {
        const int64_t begin = g * s.groupSize, len = std::min(s.groupSize, dim - begin), half = len / 2;
        scales[g] = scaleFor(absMax(x + begin, len), 7.0f);
        const float scale = f16ToFloat(scales[g]);
        uint8_t* bytes = out + begin / 2;
        for (int64_t j = 0; j < half; j++) {
          const int lo = symmetricLevel(x[begin + j], scale, 7) + 8;
          const int hi = symmetricLevel(x[begin + half + j], scale, 7) + 8;
          bytes[j] = static_cast<uint8_t>(lo | (hi << 4));
        }
      }
      return;
  }
}

void decodeRow(const VectorStore& s, int64_t row, float* out) {
  const uint8_t* in = s.row(row);
  const uint16_t* scales = s.rowScales(row);
  const int64_t dim = s.dim;
  switch (s.format) {
    case StoreFormat::F32: std::memcpy(out, in, static_cast<size_t>(4 * dim)); return;
    case StoreFormat::BF16:
    case StoreFormat::F16:
      for (int64_t d = 0; d < dim; d++) {
        uint16_t h;
        std::memcpy(&h, in + 2 * d, 2);
        out[d] = s.format == StoreFormat::BF16 ? bf16ToFloat(h) : f16ToFloat(h);
      }
      return;
    case StoreFormat::Int8: {
      const float scale = f16ToFloat(scales[0]);
      for (int64_t d = 0; d < dim; d++) out[d] = static_cast<float>(static_cast<int8_t>(in[d])) * scale;
      return;
    }
    case StoreFormat::Fp8: {
      const float scale = f16ToFloat(scales[0]);
      for (int64_t d = 0; d < dim; d++) out[d] = fp8e4m3ToFloat(in[d]) * scale;
      return;
    }
    case StoreFormat::Int4:
      for (int64_t g = 0; g < s.groups; g++) {
        const int64_t begin = g * s.groupSize, len = std::min(s.groupSize, dim - begin), half = len / 2;
        const float scale = f16ToFloat(scales[g]);
        const uint8_t* bytes = in + begin / 2;
        for (int64_t j = 0; j < half; j++) {
          out[begin + j] = static_cast<float>((bytes[j] & 0xf) - 8) * scale;
          out[begin + half + j] = static_cast<float>((bytes[j] >> 4) - 8) * scale;
        }
      }
      return;
  }
}

VectorStore encodeRows(StoreFormat format, const std::vector<float>& data, int64_t rows, int64_t dim) {
  VectorStore s = makeStore(format, rows, dim);
  for (int64_t r = 0; r < rows; r++) encodeRow(s, r, data.data() + r * dim);
  return s;
}

std::vector<float> roundToDtype(const std::vector<float>& x, Dtype d) {
  std::vector<float> out(x);
  if (d == Dtype::BF16)
    for (auto& v : out) v = bf16ToFloat(floatToBf16(v));
  if (d == Dtype::F16)
    for (auto& v : out) v = f16ToFloat(floatToF16(v));
  return out;
}

std::vector<float> roundTrip(const std::vector<float>& x, int64_t dim, StoreFormat format) {
  const int64_t rows = static_cast<int64_t>(x.size()) / dim;
  const VectorStore s = encodeRows(format, x, rows, dim);
  std::vector<float> out(x.size());
  for (int64_t r = 0; r < rows; r++) decodeRow(s, r, out.data() + r * dim);
  return out;
}

}  // namespace etok::kernels
