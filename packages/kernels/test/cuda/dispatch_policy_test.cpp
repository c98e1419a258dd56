// etok-dispatch-policy-test: the CUDA backend's path, variant and split rules (src/cuda/dispatch_policy.h) on the
// CPU, in every build. Prints one line per failed expectation and "ok N checks"; exit 0 when all pass, 1 otherwise.
// Run by packages/native/test/kernels/dispatch-policy.test.ts.
#include <cstdio>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "../../src/cuda/dispatch_policy.h"

using namespace etok::kernels;
using namespace etok::kernels::cuda;

namespace {

int checks = 0, failures = 0;

void expect(bool ok, const std::string& what) {
  checks++;
  if (!ok) {
    failures++;
    std::printf("FAIL %s\n", what.c_str());
  }
}

template <class T> void expectEq(const T& got, const T& want, const std::string& what) {
  expect(got == want, what + " (got " + std::to_string(static_cast<long long>(got)) + ", want " +
                          std::to_string(static_cast<long long>(want)) + ")");
}

/** Whether f throws BadShape whose message contains `needle`. */
bool throwsBadShape(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
  } catch (const BadShape& e) {
    return std::string(e.what()).find(needle) != std::string::npos;
  }
  return false;
}

/** The names of every lever set for which `keep` holds. */
std::vector<std::string> variantsWhere(const std::function<bool(const Variant&)>& keep) {
  std::vector<std::string> out;
  for (const Variant& v : allVariants())
    if (keep(v)) out.push_back(formatVariant(v));
  return out;
}

Problem problem(const std::string& variant, Phase phase, Dtype dtype, int64_t headDim = 128) {
  Problem p;
  p.variant = parseVariant(variant);
  p.phase = phase;
  p.dtype = dtype;
  p.shape.headDim = headDim;
  return p;
}

Overrides forced(const std::string& path, const std::string& variant = "") {
  Overrides o;
  o.path = path;
  o.streamVariant = variant;
  return o;
}

void pathRules() {
  const Problem bf16 = problem("dense", Phase::Decode, Dtype::BF16);
  // Shipped defaults: auto keeps the validated kernels (mma where it has an instance, else SIMT).
  expect(choosePath(queryOf(bf16), {}).path == CudaPath::Mma, "auto bf16 d128 decode → mma");
  expect(!choosePath(queryOf(bf16), {}).forced, "auto is not forced");
  expect(choosePath(queryOf(problem("dense", Phase::Decode, Dtype::F32)), {}).path == CudaPath::Simt,
         "auto f32 → simt");
  expect(choosePath(queryOf(problem("dense", Phase::Decode, Dtype::BF16, 96)), {}).path == CudaPath::Simt,
         "auto d96 → simt (no mma instance)");
  expect(choosePath(queryOf(problem("mla", Phase::Decode, Dtype::F16)), {}).path == CudaPath::Mma, "auto mla → mma");
  for (const std::string& v : variantsWhere([](const Variant&) { return true; }))
    expect(choosePath(queryOf(problem(v, Phase::Decode, Dtype::BF16)), forced("auto")).path != CudaPath::Stream,
           "shipped defaults never pick stream by themselves: " + v);

  // Forced paths and their refusals.
  expect(choosePath(queryOf(bf16), forced("simt")).path == CudaPath::Simt, "forced simt");
  expect(choosePath(queryOf(bf16), forced("simt")).forced, "forced simt is reported as forced");
  expect(throwsBadShape([] { choosePath(queryOf(problem("dense", Phase::Decode, Dtype::F32)), forced("mma")); },
                        "ETOK_CUDA_PATH=mma"),
         "forced mma at f32 is refused");
  expect(choosePath(queryOf(bf16), forced("warp")).path == CudaPath::Warp, "forced warp");
  expect(throwsBadShape([] { choosePath(queryOf(problem("sparse", Phase::Decode, Dtype::BF16)), forced("warp")); },
                        "ETOK_CUDA_PATH=warp"),
         "forced warp under sparse is refused");
  expect(throwsBadShape([&] { choosePath(queryOf(bf16), forced("fast")); }, "not one of"), "unknown path is refused");
  // The Hopper path is taken only by name; whether it applies is the device's question (planHopper).
  expect(choosePath(queryOf(problem("dense", Phase::Prefill, Dtype::BF16)), forced("hopper")).path == CudaPath::Hopper,
         "forced hopper");
  expect(choosePath(queryOf(problem("dense", Phase::Prefill, Dtype::BF16)), {}).path != CudaPath::Hopper,
         "auto never takes the hopper path");
  expect(std::string(pathName(CudaPath::Hopper)) == "hopper", "hopper path name");

  // The stream decode: every KV format at bf16/f16 d128 decode; sparse only with whole chunks per NSA block.
  for (const std::string& v : variantsWhere([](const Variant& v) { return !v.mla; }))
    for (Dtype d : {Dtype::BF16, Dtype::F16}) {
      const PathChoice c = choosePath(queryOf(problem(v, Phase::Decode, d)), forced("stream"));
      expect(c.path == CudaPath::Stream && c.forced && c.streamVariant == kDefaultStreamVariant, "forced stream: " + v);
    }
  for (const std::string& v : variantsWhere([](const Variant& v) { return v.mla; }))
    expect(throwsBadShape([&] { choosePath(queryOf(problem(v, Phase::Decode, Dtype::BF16)), forced("stream")); },
                          "ETOK_CUDA_PATH=stream"),
           "forced stream refused for " + v);
  expect(throwsBadShape([] { choosePath(queryOf(problem("dense", Phase::Prefill, Dtype::BF16)), forced("stream")); },
                        "ETOK_CUDA_PATH=stream"),
         "forced stream refused for prefill");
  expect(throwsBadShape([] { choosePath(queryOf(problem("dense", Phase::Decode, Dtype::F32)), forced("stream")); },
                        "ETOK_CUDA_PATH=stream"),
         "forced stream refused at f32");
  expect(throwsBadShape([] { choosePath(queryOf(problem("dense", Phase::Decode, Dtype::BF16, 64)), forced("stream")); },
                        "ETOK_CUDA_PATH=stream"),
         "forced stream refused at d64");
  Problem odd = problem("sparse", Phase::Decode, Dtype::BF16);
  odd.params.blockSize = 16;
  expect(choosePath(queryOf(odd), forced("stream", "w4c16s3")).streamVariant == 2, "sparse bs 16 with 16-token chunks");
  expect(choosePath(queryOf(odd), forced("stream", "w4c16s3")).variantForced, "a named variant is reported as forced");
  expect(throwsBadShape([&] { choosePath(queryOf(odd), forced("stream", "w4c32s2")); }, "w4c32s2: 32 tokens"),
         "sparse bs 16 refused with 32-token chunks");
  odd.params.blockSize = 24;
  expect(throwsBadShape([&] { choosePath(queryOf(odd), forced("stream")); }, "multiple of"), "sparse bs 24 refused");
  expect(throwsBadShape([&] { choosePath(queryOf(bf16), forced("stream", "w9")); }, "w4c16s4"),
         "unknown variant refused, naming the compiled ones");
  for (int i = 0; i < kStreamVariantCount; i++) {
    const StreamVariant& v = kStreamVariants[i];
    expect(choosePath(queryOf(bf16), forced("stream", v.name)).streamVariant == i, std::string("variant ") + v.name);
    expect(v.chunk % 16 == 0 && v.stages >= 2 && (v.warps == 4 || v.warps == 8),
           std::string("variant shape ") + v.name);
  }

  // Defaults that prefer the token-split kernels (what a validated GPU run may switch on), one family at a time.
  Defaults quantized;
  quantized.streamQuantized = true;
  expect(choosePath(queryOf(problem("kv-int4", Phase::Decode, Dtype::F16)), {}, quantized).path == CudaPath::Stream,
         "streamQuantized: kv-int4 decode → stream");
  expect(choosePath(queryOf(bf16), {}, quantized).path == CudaPath::Mma, "streamQuantized: dense stays mma");
  expect(choosePath(queryOf(problem("sparse+kv-int8", Phase::Decode, Dtype::BF16)), {}, quantized).path ==
             CudaPath::Mma,
         "streamQuantized: sparse+kv-int8 stays mma");
  expect(choosePath(queryOf(problem("mla+kv-int8", Phase::Decode, Dtype::F16)), {}, quantized).path == CudaPath::Mma,
         "streamQuantized: mla stays mma");
  expect(choosePath(queryOf(problem("kv-int8", Phase::Prefill, Dtype::BF16)), {}, quantized).path == CudaPath::Mma,
         "streamQuantized: prefill stays mma");
  Defaults dense;
  dense.streamDense = true;
  expect(choosePath(queryOf(bf16), {}, dense).path == CudaPath::Stream, "streamDense: dense decode → stream");
  expect(choosePath(queryOf(problem("sparse", Phase::Decode, Dtype::BF16)), {}, dense).path == CudaPath::Mma,
         "streamDense: sparse stays mma");
  expect(choosePath(queryOf(problem("kv-fp8", Phase::Decode, Dtype::BF16)), {}, dense).path == CudaPath::Mma,
         "streamDense: kv-fp8 stays mma");
  Defaults all;
  all.streamDense = all.streamQuantized = all.streamSparse = true;
  expect(choosePath(queryOf(bf16), {}, all).path == CudaPath::Stream, "streamDense: dense decode → stream");
  expect(choosePath(queryOf(problem("sparse+kv-int8", Phase::Decode, Dtype::BF16)), {}, all).path == CudaPath::Stream,
         "streamSparse: sparse+kv-int8 → stream");
  Problem bs24 = problem("sparse", Phase::Decode, Dtype::BF16);
  bs24.params.blockSize = 24;
  expect(choosePath(queryOf(bs24), {}, all).path == CudaPath::Mma, "streamSparse: blockSize 24 falls back to mma");
  expect(choosePath(queryOf(problem("dense", Phase::Decode, Dtype::F32)), {}, all).path == CudaPath::Simt,
         "stream defaults: f32 stays SIMT");
  expect(choosePath(queryOf(bf16), forced("mma"), all).path == CudaPath::Mma, "a forced path beats the defaults");
  Defaults w;
  w.warp = true;
  expect(choosePath(queryOf(problem("dense", Phase::Decode, Dtype::BF16, 64)), {}, w).path == CudaPath::Warp,
         "warp: d64 decode → warp");
  expect(choosePath(queryOf(problem("sparse", Phase::Decode, Dtype::BF16)), {}, w).path == CudaPath::Mma,
         "warp: sparse stays mma");
  w.streamDense = true;
  expect(choosePath(queryOf(bf16), {}, w).path == CudaPath::Stream, "stream before warp where both are on");
  expect(choosePath(queryOf(problem("dense", Phase::Decode, Dtype::BF16, 64)), {}, w).path == CudaPath::Warp,
         "warp where the stream decode does not apply (d64)");
}

void splitRules() {
  Overrides none;
  // The H100 case that motivated the occupancy rule: 64 base blocks, 2 resident a SM × 132 = 264 slots, 16K tokens.
  expectEq(chooseSplits(false, 64, 16384, 128, 264, none).splits, 4, "64 blocks on 264 slots → 4 splits");
  // 640 SIMT blocks would take two rounds on 528 slots: 4 splits of 128 base blocks fill them exactly.
  expectEq(chooseSplits(false, 128, 16384, 128, 528, none).splits, 4, "128 blocks on 528 slots → 4 splits");
  expectEq(chooseSplits(true, 64, 16384, 128, 264, none).splits, 1, "prefill never splits");
  expectEq(chooseSplits(false, 64, 100, 128, 264, none).splits, 1, "too few tokens for a second split");
  expectEq(chooseSplits(false, 1000, 1 << 20, 128, 264, none).splits, 1, "a full device needs no splits");
  // Every split keeps ≥ minTokens, and the cap is 256.
  const SplitChoice many = chooseSplits(false, 1, 1 << 22, 128, 10000, none);
  expect(many.splits <= 256 && many.splits >= 1, "split cap");
  expectEq(chooseSplits(false, 1, 1000, 256, 10000, none).splits, 3, "1000 tokens at ≥ 256 a split → 3");
  // Rule `best` takes the exact minimum; `fewest` the fewest within 10% of it: 64 blocks, 132 slots, 40K tokens:
  // on some of these shapes the two differ.
  Overrides best;
  best.splitRule = "best";
  int differ = 0;
  for (int64_t resident : {132, 264, 396, 528})
    for (int64_t blocks : {8, 24, 64, 100}) {
      const int f = chooseSplits(false, blocks, 65536, 128, resident, none).splits;
      const int b = chooseSplits(false, blocks, 65536, 128, resident, best).splits;
      expect(b >= f, "best never picks fewer splits than fewest");
      auto cost = [&](int s) { return static_cast<double>((blocks * s + resident - 1) / resident) / s; };
      expect(cost(f) <= cost(b) * 1.10 + 1e-12, "fewest is within 10% of the best cost");
      differ += b != f;
    }
  expect(differ > 0, "the two rules differ on some shape");
  expect(chooseSplits(false, 64, 16384, 128, 264, best).rule == SplitRule::Best, "rule reported");
  // One block a multiprocessor (132), 64 base blocks: `fewest` leaves 4 SMs idle, `best` fills 16 rounds exactly.
  expectEq(chooseSplits(false, 64, 16384, 128, 132, none).splits, 2, "fewest: 64 blocks on 132 slots → 2 splits");
  expectEq(chooseSplits(false, 64, 16384, 128, 132, best).splits, 33, "best: 64 blocks on 132 slots → 33 splits");
  Overrides f6;
  f6.splits = 6;
  expectEq(chooseSplits(false, 64, 16384, 128, 264, f6).splits, 6, "forced 6");
  expect(chooseSplits(false, 64, 16384, 128, 264, f6).forced, "forced splits reported");
  expectEq(chooseSplits(false, 64, 3, 128, 264, f6).splits, 3, "forced splits capped at the tokens");
  expectEq(chooseSplits(true, 64, 16384, 128, 264, f6).splits, 1, "prefill ignores forced splits");
  Overrides bad;
  bad.splitRule = "most";
  expect(throwsBadShape([&] { chooseSplits(false, 1, 1, 1, 1, bad); }, "ETOK_CUDA_SPLIT_RULE"), "unknown rule refused");
}

void tokenRule() {
  Problem p = problem("sparse", Phase::Decode, Dtype::BF16);
  p.shape.kvLen = 16384;
  p.params.blockSize = 64, p.params.topK = 16, p.params.window = 512;
  expectEq(tokensRead(p), int64_t{(2 + 16 + 8) * 64}, "sparse reads sink + topK + window blocks + 1");
  p.shape.kvLen = 1000;
  expectEq(tokensRead(p), int64_t{1000}, "never more than the context");
  p.variant.sparse = false;
  p.shape.kvLen = 16384;
  expectEq(tokensRead(p), int64_t{16384}, "dense reads every token");
}

}  // namespace

/** The registry the tests enumerate from: sixteen distinct lever sets, each naming itself canonically. */
void variantRegistry() {
  const std::vector<std::string> names = variantsWhere([](const Variant&) { return true; });
  expectEq(names.size(), size_t{16}, "every lever set once");
  expectEq(std::set<std::string>(names.begin(), names.end()).size(), names.size(), "no lever set twice");
  for (const std::string& n : names) expect(formatVariant(parseVariant(n)) == n, "canonical name: " + n);
}

int main() {
  variantRegistry();
  pathRules();
  splitRules();
  tokenRule();
  std::printf("%s %d checks, %d failed\n", failures ? "FAIL" : "ok", checks, failures);
  return failures ? 1 : 0;
}
