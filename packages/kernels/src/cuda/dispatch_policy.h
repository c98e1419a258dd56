// The CUDA backend's choices that need no device: which kernel path runs a problem, which variant of the
// token-split stream decode, and how many KV splits decode takes. Plain C++ (compiled in every build, the
// CPU-only one too) so that the rules have a CPU test (test/cuda/dispatch_policy_test.cpp); dispatch.cu feeds it
// what only the device knows (resident blocks) and launches what it picks.
//
// Runtime knobs (environment, read once per prepare):
//   ETOK_CUDA_PATH=auto|simt|mma|warp|stream|hopper   force a path (validation and the sweeps run every one;
//                                              hopper applies on compute capability 9.0 only, hopper_launch.h)
//   ETOK_CUDA_STREAM=<variant>                 the stream decode's variant (kStreamVariants; default
//                                              kDefaultStreamVariant)
//   ETOK_CUDA_SPLITS=N                         force decode's KV split count (N ≤ 0: the rule)
//   ETOK_CUDA_SPLIT_RULE=fewest|best           the split rule (see chooseSplits)
#pragma once

#include <cstdint>
#include <string>

#include "../common/quantize.h"
#include "etok/kernels/problem.h"

namespace etok::kernels::cuda {

enum class CudaPath { Simt, Mma, Warp, Stream, Hopper };
const char* pathName(CudaPath path);

/** One compiled variant of the stream decode (decode_stream.cuh): warps a block, tokens a warp's chunk, slots of
 *  each warp's cp.async ring. The instance files instantiate every entry; the sweep (bench/gpu/sweep_decode.py)
 *  times them all. */
struct StreamVariant {
  const char* name;
  int warps, chunk, stages;
};
inline constexpr StreamVariant kStreamVariants[] = {
    {"w4c16s4", 4, 16, 4}, {"w4c16s2", 4, 16, 2}, {"w4c16s3", 4, 16, 3},
    {"w4c32s2", 4, 32, 2}, {"w4c32s3", 4, 32, 3}, {"w8c16s3", 8, 16, 3},
};
inline constexpr int kStreamVariantCount = static_cast<int>(sizeof(kStreamVariants) / sizeof(kStreamVariants[0]));
inline constexpr int kDefaultStreamVariant = 0;
/** The stream decode's head dim (its fragment layouts and swizzles are written for 128). */
inline constexpr int kStreamHeadDim = 128;

/** What the path rules read off a problem. */
struct PathQuery {
  bool decode = true, mla = false, sparse = false;
  StoreFormat act = StoreFormat::F32, kv = StoreFormat::F32;
  int64_t headDim = 128, rank = 512, ropeDim = 64, blockSize = 64;
};
PathQuery queryOf(const Problem& p);

bool mmaApplies(const PathQuery& q);   // prefill_mma.cuh has an instance: bf16/f16, head dim 64/128, or mla 512+64
bool warpApplies(const PathQuery& q);  // decode_warp.cuh: dense/GQA decode at bf16/f16, head dim 64/128
/** decode_stream.cuh: decode at bf16/f16, not mla, head dim 128, any KV format; under sparse each NSA block must be
 *  whole chunks (blockSize a multiple of the variant's chunk). */
bool streamApplies(const PathQuery& q, const StreamVariant& v);

/** Where `auto` takes the token-split kernels instead of mma / SIMT. The shipped defaults keep both opt-in until a
 *  GPU run has validated and timed them (docs/gpu.md, "Flipping a default"); each flag is one lever family, so the
 *  evidence can switch them one at a time. */
struct Defaults {
  bool streamDense = false;      // the stream decode for a cache at the activation type (dense/GQA)
  bool streamQuantized = false;  // … for kv-int8 / kv-fp8 / kv-int4
  bool streamSparse = false;     // … under sparse (with or without a kv-* lever)
  bool warp = false;             // the warp decode, where it applies and the stream decode was not taken
};
inline constexpr Defaults kShippedDefaults{};

enum class SplitRule { Fewest, Best };
const char* splitRuleName(SplitRule rule);

/** The knobs as read from the environment; empty / 0 means not set. */
struct Overrides {
  std::string path;           // ETOK_CUDA_PATH
  std::string streamVariant;  // ETOK_CUDA_STREAM
  int splits = 0;             // ETOK_CUDA_SPLITS
  std::string splitRule;      // ETOK_CUDA_SPLIT_RULE
};
Overrides overridesFromEnvironment();

struct PathChoice {
  CudaPath path = CudaPath::Simt;
  bool forced = false;     // ETOK_CUDA_PATH named it
  int streamVariant = -1;  // index into kStreamVariants when path is Stream
  bool variantForced = false;
};
/** Throws BadShape("variant", …) for an unknown knob value or a forced path that has no kernel for the problem. */
PathChoice choosePath(const PathQuery& q, const Overrides& o, const Defaults& d = kShippedDefaults);

/** Tokens one (row, kv group) reads at most: all of them, or under sparse sink + topK blocks + the window's blocks
 *  (+1 for a window that straddles a block boundary). */
int64_t tokensRead(const Problem& p);

struct SplitChoice {
  int splits = 1;
  bool forced = false;  // ETOK_CUDA_SPLITS set it
  SplitRule rule = SplitRule::Fewest;
};
/** KV splits for decode (prefill: 1). A launch of blocks × s takes ⌈blocks·s / resident⌉ rounds, each as long as one
 *  split's share of the tokens, so s should minimise rounds(s)/s. Rule `fewest` (default): the fewest splits within
 *  10% of that minimum (each split adds a partial row to write and combine, and a prologue); rule `best`: the
 *  minimum itself (ties to fewer). Each split keeps ≥ minTokens tokens. */
SplitChoice chooseSplits(bool prefill, int64_t blocks, int64_t tokens, int64_t minTokens, int64_t resident,
                         const Overrides& o);

}  // namespace etok::kernels::cuda
