// The CUDA backend's path, variant and split rules (dispatch_policy.h): no device calls, so they are tested on CPUs.
#include "dispatch_policy.h"

#include <algorithm>
#include <cstdlib>

namespace etok::kernels::cuda {

namespace {

std::string envString(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool halfPrecision(StoreFormat f) { return f == StoreFormat::BF16 || f == StoreFormat::F16; }

std::string variantNames() {
  std::string names;
  for (const StreamVariant& v : kStreamVariants) names += (names.empty() ? "" : ", ") + std::string(v.name);
  return names;
}

int findVariant(const std::string& name) {
  for (int i = 0; i < kStreamVariantCount; i++)
    if (name == kStreamVariants[i].name) return i;
  return -1;
}

}  // namespace

const char* pathName(CudaPath path) {
  switch (path) {
    case CudaPath::Simt: return "simt";
    case CudaPath::Mma: return "mma";
    case CudaPath::Warp: return "warp";
    case CudaPath::Stream: return "stream";
    case CudaPath::Hopper: return "hopper";
  }
  return "?";
}

const char* splitRuleName(SplitRule rule) { return rule == SplitRule::Best ? "best" : "fewest"; }

PathQuery queryOf(const Problem& p) {
  PathQuery q;
  q.decode = p.phase == Phase::Decode;
  q.mla = p.variant.mla;
  q.sparse = p.variant.sparse;
  q.act = activationFormat(p.dtype);
  q.kv = kvFormat(p);
  q.headDim = p.shape.headDim;
  q.rank = p.shape.rank;
  q.ropeDim = p.shape.ropeDim;
  q.blockSize = p.params.blockSize;
  return q;
}

bool mmaApplies(const PathQuery& q) {
  if (!halfPrecision(q.act)) return false;
  if (q.mla) return q.rank == 512 && q.ropeDim == 64;
  return q.headDim == 64 || q.headDim == 128;
}

bool warpApplies(const PathQuery& q) {
  return q.decode && !q.mla && !q.sparse && halfPrecision(q.act) && (q.headDim == 64 || q.headDim == 128);
}

bool streamApplies(const PathQuery& q, const StreamVariant& v) {
  if (!q.decode || q.mla || !halfPrecision(q.act) || q.headDim != kStreamHeadDim) return false;
  return !q.sparse || (q.blockSize > 0 && q.blockSize % v.chunk == 0);
}

Overrides overridesFromEnvironment() {
  Overrides o;
  o.path = envString("ETOK_CUDA_PATH");
  o.streamVariant = envString("ETOK_CUDA_STREAM");
  const std::string splits = envString("ETOK_CUDA_SPLITS");
  o.splits = splits.empty() ? 0 : std::atoi(splits.c_str());
  o.splitRule = envString("ETOK_CUDA_SPLIT_RULE");
  return o;
}

PathChoice choosePath(const PathQuery& q, const Overrides& o, const Defaults& d) {
  PathChoice c;
  const std::string& forced = o.path;
  if (!forced.empty() && forced != "auto" && forced != "simt" && forced != "mma" && forced != "warp" &&
      forced != "stream" && forced != "hopper")
    throw BadShape("variant", "ETOK_CUDA_PATH=" + forced + " is not one of auto, simt, mma, warp, stream, hopper");
  int variant = kDefaultStreamVariant;
  if (!o.streamVariant.empty()) {
    variant = findVariant(o.streamVariant);
    if (variant < 0)
      throw BadShape("variant",
                     "ETOK_CUDA_STREAM=" + o.streamVariant + " is not a compiled variant (" + variantNames() + ")");
    c.variantForced = true;
  }
  const bool stream = streamApplies(q, kStreamVariants[variant]);
  c.forced = !forced.empty() && forced != "auto";
  if (forced == "simt") {
    c.path = CudaPath::Simt;
  } else if (forced == "mma") {
    if (!mmaApplies(q))
      throw BadShape("variant",
                     "ETOK_CUDA_PATH=mma but the tensor-core kernel has no instance for this problem "
                     "(bf16/f16 with headDim 64/128, or mla 512+64)");
    c.path = CudaPath::Mma;
  } else if (forced == "warp") {
    if (!warpApplies(q))
      throw BadShape("variant",
                     "ETOK_CUDA_PATH=warp needs dense/GQA decode (not sparse, not mla) at bf16/f16 "
                     "with headDim 64 or 128");
    c.path = CudaPath::Warp;
  } else if (forced == "stream") {
    if (!stream)
      throw BadShape("variant", std::string("ETOK_CUDA_PATH=stream needs decode at bf16/f16, not mla, headDim ") +
                                    std::to_string(kStreamHeadDim) +
                                    ", and under sparse a blockSize that is a "
                                    "multiple of the variant's chunk (" +
                                    kStreamVariants[variant].name + ": " +
                                    std::to_string(kStreamVariants[variant].chunk) + " tokens)");
    c.path = CudaPath::Stream;
  } else if (forced == "hopper") {
    // Whether it applies depends on the device (compute capability 9.0): planHopper() decides and says why not.
    c.path = CudaPath::Hopper;
  } else if (stream && (q.sparse ? d.streamSparse : q.kv == q.act ? d.streamDense : d.streamQuantized)) {
    c.path = CudaPath::Stream;
  } else if (d.warp && warpApplies(q)) {
    c.path = CudaPath::Warp;
  } else {
    c.path = mmaApplies(q) ? CudaPath::Mma : CudaPath::Simt;
  }
  if (c.path == CudaPath::Stream) c.streamVariant = variant;
  return c;
}

int64_t tokensRead(const Problem& p) {
  const int64_t kvLen = p.shape.kvLen;
  if (!p.variant.sparse) return kvLen;
  const int64_t bs = std::max<int64_t>(1, p.params.blockSize);
  return std::min<int64_t>(kvLen, (2 + p.params.topK + (p.params.window + bs - 1) / bs) * bs);
}

SplitChoice chooseSplits(bool prefill, int64_t blocks, int64_t tokens, int64_t minTokens, int64_t resident,
                         const Overrides& o) {
  SplitChoice c;
  if (!o.splitRule.empty() && o.splitRule != "fewest" && o.splitRule != "best")
    throw BadShape("variant", "ETOK_CUDA_SPLIT_RULE=" + o.splitRule + " is not one of fewest, best");
  c.rule = o.splitRule == "best" ? SplitRule::Best : SplitRule::Fewest;
  if (prefill) return c;
  if (o.splits > 0) {
    c.forced = true;
    c.splits = static_cast<int>(std::min<int64_t>(o.splits, std::max<int64_t>(1, tokens)));
    return c;
  }
  blocks = std::max<int64_t>(1, blocks);
  resident = std::max<int64_t>(1, resident);
  const int64_t cap = std::clamp<int64_t>(tokens / std::max<int64_t>(1, minTokens), 1, 256);
  auto cost = [&](int64_t s) { return static_cast<double>((blocks * s + resident - 1) / resident) / s; };
  double best = cost(1);
  for (int64_t s = 2; s <= cap; s++) best = std::min(best, cost(s));
  const double slack = c.rule == SplitRule::Best ? 1.0 : 1.10;
  for (int64_t s = 1; s <= cap; s++)
    if (cost(s) <= best * slack) {
      c.splits = static_cast<int>(s);
      return c;
    }
  return c;
}

}  // namespace etok::kernels::cuda
