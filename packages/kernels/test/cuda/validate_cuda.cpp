// etok-cuda-validate: every lever set × phase × dtype × kernel path of the CUDA backend against the fp64
// references (packages/kernels/src/reference), on fresh random inputs with the output poisoned (NaN) before each
// run, so an element no kernel wrote fails. Exit 0 all pass, 1 any failure, 77 skipped (no CUDA device: the
// reason is printed). `--json` prints one JSON object per case on stdout; `--quick` runs one seed and one split
// setting per case; `--paths auto,simt,warp,stream` runs only those paths' cases (default: all).
// Paths: auto and simt on every case; stream (decode_stream.cuh) on every case it applies to (decode, bf16/f16,
// head dim 128, any KV format, sparse included). After the matrix, the token-split kernels run on shapes of their
// own: the warp decode (ETOK_CUDA_PATH=warp: GQA 4 and 8, 32 heads a group, one token, 3000 tokens; head dims 64
// and 128; every KV format) and every compiled variant of the stream decode (ETOK_CUDA_STREAM) on every KV format,
// dense and sparse.
// `--hopper` runs instead the experimental Hopper path (ETOK_CUDA_PATH=hopper, sm_90a wgmma kernels): every lever set
// it covers (dense/GQA prefill at head dims 64 and 128; mla decode, forced splits included, and prefill) × bf16/f16,
// and each compiled tile configuration the sweep may choose (ETOK_HOPPER_CONFIG); it skips (exit 77) on a device
// that is not compute capability 9.0.
//
// Numerics: pass when ‖out − exact‖ / ‖exact‖ ≤ tolerance of the dtype (f32 2e-5 · f16 8e-3 · bf16 2.5e-2; the
// tensor-core paths also round the dequantized KV tile or the softmax weights to the activation type) and every
// element is finite. The reference rounds q/K/V to the dtype and applies the kv-* round trip first, so the
// tolerance measures the kernel's arithmetic only, not the lever's quality loss (that is relErrorVsDense, printed
// beside it).
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "../../src/cuda/dispatch_policy.h"
#include "etok/kernels/attention.h"

using namespace etok::kernels;

namespace {

struct Case {
  std::string variant, phase, dtype, path;
  int splits;  // forced KV splits (0: the heuristic)
  Problem problem;
  std::string streamVariant = "";  // ETOK_CUDA_STREAM (empty: the default)
};

double tolerance(Dtype d) { return d == Dtype::F32 ? 2e-5 : d == Dtype::F16 ? 8e-3 : 2.5e-2; }

Problem makeProblem(const std::string& variant, const std::string& phase, const std::string& dtype,
                    std::mt19937_64& rng) {
  Problem p;
  p.variant = parseVariant(variant);
  p.phase = parsePhase(phase);
  p.dtype = parseDtype(dtype);
  Shape& s = p.shape;
  // Odd lengths on purpose: partial last tiles, partial NSA blocks, split shares that do not divide evenly.
  std::uniform_int_distribution<int> jitter(0, 40);
  s.batch = 2;
  s.kvLen = 700 + jitter(rng);
  // Prefill rows: enough for several 64-row tiles dense (× 4 GQA heads), kept small under mla (16 heads a row)
  // so the fp64 references stay quick.
  s.qLen = p.phase == Phase::Decode ? 1 : p.variant.mla ? 9 + jitter(rng) / 2 : 77 + jitter(rng);
  if (p.variant.mla) {
    s.heads = 16, s.rank = 512, s.ropeDim = 64;
  } else {
    s.heads = 8, s.kvHeads = 2, s.headDim = 128;
  }
  // NSA parameters vary too: window 0 makes a prefill row's partial last block a top-k candidate (per-token means).
  const int64_t windows[] = {0, 50, 96};
  p.params.blockSize = rng() % 2 ? 32 : 16;
  p.params.topK = 1 + static_cast<int64_t>(rng() % 6);
  p.params.window = windows[rng() % 3];
  return p;
}

std::string jsonEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) o += c;
  }
  return o;
}

/** Runs one case on a fresh seed with the output poisoned; prints its line; returns whether it passed. */
bool runCase(const Case& c, std::mt19937_64& rng, bool json) {
  setenv("ETOK_CUDA_PATH", c.path.c_str(), 1);
  if (c.splits) setenv("ETOK_CUDA_SPLITS", std::to_string(c.splits).c_str(), 1);
  else unsetenv("ETOK_CUDA_SPLITS");
  if (!c.streamVariant.empty()) setenv("ETOK_CUDA_STREAM", c.streamVariant.c_str(), 1);
  else unsetenv("ETOK_CUDA_STREAM");
  const uint64_t seed = rng();
  const char* profile = (seed & 1) ? "peaked" : "uniform";
  std::string error, description;
  double relExact = NAN, relDense = NAN;
  int64_t nonFinite = 0;
  bool pass = false;
  try {
    const HostTensors inputs = syntheticInputs(c.problem, profile, seed);
    auto k = prepareCuda(c.problem, inputs, 0);
    description = k->describe();
    k->poisonOutput();
    k->run();
    k->synchronize();
    const std::vector<float> out = k->output();
    for (float x : out) nonFinite += !std::isfinite(x);
    relExact = relativeL2(out, referenceExact(c.problem, inputs));
    relDense = relativeL2(out, referenceDense(c.problem, inputs));
    pass = nonFinite == 0 && relExact <= tolerance(c.problem.dtype);
  } catch (const std::exception& e) {
    error = e.what();
  }
  const Shape& sh = c.problem.shape;
  if (json) {
    std::printf(
        "{\"variant\":\"%s\",\"phase\":\"%s\",\"dtype\":\"%s\",\"path\":\"%s\",\"streamVariant\":\"%s\",\"splits\":%d,\"profile\":\"%s\","
        "\"seed\":%llu,\"batch\":%lld,\"heads\":%lld,\"kvHeads\":%lld,\"headDim\":%lld,\"kvLen\":%lld,\"qLen\":%lld,"
        "\"blockSize\":%lld,\"topK\":%lld,\"window\":%lld,\"pass\":%s,\"relErrorVsExact\":%.3e,"
        "\"relErrorVsDense\":%.3e,\"tolerance\":%.1e,\"nonFinite\":%lld,\"kernel\":\"%s\",\"error\":\"%s\"}\n",
        c.variant.c_str(), c.phase.c_str(), c.dtype.c_str(), c.path.c_str(), c.streamVariant.c_str(), c.splits, profile,
        static_cast<unsigned long long>(seed), static_cast<long long>(sh.batch), static_cast<long long>(sh.heads),
        static_cast<long long>(sh.kvHeads), static_cast<long long>(sh.headDim), static_cast<long long>(sh.kvLen),
        static_cast<long long>(sh.qLen), static_cast<long long>(c.problem.params.blockSize),
        static_cast<long long>(c.problem.params.topK), static_cast<long long>(c.problem.params.window),
        pass ? "true" : "false", relExact, relDense, tolerance(c.problem.dtype), static_cast<long long>(nonFinite),
        jsonEscape(description).c_str(), jsonEscape(error).c_str());
  } else {
    std::printf("%-4s %-20s %-7s %-4s %-6s %-7s splits=%d exact=%.2e dense=%.2e nonfinite=%lld %s%s\n",
                pass ? "ok" : "FAIL", c.variant.c_str(), c.phase.c_str(), c.dtype.c_str(), c.path.c_str(),
                c.streamVariant.c_str(), c.splits, relExact, relDense, static_cast<long long>(nonFinite),
                description.c_str(), error.empty() ? "" : (" " + error).c_str());
  }
  std::fflush(stdout);
  return pass;
}

/** The names of every lever set (allVariants(), the registry) for which `keep` holds. */
std::vector<std::string> variantsWhere(const std::function<bool(const Variant&)>& keep) {
  std::vector<std::string> out;
  for (const Variant& v : allVariants())
    if (keep(v)) out.push_back(formatVariant(v));
  return out;
}

bool listed(const std::string& list, const char* path) {
  if (list.empty()) return true;
  const std::string padded = "," + list + ",";
  return padded.find("," + std::string(path) + ",") != std::string::npos;
}

/** The Hopper path's cases (ETOK_CUDA_PATH=hopper): its default instance for every lever set it covers, and the
 *  sweep's other compiled configurations where they exist (kept in step with src/cuda/hopper_instances_*.cu). */
int runHopperCases(std::mt19937_64& rng, bool json, bool quick) {
  const std::vector<std::string> dense = variantsWhere([](const Variant& v) { return !v.mla; });
  const std::vector<std::string> mla = variantsWhere([](const Variant& v) { return v.mla; });
  // Non-default configurations compiled at bf16 (dense: head dim 128).
  auto extraConfigs = [](const std::string& v) -> std::vector<std::string> {
    const bool isMla = v.rfind("mla", 0) == 0, i8 = v.find("kv-int8") != std::string::npos,
               f8 = v.find("kv-fp8") != std::string::npos, i4 = v.find("kv-int4") != std::string::npos;
    if (isMla)
      return i4           ? std::vector<std::string>{}
             : (i8 || f8) ? std::vector<std::string>{"t32-s2-r3"}
                          : std::vector<std::string>{"t48-s2", "t32-s2-o"};
    if (i4) return {};
    return (i8 || f8) ? std::vector<std::string>{"c2-t96-s2-r2"}
                      : std::vector<std::string>{"c2-t96-s3", "c2-t64-s4", "c1-t64-s3"};
  };
  int failures = 0, cases = 0;
  auto run = [&](const std::string& variant, const char* phase, const char* dtype, int splits,
                 const std::string& config, int headDim, int heads) {
    Case c{variant, phase, dtype, "hopper", splits, makeProblem(variant, phase, dtype, rng)};
    if (headDim) c.problem.shape.headDim = headDim;
    if (heads) c.problem.shape.heads = heads;
    if (config.empty()) unsetenv("ETOK_HOPPER_CONFIG");
    else setenv("ETOK_HOPPER_CONFIG", config.c_str(), 1);
    cases++;
    failures += !runCase(c, rng, json);
  };
  for (const std::string& v : dense)
    for (const char* dtype : {"bf16", "f16"})
      for (int d : {128, 64}) {
        run(v, "prefill", dtype, 0, "", d, 0);
        if (!quick && !std::strcmp(dtype, "bf16") && d == 128)
          for (const std::string& config : extraConfigs(v)) run(v, "prefill", dtype, 0, config, d, 0);
      }
  for (const std::string& v : mla)
    for (const char* dtype : {"bf16", "f16"}) {
      for (const char* phase : {"decode", "prefill"})
        for (int splits : {0, 3}) {
          if (splits && (quick || !std::strcmp(phase, "prefill"))) continue;
          run(v, phase, dtype, splits, "", 0, 0);
          if (!quick && !splits && !std::strcmp(dtype, "bf16"))
            for (const std::string& config : extraConfigs(v)) run(v, phase, dtype, 0, config, 0, 0);
        }
      if (!quick && !std::strcmp(dtype, "bf16")) run(v, "decode", dtype, 0, "", 0, 128);  // two row tiles
    }
  unsetenv("ETOK_HOPPER_CONFIG");
  std::fprintf(stderr, "etok-cuda-validate --hopper: %d of %d cases passed\n", cases - failures, cases);
  return failures ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false, quick = false, hopper = false;
  std::string paths;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--json")) json = true;
    else if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--hopper")) hopper = true;
    else if (!std::strcmp(argv[i], "--paths") && i + 1 < argc) paths = argv[++i];
    else {
      std::fprintf(stderr, "usage: etok-cuda-validate [--json] [--quick] [--paths auto,simt,warp,stream] [--hopper]\n");
      return 2;
    }
  }
  int devices = 0;
  const cudaError_t err = cudaGetDeviceCount(&devices);
  if (err != cudaSuccess || devices == 0) {
    std::printf("SKIP: no CUDA device (%s)\n", err != cudaSuccess ? cudaGetErrorString(err) : "0 devices");
    return 77;
  }
  const std::vector<std::string> variants = variantsWhere([](const Variant&) { return true; });
  const char* phases[] = {"decode", "prefill"};
  const char* dtypes[] = {"f32", "bf16", "f16"};
  std::random_device entropy;
  std::mt19937_64 rng((static_cast<uint64_t>(entropy()) << 32) ^ entropy());
  if (hopper) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess || prop.major != 9 || prop.minor != 0) {
      std::printf("SKIP: the Hopper path needs a compute capability 9.0 device (this one is %d.%d)\n", prop.major,
                  prop.minor);
      return 77;
    }
    return runHopperCases(rng, json, quick);
  }
  int failures = 0, cases = 0;
  auto count = [&](bool pass) {
    cases++;
    failures += !pass;
  };
  for (const std::string& variant : variants)
    for (const char* phase : phases)
      for (const char* dtype : dtypes)
        for (const char* path : {"auto", "simt", "stream"}) {
          if (!listed(paths, path)) continue;
          if (!std::strcmp(path, "simt") && !std::strcmp(dtype, "f32")) continue;  // f32 is SIMT already
          for (int splits : {0, 3}) {
            if (splits && (quick || !std::strcmp(phase, "prefill"))) continue;
            Case c{variant, phase, dtype, path, splits, makeProblem(variant, phase, dtype, rng)};
            // The stream decode runs where it applies (its default variant's 16-token chunks divide the matrix's
            // NSA block sizes 16 and 32).
            if (!std::strcmp(path, "stream") &&
                !cuda::streamApplies(cuda::queryOf(c.problem), cuda::kStreamVariants[cuda::kDefaultStreamVariant]))
              continue;
            count(runCase(c, rng, json));
          }
        }
  // The experimental token-split decode (decode_warp.cuh, ETOK_CUDA_PATH=warp) on its own shapes: GQA 4, 32 heads
  // a group (two row tiles), heads = kvHeads at one token (splits with no token), 64 heads over 8 groups at 3000
  // tokens (many chunks a warp); head dims 64 and 128; every KV format (forced splits for the unquantized one).
  const Shape warpShapes[] = {{2, 8, 2, 128, 1, 0, 512, 64},
                              {1, 32, 1, 64, 1, 37, 512, 64},
                              {2, 16, 16, 128, 1, 1, 512, 64},
                              {2, 64, 8, 128, 1, 3000, 512, 64}};
  if (listed(paths, "warp"))
    for (const std::string& variant : variantsWhere([](const Variant& v) { return !v.mla && !v.sparse; }))
      for (const Shape& shape : warpShapes)
        for (const char* dtype : {"bf16", "f16"})
          for (int splits : {0, 3}) {
            if (splits && (quick || variant != "dense")) continue;
            Case c{variant, "decode", dtype, "warp", splits, makeProblem(variant, "decode", dtype, rng)};
            const int64_t matrixKvLen = c.problem.shape.kvLen;  // the matrix's odd 700-740
            c.problem.shape = shape;
            if (shape.kvLen == 0) c.problem.shape.kvLen = matrixKvLen;
            count(runCase(c, rng, json));
          }
  // Every compiled variant of the stream decode (decode_stream.cuh) on every KV format: GQA 4 at the matrix's odd
  // 700-740 tokens and 64 heads over 8 groups at 3000 tokens; the default variant also on 32 heads a group (two row
  // tiles, 37 tokens: most warps have no chunk), one head a group at one token (splits with no chunk) and forced
  // splits. Then NSA-sparse at 3000-3040 tokens (a partial last block; batch 1) with block size 64, and 32 for the
  // default.
  const Shape streamShapes[] = {{2, 8, 2, 128, 1, 0, 512, 64},
                                {1, 32, 1, 128, 1, 37, 512, 64},
                                {2, 16, 16, 128, 1, 1, 512, 64},
                                {2, 64, 8, 128, 1, 3000, 512, 64}};
  if (listed(paths, "stream"))
    for (const cuda::StreamVariant& sv : cuda::kStreamVariants)
      for (const char* dtype : {"bf16", "f16"}) {
        for (const std::string& variant : variantsWhere([](const Variant& v) { return !v.mla && !v.sparse; }))
          for (const Shape& shape : streamShapes)
            for (int splits : {0, 3}) {
              const bool fullSet = &sv == &cuda::kStreamVariants[cuda::kDefaultStreamVariant];
              if (!fullSet && (splits || &shape == &streamShapes[1] || &shape == &streamShapes[2])) continue;
              if (splits && (quick || &shape != &streamShapes[0])) continue;
              Case c{variant, "decode", dtype, "stream", splits, makeProblem(variant, "decode", dtype, rng), sv.name};
              const int64_t matrixKvLen = c.problem.shape.kvLen;
              c.problem.shape = shape;
              if (shape.kvLen == 0) c.problem.shape.kvLen = matrixKvLen;
              count(runCase(c, rng, json));
            }
        for (const std::string& variant : variantsWhere([](const Variant& v) { return v.sparse && !v.mla; }))
          for (int64_t blockSize : {64, 32}) {
            if (blockSize % sv.chunk || (blockSize != 64 && &sv != &cuda::kStreamVariants[cuda::kDefaultStreamVariant]))
              continue;
            Case c{variant, "decode", dtype, "stream", 0, makeProblem(variant, "decode", dtype, rng), sv.name};
            c.problem.shape = streamShapes[3];
            c.problem.shape.batch = 1;  // the fp64 references of 3000 tokens × 64 heads dominate the run time
            c.problem.shape.kvLen = 3000 + static_cast<int64_t>(rng() % 41);  // a partial last block
            c.problem.params.blockSize = blockSize;
            count(runCase(c, rng, json));
          }
      }
  std::fprintf(stderr, "etok-cuda-validate: %d of %d cases passed\n", cases - failures, cases);
  return failures ? 1 : 0;
}
