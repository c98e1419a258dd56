// What one attention call computes (docs/spec.md §3): lever set, phase, shape, parameters, storage dtype.
// Plain structs only, so the addon, the standalone runner and the C++ tests share one description.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "etok/kernels/errors.h"

namespace etok::kernels {

enum class Phase { Decode, Prefill };
enum class Dtype { F32, BF16, F16 };
/** How the KV cache is stored: at the activation dtype, or quantized by a kv-* lever. */
enum class KvQuant { None, Int8, Int4, Fp8 };

struct Variant {
  bool mla = false;
  bool sparse = false;
  KvQuant kv = KvQuant::None;
};

struct Shape {
  int64_t batch = 1, heads = 32, kvHeads = 8, headDim = 128, qLen = 1, kvLen = 4096, rank = 512, ropeDim = 64;
};

struct Params {
  double scale = 0.0;  // 0 means the default: 1/sqrt(headDim), or 1/sqrt(192) under mla
  int64_t blockSize = 64, topK = 16, window = 512;
};

struct Problem {
  Variant variant;
  Phase phase = Phase::Decode;
  Dtype dtype = Dtype::F32;
  Shape shape;
  Params params;
};

/** A bad problem description, code BAD_SHAPE; `field` names the offending field (also the error's detail). */
class BadShape : public CodedError {
 public:
  BadShape(std::string field, const std::string& message)
      : CodedError("BAD_SHAPE", message, field), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

Variant parseVariant(const std::string& text);  // throws BadShape("variant", ...)
/** Every lever set, each once: layout (dense or mla) × sparse or not × KV storage (none, int8, int4, fp8); the same
    sixteen as allVariants() of packages/kernels/src/variants.ts. Tests enumerate variants from here. */
std::vector<Variant> allVariants();
std::string formatVariant(const Variant& v);
Phase parsePhase(const std::string& text);
Dtype parseDtype(const std::string& text);
const char* phaseName(Phase p);
const char* dtypeName(Dtype d);

/** Throws BadShape naming the first field that is out of range or inconsistent. */
void validate(const Problem& p);

/** Effective softmax scale. */
double effectiveScale(const Problem& p);

/** Query rows per sequence and head: 1 for decode, qLen for prefill. */
inline int64_t queryRows(const Problem& p) { return p.phase == Phase::Decode ? 1 : p.shape.qLen; }

/** Last KV position (exclusive) that query row i may see (causal prefill; all of kvLen for decode). */
inline int64_t visibleTokens(const Problem& p, int64_t row) {
  return p.phase == Phase::Decode ? p.shape.kvLen : p.shape.kvLen - p.shape.qLen + row + 1;
}

struct TensorSpec {
  std::string name;
  std::vector<int64_t> dims;
  int64_t elements() const {
    int64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
  }
};

/** Named inputs the variant takes (q,k,v or qNope,qRope,ckv,kRope), in order, with their dims. */
std::vector<TensorSpec> inputSpecs(const Problem& p);
TensorSpec outputSpec(const Problem& p);

}  // namespace etok::kernels
