// Parsing and validation of problem descriptions; the rules mirror packages/kernels/src/variants.ts.
#include "etok/kernels/problem.h"

#include <cmath>
#include <sstream>

namespace etok::kernels {

Variant parseVariant(const std::string& text) {
  Variant v;
  if (text == "dense") return v;
  bool sawKv = false;
  std::stringstream in(text);
  std::string word;
  while (std::getline(in, word, '+')) {
    if (word == "mla" && !v.mla) {
      v.mla = true;
    } else if (word == "sparse" && !v.sparse) {
      v.sparse = true;
    } else if ((word == "kv-int8" || word == "kv-int4" || word == "kv-fp8") && !sawKv) {
      sawKv = true;
      v.kv = word == "kv-int8" ? KvQuant::Int8 : word == "kv-int4" ? KvQuant::Int4 : KvQuant::Fp8;
    } else {
      throw BadShape("variant", "variant '" + text + "' is not a lever set (dense, or mla, sparse and at most one of " +
                                    "kv-int8, kv-int4, kv-fp8 joined by +)");
    }
  }
  if (!v.mla && !v.sparse && !sawKv) throw BadShape("variant", "empty variant '" + text + "'");
  return v;
}

std::vector<Variant> allVariants() {
  std::vector<Variant> out;
  for (KvQuant kv : {KvQuant::None, KvQuant::Int8, KvQuant::Int4, KvQuant::Fp8})
    for (bool mla : {false, true})
      for (bool sparse : {false, true}) out.push_back({mla, sparse, kv});
  return out;
}

std::string formatVariant(const Variant& v) {
  std::string out;
  auto add = [&](const char* w) { out += out.empty() ? w : std::string("+") + w; };
  if (v.mla) add("mla");
  if (v.sparse) add("sparse");
  if (v.kv == KvQuant::Int8) add("kv-int8");
  if (v.kv == KvQuant::Int4) add("kv-int4");
  if (v.kv == KvQuant::Fp8) add("kv-fp8");
  return out.empty() ? "dense" : out;
}

Phase parsePhase(const std::string& text) {
  if (text == "decode") return Phase::Decode;
  if (text == "prefill") return Phase::Prefill;
  throw BadShape("phase", "phase '" + text + "' is not decode or prefill");
}

Dtype parseDtype(const std::string& text) {
  if (text == "f32") return Dtype::F32;
  if (text == "bf16") return Dtype::BF16;
  if (text == "f16") return Dtype::F16;
  throw BadShape("dtype", "dtype '" + text + "' is not f32, bf16 or f16");
}

const char* phaseName(Phase p) { return p == Phase::Decode ? "decode" : "prefill"; }
const char* dtypeName(Dtype d) { return d == Dtype::F32 ? "f32" : d == Dtype::BF16 ? "bf16" : "f16"; }

namespace {
void requirePositive(const char* field, int64_t value) {
  if (value < 1) throw BadShape(field, std::string(field) + " must be ≥ 1, got " + std::to_string(value));
}
}  // namespace

void validate(const Problem& p) {
  const Shape& s = p.shape;
  requirePositive("batch", s.batch);
  requirePositive("heads", s.heads);
  requirePositive("kvLen", s.kvLen);
  requirePositive("qLen", s.qLen);
  if (p.variant.mla) {
    requirePositive("rank", s.rank);
    requirePositive("ropeDim", s.ropeDim);
    if (p.variant.kv == KvQuant::Int4 && (s.rank % 2 != 0 || s.ropeDim % 2 != 0))
      throw BadShape("rank", "kv-int4 packs two values a byte: rank and ropeDim must be even");
  } else {
    requirePositive("kvHeads", s.kvHeads);
    requirePositive("headDim", s.headDim);
    if (s.heads % s.kvHeads != 0)
      throw BadShape("kvHeads", "heads (" + std::to_string(s.heads) + ") must be a multiple of kvHeads (" +
                                    std::to_string(s.kvHeads) + ")");
    if (p.variant.kv == KvQuant::Int4 && s.headDim % 2 != 0)
      throw BadShape("headDim", "kv-int4 packs two values a byte: headDim must be even");
  }
  if (p.phase == Phase::Decode && s.qLen != 1)
    throw BadShape("qLen", "decode takes one query token per sequence (qLen 1), got " + std::to_string(s.qLen));
  if (p.phase == Phase::Prefill && s.qLen > s.kvLen)
    throw BadShape("qLen", "prefill qLen (" + std::to_string(s.qLen) + ") cannot exceed kvLen (" +
                               std::to_string(s.kvLen) + ")");
  if (p.variant.sparse) {
    requirePositive("blockSize", p.params.blockSize);
    if (p.params.topK < 0) throw BadShape("topK", "topK must be ≥ 0");
    if (p.params.window < 0) throw BadShape("window", "window must be ≥ 0");
  }
  if (!std::isfinite(p.params.scale) || p.params.scale < 0)
    throw BadShape("scale", "scale must be a positive finite number (or 0 for the default)");
}

double effectiveScale(const Problem& p) {
  if (p.params.scale > 0) return p.params.scale;
  return p.variant.mla ? 1.0 / std::sqrt(192.0) : 1.0 / std::sqrt(static_cast<double>(p.shape.headDim));
}

std::vector<TensorSpec> inputSpecs(const Problem& p) {
  const Shape& s = p.shape;
  const int64_t rows = queryRows(p);
  if (p.variant.mla) {
    return {{"qNope", {s.batch, s.heads, rows, s.rank}},
            {"qRope", {s.batch, s.heads, rows, s.ropeDim}},
            {"ckv", {s.batch, s.kvLen, s.rank}},
            {"kRope", {s.batch, s.kvLen, s.ropeDim}}};
  }
  return {{"q", {s.batch, s.heads, rows, s.headDim}},
          {"k", {s.batch, s.kvHeads, s.kvLen, s.headDim}},
          {"v", {s.batch, s.kvHeads, s.kvLen, s.headDim}}};
}

TensorSpec outputSpec(const Problem& p) {
  const Shape& s = p.shape;
  return {"output", {s.batch, s.heads, queryRows(p), p.variant.mla ? s.rank : s.headDim}};
}

}  // namespace etok::kernels
