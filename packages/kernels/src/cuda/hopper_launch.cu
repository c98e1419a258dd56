// Host side of the Hopper path (hopper_launch.h): picks a compiled instance, encodes the bulk-copy tensor maps
// over the uploaded planes, sizes the grid and the KV splits, and launches.
#include "hopper_launch.h"

#include <cudaTypedefs.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "hopper/tile_maps.h"

namespace etok::kernels::cuda {
namespace hopper {
std::vector<HopperKernel> prefillInstancesBf16();
std::vector<HopperKernel> prefillInstancesF16();
std::vector<HopperKernel> mlaInstances();
}  // namespace hopper

namespace {

using hopper::HopperKernel;
using hopper::TileMaps;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

/** The instances that compute problem p (the default first). */
std::vector<HopperKernel> candidates(const Problem& p) {
  const StoreFormat act = activationFormat(p.dtype), kv = kvFormat(p);
  std::vector<HopperKernel> all;
  if (p.variant.mla) all = hopper::mlaInstances();
  else if (act == StoreFormat::BF16) all = hopper::prefillInstancesBf16();
  else if (act == StoreFormat::F16) all = hopper::prefillInstancesF16();
  const int dims = p.variant.mla ? static_cast<int>(p.shape.rank + p.shape.ropeDim) : static_cast<int>(p.shape.headDim);
  std::vector<HopperKernel> out;
  for (const HopperKernel& k : all)
    if (k.act == static_cast<int>(act) && k.kv == static_cast<int>(kv) && k.headDim == dims) out.push_back(k);
  return out;
}

void requireApplicable(const Problem& p, int device) {
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  if (prop.major != 9 || prop.minor != 0)
    throw BadShape("device", "ETOK_CUDA_PATH=hopper needs a compute capability 9.0 GPU (sm_90a code); this one is " +
                                 std::to_string(prop.major) + "." + std::to_string(prop.minor));
  if (p.dtype != Dtype::BF16 && p.dtype != Dtype::F16)
    throw BadShape("dtype", "ETOK_CUDA_PATH=hopper runs bf16 and f16 (wgmma); f32 runs on the SIMT path");
  if (p.variant.mla) {
    if (p.shape.rank != 512 || p.shape.ropeDim != 64)
      throw BadShape("rank", "ETOK_CUDA_PATH=hopper has mla instances for rank 512 + ropeDim 64 only");
  } else {
    if (p.phase != Phase::Prefill)
      throw BadShape("phase",
                     "ETOK_CUDA_PATH=hopper covers dense/GQA prefill and mla (decode and prefill); dense decode "
                     "runs on the default paths");
    if (p.shape.headDim != 64 && p.shape.headDim != 128)
      throw BadShape("headDim", "ETOK_CUDA_PATH=hopper has dense instances for headDim 64 and 128");
  }
  const int64_t bs = p.params.blockSize;
  if (p.variant.sparse && (bs < 8 || (bs & (bs - 1)) != 0))
    throw BadShape("blockSize", "ETOK_CUDA_PATH=hopper needs a power-of-two NSA block size of at least 8");
}

/** The driver's tensor-map encoder, reached through the runtime (no link against libcuda). */
PFN_cuTensorMapEncodeTiled_v12000 encoder() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult status{};
    check(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &status),
          "cudaGetDriverEntryPointByVersion(cuTensorMapEncodeTiled)");
    if (status != cudaDriverEntryPointSuccess || !f)
      throw CodedError("CUDA_ERROR", "the driver has no cuTensorMapEncodeTiled (needs CUDA 12 or newer)");
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
  }();
  return fn;
}

/** A 3-D map over a plane of `sequences` × kvLen rows: boxes of `boxInner` elements × `tokens` rows. Activation-type
 *  planes use 16-bit elements and the 128-byte swizzle (box rows of 64 values = 128 bytes, the wgmma layout);
 *  raw quantized planes use bytes and no swizzle. Rows past kvLen read as zeros. */
CUtensorMap tensorMap(const Plane& plane, int64_t rowElements, int kvLen, int sequences, int boxInner, int tokens,
                      bool sixteenBit) {
  CUtensorMap map{};
  const cuuint64_t dims[3] = {static_cast<cuuint64_t>(rowElements), static_cast<cuuint64_t>(kvLen),
                              static_cast<cuuint64_t>(sequences)};
  const cuuint64_t strides[2] = {static_cast<cuuint64_t>(plane.pitch), static_cast<cuuint64_t>(plane.pitch) * kvLen};
  const cuuint32_t box[3] = {static_cast<cuuint32_t>(boxInner), static_cast<cuuint32_t>(tokens), 1};
  const cuuint32_t elementStrides[3] = {1, 1, 1};
  const CUresult r = encoder()(&map, sixteenBit ? CU_TENSOR_MAP_DATA_TYPE_UINT16 : CU_TENSOR_MAP_DATA_TYPE_UINT8, 3,
                               const_cast<uint8_t*>(plane.values), dims, strides, box, elementStrides,
                               CU_TENSOR_MAP_INTERLEAVE_NONE,
                               sixteenBit ? CU_TENSOR_MAP_SWIZZLE_128B : CU_TENSOR_MAP_SWIZZLE_NONE,
                               CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) throw CodedError("CUDA_ERROR", "cuTensorMapEncodeTiled failed (" + std::to_string(r) + ")");
  return map;
}

class Launch final : public HopperPath {
 public:
  Launch(const HopperKernel& k, const TileMaps& maps, dim3 grid, size_t shared)
      : kernel_(k), maps_(maps), grid_(grid), shared_(shared) {}
  void launch(const AttnArgs& a, cudaStream_t stream) const override {
    void* args[] = {const_cast<AttnArgs*>(&a), const_cast<TileMaps*>(&maps_)};
    check(cudaLaunchKernel(kernel_.fn, grid_, dim3(static_cast<unsigned>(kernel_.threads)), args, shared_, stream),
          "hopper attention launch");
  }

 private:
  HopperKernel kernel_;
  TileMaps maps_;
  dim3 grid_;
  size_t shared_;
};

/** Decode KV splits (the rule of dispatch.cu's splitsFor): s minimises ⌈blocks·s / resident⌉ / s, the fewest
 *  within 10% of the best, each split keeping ≥ 2 tiles; ETOK_CUDA_SPLITS overrides. */
int decodeSplits(int64_t blocks, int64_t tiles, int64_t resident) {
  const int forced = std::atoi(env("ETOK_CUDA_SPLITS").c_str());
  if (forced > 0) return static_cast<int>(std::min<int64_t>(forced, std::max<int64_t>(1, tiles)));
  const int64_t cap = std::clamp<int64_t>(tiles / 2, 1, 256);
  auto cost = [&](int64_t s) { return static_cast<double>((blocks * s + resident - 1) / resident) / s; };
  double best = cost(1);
  for (int64_t s = 2; s <= cap; s++) best = std::min(best, cost(s));
  for (int64_t s = 1; s <= cap; s++)
    if (cost(s) <= best * 1.10) return static_cast<int>(s);
  return 1;
}

}  // namespace

std::string hopperConfigs(const Problem& p) {
  std::string out;
  for (const HopperKernel& k : candidates(p)) out += (out.empty() ? "" : ",") + std::string(k.config);
  return out;
}

std::unique_ptr<HopperPath> planHopper(const Problem& p, AttnArgs& a, int device, std::string& description) {
  requireApplicable(p, device);
  const std::vector<HopperKernel> found = candidates(p);
  const std::string want = env("ETOK_HOPPER_CONFIG");
  const HopperKernel* k = nullptr;
  for (const HopperKernel& c : found)
    if (want.empty() || want == c.config) {
      k = &c;
      break;
    }
  if (!k)
    throw BadShape("variant", "ETOK_CUDA_PATH=hopper has no instance" + (want.empty() ? std::string() : " " + want) +
                                  " for this problem (compiled: " + hopperConfigs(p) + ")");

  const bool mla = p.variant.mla, quantized = k->rawStages > 0;
  const int ntok = k->tokensPerTile, sequences = a.batch * a.groups;
  // Dense: k = keys, v = values; mla: k = ckv, v = kRope. Quantized planes are copied as the bytes they are stored.
  const Plane& second = mla ? a.k1 : a.v;
  auto rawRow = [&](int64_t dim) { return kvFormat(p) == StoreFormat::Int4 ? dim / 2 : dim; };
  TileMaps maps{};
  if (quantized) {
    maps.k = tensorMap(a.k0, rawRow(a.k0.dim), a.kvLen, sequences, k->rawPieceBytes, ntok, false);
    maps.v = tensorMap(second, rawRow(second.dim), a.kvLen, sequences, mla ? k->rawRopePieceBytes : k->rawPieceBytes,
                       ntok, false);
  } else {
    maps.k = tensorMap(a.k0, a.k0.dim, a.kvLen, sequences, 64, ntok, true);
    maps.v = tensorMap(second, second.dim, a.kvLen, sequences, 64, ntok, true);
  }

  const int64_t packedRows = static_cast<int64_t>(a.rows) * a.groupHeads;
  dim3 grid(static_cast<unsigned>((packedRows + k->rowsPerBlock - 1) / k->rowsPerBlock),
            static_cast<unsigned>(sequences), 1);
  const int64_t tiles = (a.kvLen + ntok - 1) / ntok;
  const size_t shared = k->fixedShared + (a.sparse ? sizeof(int) * static_cast<size_t>(tiles) : 0);
  int optIn = 0;
  check(cudaDeviceGetAttribute(&optIn, cudaDevAttrMaxSharedMemoryPerBlockOptin, device), "cudaDeviceGetAttribute");
  if (shared > static_cast<size_t>(optIn))
    throw BadShape("kvLen", "the hopper kernel needs " + std::to_string(shared) +
                                " bytes of shared memory here; the device allows " + std::to_string(optIn));
  check(cudaFuncSetAttribute(k->fn, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared)),
        "cudaFuncSetAttribute(max dynamic shared memory)");
  a.splits = 1;
  if (p.phase == Phase::Decode) {
    int perSm = 0, sms = 0;
    check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, k->fn, k->threads, shared),
          "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
    check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
    int64_t work = tiles;
    if (a.sparse)  // at most sink + window + topK blocks (and one partial block), in tiles
      work = std::min<int64_t>(tiles, ((2 + p.params.topK) * p.params.blockSize + p.params.window) / ntok + 2);
    a.splits = decodeSplits(static_cast<int64_t>(grid.x) * grid.y, work,
                            static_cast<int64_t>(std::max(1, perSm)) * sms);
  }
  grid.z = static_cast<unsigned>(a.splits);
  if (grid.y > 65535u) throw BadShape("batch", "the CUDA launch grid is too large (batch × kv groups must be ≤ 65535)");

  std::ostringstream d;
  d << "cuda " << k->name << " <" << (mla ? "mla 512+64" : (k->headDim == 64 ? "d64" : "d128")) << ", " << k->config
    << ", " << k->rowsPerBlock << " rows>, grid " << grid.x << "x" << grid.y << "x" << grid.z << ", " << a.splits
    << " KV split(s)" << (a.sparse ? ", NSA selection (tile union per block)" : "")
    << (a.splits > 1 ? " + combine" : "");
  description = d.str();
  return std::make_unique<Launch>(*k, maps, grid, shared);
}

}  // namespace etok::kernels::cuda
