// The CUDA backend's host side: prepareCuda() conditions the inputs exactly as the fp64 references do (dtype
// rounding, then the kv-* quantizers of ../common/quantize.cpp, so the device holds the same bits), uploads them
// as 16-byte-pitched planes, precomputes the NSA block means, launches the kernel path and KV split count that
// dispatch_policy.h picks, and run() enqueues   [selectBlocks] → attention (mma, SIMT, warp or stream) →
// [combineSplits]   on the default stream, between two CUDA events so the harness can read device time.
// describe() reports the kernel, its grid and the knobs in force (dispatch_policy.h lists the environment knobs).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "../common/numeric.h"
#include "common.cuh"
#include "dispatch_policy.h"
#include "etok/kernels/attention.h"
#include "hopper_launch.h"
#include "replan.h"
#include "kernels.h"
#include "sparse_select.cuh"

namespace etok::kernels {

namespace cuda {
namespace {

int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/** Owns one device allocation. */
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  void allocate(size_t bytes, const char* what) {
    if (ptr_) cudaFree(ptr_), ptr_ = nullptr;
    bytes_ = std::max<size_t>(bytes, 16);
    check(cudaMalloc(&ptr_, bytes_), what);
  }
  void upload(const void* host, size_t bytes, const char* what) {
    allocate(bytes, what);
    check(cudaMemcpy(ptr_, host, bytes, cudaMemcpyHostToDevice), what);
  }
  template <class T> T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }
  bool empty() const { return ptr_ == nullptr; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

/** Uploads a VectorStore as a pitched plane (rows padded to 16 bytes) plus its f16 scales. */
Plane uploadPlane(const VectorStore& s, DeviceBuffer& values, DeviceBuffer& scales, const char* what) {
  Plane p;
  p.pitch = roundUp(s.rowBytes, 16);
  p.groups = static_cast<int>(s.groups);
  p.dim = static_cast<int>(s.dim);
  std::vector<uint8_t> pitched(static_cast<size_t>(s.rows * p.pitch), 0);
  for (int64_t r = 0; r < s.rows; r++)
    std::memcpy(pitched.data() + r * p.pitch, s.row(r), static_cast<size_t>(s.rowBytes));
  values.upload(pitched.data(), pitched.size(), what);
  p.values = values.as<uint8_t>();
  if (s.groups > 0) {
    scales.upload(s.scales.data(), s.scales.size() * sizeof(uint16_t), what);
    p.scales = scales.as<uint16_t>();
  }
  return p;
}

/** The stream decode's copy of a quantized plane's scales (device to device): per sequence of kvLen rows, padded
 *  with zeros to `pitch` rows, so that each 16-token chunk's scales start on a 16-byte boundary (decode_stream.cuh
 *  copies them whole). */
const uint16_t* seqScales(const Plane& p, int64_t seqs, int64_t kvLen, int64_t pitch, DeviceBuffer& buffer) {
  const size_t row = sizeof(uint16_t) * p.groups;
  buffer.allocate(static_cast<size_t>(seqs * pitch) * row, "cudaMalloc stream scales");
  check(cudaMemset(buffer.as<void>(), 0, buffer.bytes()), "zero stream scales");
  check(cudaMemcpy2D(buffer.as<void>(), pitch * row, p.scales, kvLen * row, kvLen * row, seqs,
                     cudaMemcpyDeviceToDevice),
        "copy stream scales");
  return buffer.as<uint16_t>();
}

int nextPow2(int x) {
  int p = 1;
  while (p < x) p <<= 1;
  return p;
}

void launch(const KernelRef& k, dim3 grid, size_t shared, void** args, const char* what) {
  check(cudaLaunchKernel(k.fn, grid, dim3(static_cast<unsigned>(k.threads)), args, shared, nullptr), what);
}

void allowShared(const KernelRef& k, size_t bytes, int optIn, const char* field) {
  if (bytes > static_cast<size_t>(optIn))
    throw BadShape(field, std::string("the CUDA kernel ") + k.name + " needs " + std::to_string(bytes) +
                              " bytes of shared memory; this device allows " + std::to_string(optIn));
  if (bytes > 48 * 1024)
    check(cudaFuncSetAttribute(k.fn, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)),
          "cudaFuncSetAttribute(max dynamic shared memory)");
}

class CudaAttention final : public PreparedAttention {
 public:
  CudaAttention(const Problem& p, const HostTensors& in, int device) : p_(p), device_(device) {
    int count = 0;
    check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
    if (device < 0 || device >= count)
      throw BadShape("device", "cuda:" + std::to_string(device) + " does not exist (" + std::to_string(count) +
                                   " CUDA device(s))");
    check(cudaSetDevice(device_), "cudaSetDevice");
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, device_), "cudaGetDeviceProperties");
    smCount_ = prop.multiProcessorCount;
    l2Bytes_ = prop.l2CacheSize;
    sharedOptIn_ = static_cast<int>(prop.sharedMemPerBlockOptin);

    const Shape& s = p.shape;
    act_ = activationFormat(p.dtype);
    kv_ = kvFormat(p);
    overrides_ = overridesFromEnvironment();
    path_ = choosePath(queryOf(p), overrides_);  // an unknown knob fails before any upload
    const bool mla = p.variant.mla;
    const int64_t rows = queryRows(p);
    const int64_t dk = mla ? s.rank + s.ropeDim : s.headDim, dv = mla ? s.rank : s.headDim;
    requireDims(dk, dv);

    AttnArgs& a = args_;
    a.batch = static_cast<int>(s.batch);
    a.heads = static_cast<int>(s.heads);
    a.groups = mla ? 1 : static_cast<int>(s.kvHeads);
    a.groupHeads = a.heads / a.groups;
    a.rows = static_cast<int>(rows);
    a.qLen = static_cast<int>(s.qLen);
    a.kvLen = static_cast<int>(s.kvLen);
    a.dk = static_cast<int>(dk);
    a.dv = static_cast<int>(dv);
    a.scaleLog2 = static_cast<float>(effectiveScale(p) * 1.4426950408889634);
    a.prefill = p.phase == Phase::Prefill;
    a.mla = mla;
    a.sparse = p.variant.sparse;
    a.blockSize = static_cast<int>(p.params.blockSize);

    // Inputs: the dtype rounding, then the kv-* quantizer, as in reference::prepareInputs.
    if (mla) {
      a.q0 = uploadPlane(encodeRows(act_, in.at("qNope"), s.batch * s.heads * rows, s.rank), q0_, q0s_, "upload qNope");
      a.q1 = uploadPlane(encodeRows(act_, in.at("qRope"), s.batch * s.heads * rows, s.ropeDim), q1_, q1s_,
                         "upload qRope");
      const auto ckv = roundToDtype(in.at("ckv"), p.dtype), kRope = roundToDtype(in.at("kRope"), p.dtype);
      a.k0 = uploadPlane(encodeRows(kv_, ckv, s.batch * s.kvLen, s.rank), k0_, k0s_, "upload ckv");
      a.k1 = uploadPlane(encodeRows(kv_, kRope, s.batch * s.kvLen, s.ropeDim), k1_, k1s_, "upload kRope");
      a.v = a.k0;
      if (a.sparse) prepareSelection(ckv, kRope);
    } else {
      a.q0 = uploadPlane(encodeRows(act_, in.at("q"), s.batch * s.heads * rows, s.headDim), q0_, q0s_, "upload q");
      a.q1.dim = 0;
      const auto k = roundToDtype(in.at("k"), p.dtype), v = roundToDtype(in.at("v"), p.dtype);
      a.k0 = uploadPlane(encodeRows(kv_, k, s.batch * s.kvHeads * s.kvLen, s.headDim), k0_, k0s_, "upload k");
      a.k1.dim = 0;
      a.v = uploadPlane(encodeRows(kv_, v, s.batch * s.kvHeads * s.kvLen, s.headDim), v_, vs_, "upload v");
      if (a.sparse) prepareSelection(k, {});
    }

    const size_t outElems = static_cast<size_t>(outputSpec(p).elements());
    outBytes_ = outElems * (act_ == StoreFormat::F32 ? 4 : 2);
    out_.allocate(outBytes_, "cudaMalloc output");
    a.out = out_.as<void>();

    plan();
    check(cudaEventCreate(&start_), "cudaEventCreate");
    check(cudaEventCreate(&stop_), "cudaEventCreate");
  }

  ~CudaAttention() override {
    cudaSetDevice(device_);
    if (start_) cudaEventDestroy(start_);
    if (stop_) cudaEventDestroy(stop_);
  }

  void run() override {
    check(cudaSetDevice(device_), "cudaSetDevice");
    check(cudaEventRecord(start_, nullptr), "cudaEventRecord");
    if (args_.sparse) {
      void* selArgs[] = {&args_, &sel_};
      launch(select_, dim3(static_cast<unsigned>(args_.batch * args_.groups * args_.rows)), selectShared_, selArgs,
             "NSA selection launch");
      check(cudaGetLastError(), "NSA selection");
    }
    void* attnArgs[] = {&args_};
    if (hopper_) hopper_->launch(args_, nullptr);
    else launch(attention_, grid_, attentionShared_, attnArgs, "attention launch");
    check(cudaGetLastError(), "attention");
    if (args_.splits > 1) {
      launch(combine_, dim3(static_cast<unsigned>(args_.batch * args_.heads * args_.rows)), 0, attnArgs,
             "combine launch");
      check(cudaGetLastError(), "combine");
    }
    check(cudaEventRecord(stop_, nullptr), "cudaEventRecord");
    ran_ = true;
  }

  void synchronize() override {
    check(cudaSetDevice(device_), "cudaSetDevice");
    check(cudaDeviceSynchronize(), "cudaDeviceSynchronize (a kernel failed)");
  }

  std::vector<float> output() override {
    check(cudaSetDevice(device_), "cudaSetDevice");
    std::vector<uint8_t> raw(outBytes_);
    check(cudaMemcpy(raw.data(), out_.as<void>(), outBytes_, cudaMemcpyDeviceToHost), "copy output");
    const size_t n = static_cast<size_t>(outputSpec(p_).elements());
    std::vector<float> host(n);
    if (act_ == StoreFormat::F32) {
      std::memcpy(host.data(), raw.data(), n * 4);
    } else {
      const uint16_t* h = reinterpret_cast<const uint16_t*>(raw.data());
      for (size_t i = 0; i < n; i++)
        host[i] = act_ == StoreFormat::BF16 ? numeric::bf16ToFloat(h[i]) : numeric::f16ToFloat(h[i]);
    }
    return host;
  }

  double lastRunDeviceSeconds() override {
    if (!ran_) return -1.0;
    check(cudaSetDevice(device_), "cudaSetDevice");
    check(cudaEventSynchronize(stop_), "cudaEventSynchronize");
    float ms = 0.f;
    check(cudaEventElapsedTime(&ms, start_, stop_), "cudaEventElapsedTime");
    return static_cast<double>(ms) * 1e-3;
  }

  void flushDeviceCaches() override {
    check(cudaSetDevice(device_), "cudaSetDevice");
    if (flush_.empty()) flush_.allocate(static_cast<size_t>(std::max(l2Bytes_, 1 << 20)) * 2, "cudaMalloc L2 flush");
    // Writing twice the L2 evicts the inputs (their lines are clean: they are dropped, not written back).
    check(cudaMemsetAsync(flush_.as<void>(), ++flushByte_, flush_.bytes(), nullptr), "L2 flush");
  }

  void poisonOutput() override {
    check(cudaSetDevice(device_), "cudaSetDevice");
    // 0xFF bytes are NaN in f32, bf16 and f16: an element no kernel wrote stays NaN and fails every check.
    check(cudaMemset(out_.as<void>(), 0xff, out_.bytes()), "poison output");
    if (!partO_.empty()) check(cudaMemset(partO_.as<void>(), 0xff, partO_.bytes()), "poison partials");
    if (!partML_.empty()) check(cudaMemset(partML_.as<void>(), 0xff, partML_.bytes()), "poison partial states");
    if (!list_.empty()) check(cudaMemset(list_.as<void>(), 0xff, list_.bytes()), "poison selection");
    check(cudaDeviceSynchronize(), "poison");
  }

  std::string describe() const override { return description_; }

  /** Reads the knobs again and plans the launch anew on the uploaded inputs (the sweeps time many knob settings
   *  without re-conditioning and re-uploading the cache). */
  void replan() {
    check(cudaSetDevice(device_), "cudaSetDevice");
    check(cudaDeviceSynchronize(), "cudaDeviceSynchronize before replanning");
    overrides_ = overridesFromEnvironment();
    path_ = choosePath(queryOf(p_), overrides_);
    plan();
  }

 private:
  void requireDims(int64_t dk, int64_t dv) const {
    const char* field = p_.variant.mla ? "rank" : "headDim";
    if (dk % 8 != 0 || dv % 8 != 0 || (p_.variant.mla && p_.shape.ropeDim % 8 != 0))
      throw BadShape(p_.variant.mla ? (dv % 8 ? "rank" : "ropeDim") : "headDim",
                     "the CUDA kernels read rows in 8-value units: head dims (headDim, or rank and ropeDim) must be "
                     "multiples of 8");
    if (!p_.variant.mla && dk > 256) throw BadShape(field, "the CUDA kernels support headDim ≤ 256");
    if (p_.variant.mla && (dk > 768 || dv > 512))
      throw BadShape(field, "the CUDA kernels support mla with rank ≤ 512 and rank + ropeDim ≤ 768");
    const int64_t tokens = p_.shape.batch * (p_.variant.mla ? 1 : p_.shape.kvHeads) * p_.shape.kvLen;
    if (tokens > (int64_t{1} << 31) / 2 || p_.shape.kvLen > (int64_t{1} << 30))
      throw BadShape("kvLen", "the CUDA kernels index KV rows with 32-bit token counts per sequence");
  }

  /** Block means as the reference computes them (reference/selection_ref.cpp) and the selection buffers. */
  void prepareSelection(const std::vector<float>& keys0, const std::vector<float>& keys1) {
    const Shape& s = p_.shape;
    AttnArgs& a = args_;
    const int64_t bs = p_.params.blockSize, kvLen = s.kvLen, dk = a.dk;
    const int64_t d0 = a.k0.dim, d1 = a.k1.dim;
    const int64_t nBlocks = (kvLen + bs - 1) / bs;
    sel_.meanPerToken = a.prefill && p_.params.window == 0;
    sel_.meanRows = static_cast<int>(sel_.meanPerToken ? kvLen : nBlocks);
    sel_.topK = static_cast<int>(std::min<int64_t>(p_.params.topK, nBlocks));
    sel_.window = static_cast<int>(std::min<int64_t>(p_.params.window, kvLen));
    sel_.sortCapacity = nextPow2(static_cast<int>(nBlocks));
    const int64_t groups = a.batch * a.groups;
    std::vector<float> means(static_cast<size_t>(groups * sel_.meanRows * dk));
    std::vector<double> sum(static_cast<size_t>(dk));
    std::vector<float> rounded(static_cast<size_t>(dk));
    for (int64_t bg = 0; bg < groups; bg++) {
      for (int64_t blk = 0; blk < nBlocks; blk++) {
        std::fill(sum.begin(), sum.end(), 0.0);
        const int64_t begin = blk * bs, end = std::min(kvLen, begin + bs);
        for (int64_t t = begin; t < end; t++) {
          const int64_t row = bg * kvLen + t;
          for (int64_t d = 0; d < d0; d++) sum[d] += keys0[row * d0 + d];
          for (int64_t d = 0; d < d1; d++) sum[d0 + d] += keys1[row * d1 + d];
          if (sel_.meanPerToken || t == end - 1) {
            for (int64_t d = 0; d < dk; d++)
              rounded[d] = static_cast<float>(sum[d] / static_cast<double>(t - begin + 1));
            const auto r = roundToDtype(rounded, p_.dtype);
            const int64_t meanRow = sel_.meanPerToken ? t : blk;
            std::copy(r.begin(), r.end(), means.begin() + (bg * sel_.meanRows + meanRow) * dk);
          }
        }
      }
    }
    means_.upload(means.data(), means.size() * sizeof(float), "upload block means");
    sel_.means = means_.as<float>();
    a.maskWords = static_cast<int>((nBlocks + 31) / 32);
    a.listCap = static_cast<int>(nBlocks);
    const size_t selRows = static_cast<size_t>(groups) * a.rows;
    mask_.allocate(selRows * a.maskWords * sizeof(uint32_t), "cudaMalloc selection mask");
    list_.allocate(selRows * a.listCap * sizeof(int), "cudaMalloc selection list");
    count_.allocate(selRows * sizeof(int), "cudaMalloc selection count");
    sel_.mask = mask_.as<uint32_t>();
    sel_.list = list_.as<int>();
    sel_.count = count_.as<int>();
    a.selMask = sel_.mask;
    a.selList = sel_.list;
    a.selCount = sel_.count;
    select_ = selectKernel(act_);
    selectShared_ = selectSharedBytes(a.dk, sel_.sortCapacity);
    allowShared(select_, selectShared_, sharedOptIn_, "kvLen");
  }

  /** The tensor-core instance for this problem, if one exists. */
  KernelRef mmaChoice() const {
    if (act_ == StoreFormat::F32) return {};
    const Shape& s = p_.shape;
    const bool decode = p_.phase == Phase::Decode;
    MmaShape shape;
    if (p_.variant.mla) {
      if (s.rank != 512 || s.ropeDim != 64) return {};
      shape = MmaShape::Mla512x64;
    } else if (s.headDim == 128) {
      shape = decode ? MmaShape::Dense128Decode : MmaShape::Dense128Prefill;
    } else if (s.headDim == 64) {
      shape = decode ? MmaShape::Dense64Decode : MmaShape::Dense64Prefill;
    } else {
      return {};
    }
    return act_ == StoreFormat::BF16 ? mmaKernelBf16(kv_, shape) : mmaKernelF16(kv_, shape);
  }

  /** Everything the chosen path (path_) needs beyond the inputs: the stream decode's scale planes, the launch, and
   *  the partials of a split launch. */
  void plan() {
    AttnArgs& a = args_;
    if (path_.path == CudaPath::Stream && a.k0.groups > 0 && !a.kScalesSeq) {
      const int64_t seqs = static_cast<int64_t>(a.batch) * a.groups;
      a.scaleSeqPitch = static_cast<int>(roundUp(a.kvLen, 64));
      a.kScalesSeq = seqScales(a.k0, seqs, a.kvLen, a.scaleSeqPitch, kSeqScales_);
      a.vScalesSeq = seqScales(a.v, seqs, a.kvLen, a.scaleSeqPitch, vSeqScales_);
    }
    planLaunch();
    const size_t parts = static_cast<size_t>(a.batch) * a.heads * a.rows * a.splits;
    if (a.splits > 1 && partO_.bytes() < parts * a.dv * sizeof(float)) {
      partO_.allocate(parts * a.dv * sizeof(float), "cudaMalloc partials");
      partML_.allocate(parts * 2 * sizeof(float), "cudaMalloc partial states");
    }
    a.partO = a.splits > 1 ? partO_.as<float>() : nullptr;
    a.partML = a.splits > 1 ? partML_.as<float>() : nullptr;
    if (a.splits > 1) combine_ = combineKernel(act_);
  }

  /** Launch shape and KV splits of the chosen path (path_), and the description of both. */
  void planLaunch() {
    AttnArgs& a = args_;
    if (path_.path == CudaPath::Hopper) {  // experimental until validated on a GPU: only when asked for by name
      hopper_ = planHopper(p_, a, device_, description_);
      return;
    }
    hopper_.reset();
    const int64_t packedRows = static_cast<int64_t>(a.rows) * a.groupHeads;
    int64_t minTokens = 128;  // SIMT: each split keeps ≥ 128 tokens; the tiled kernels ≥ 2 of their tiles
    std::ostringstream d;
    switch (path_.path) {
      case CudaPath::Stream:
        attention_ = act_ == StoreFormat::BF16 ? streamDecodeBf16(kv_, path_.streamVariant)
                                               : streamDecodeF16(kv_, path_.streamVariant);
        grid_ = dim3(static_cast<unsigned>((packedRows + 15) / 16), static_cast<unsigned>(a.batch * a.groups), 1);
        minTokens = 2 * attention_.tokensPerTile;  // each warp keeps ≥ 2 chunks
        d << "cuda stream<" << attention_.name << ", 16 rows, head dim " << kStreamHeadDim << ">";
        break;
      case CudaPath::Warp:
        attention_ = act_ == StoreFormat::BF16 ? warpDecodeBf16(kv_, static_cast<int>(p_.shape.headDim))
                                               : warpDecodeF16(kv_, static_cast<int>(p_.shape.headDim));
        grid_ = dim3(static_cast<unsigned>((packedRows + 15) / 16), static_cast<unsigned>(a.batch * a.groups), 1);
        minTokens = 2 * attention_.tokensPerTile;
        d << "cuda " << attention_.name;
        break;
      case CudaPath::Mma:
        attention_ = mmaChoice();
        grid_ = dim3(static_cast<unsigned>((packedRows + attention_.rowsPerBlock - 1) / attention_.rowsPerBlock),
                     static_cast<unsigned>(a.batch * a.groups), 1);
        minTokens = 2 * attention_.tokensPerTile;
        d << "cuda " << attention_.name;
        break;
      case CudaPath::Hopper:  // planned above
        break;
      case CudaPath::Simt: {
        attention_ = simtKernel(act_, kv_, a.mla);
        const int unitsK = a.dk / 8, unitsV = a.dv / 8;
        a.lanesPerToken = std::min(32, std::max(4, nextPow2(std::max((unitsK + attention_.keyUnitsPerLane - 1) /
                                                                         attention_.keyUnitsPerLane,
                                                                     (unitsV + attention_.valueUnitsPerLane - 1) /
                                                                         attention_.valueUnitsPerLane))));
        const int headChunks = (a.groupHeads + attention_.headsPerBlock - 1) / attention_.headsPerBlock;
        grid_ = dim3(static_cast<unsigned>(a.rows * headChunks), static_cast<unsigned>(a.batch * a.groups), 1);
        d << "cuda " << attention_.name << ", " << a.lanesPerToken << " lanes/token";
        break;
      }
    }
    if (!attention_.fn) throw std::logic_error("dispatch_policy chose a CUDA path with no compiled instance");
    attentionShared_ = path_.path == CudaPath::Simt ? simtSharedBytes(attention_, a.dv) : attention_.sharedBytes;
    allowShared(attention_, attentionShared_, sharedOptIn_, p_.variant.mla ? "rank" : "headDim");
    if (grid_.x > 2147483647u || grid_.y > 65535u)
      throw BadShape("batch", "the CUDA launch grid is too large (batch × kv groups must be ≤ 65535)");
    const int64_t blocks = static_cast<int64_t>(grid_.x) * grid_.y;
    const int perSm = blocksPerSm(attention_, attentionShared_);
    const SplitChoice split = chooseSplits(a.prefill, blocks, tokensRead(p_), minTokens,
                                           static_cast<int64_t>(perSm) * smCount_, overrides_);
    a.splits = split.splits;
    grid_.z = static_cast<unsigned>(a.splits);
    cudaFuncAttributes attr{};
    check(cudaFuncGetAttributes(&attr, attention_.fn), "cudaFuncGetAttributes");
    d << ", grid " << grid_.x << "x" << grid_.y << "x" << grid_.z << ", " << a.splits << " KV split(s)"
      << (a.sparse ? ", NSA selection" : "") << (a.splits > 1 ? " + combine" : "") << "; path " << pathName(path_.path)
      << (path_.forced ? " (ETOK_CUDA_PATH)" : " (auto)");
    if (path_.path == CudaPath::Stream)
      d << ", variant " << attention_.name << (path_.variantForced ? " (ETOK_CUDA_STREAM)" : " (default)");
    d << ", splits " << a.splits
      << (split.forced ? " (ETOK_CUDA_SPLITS)"
          : a.prefill  ? " (prefill)"
                       : std::string(" (rule ") + splitRuleName(split.rule) + ")")
      << ", " << perSm << " block(s)/SM, " << attr.numRegs << " registers, " << attentionShared_ / 1024 << " KB shared";
    description_ = d.str();
  }

  /** Blocks of `k` one multiprocessor holds at once (occupancy by registers and shared memory). */
  int blocksPerSm(const KernelRef& k, size_t shared) const {
    int perSm = 0;
    check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, k.fn, k.threads, shared),
          "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
    return std::max(1, perSm);
  }

  Problem p_;
  int device_;
  Overrides overrides_;
  PathChoice path_;
  int smCount_ = 1, l2Bytes_ = 0, sharedOptIn_ = 48 * 1024;
  StoreFormat act_ = StoreFormat::F32, kv_ = StoreFormat::F32;
  AttnArgs args_;
  SelectArgs sel_;
  KernelRef attention_, combine_, select_;
  std::unique_ptr<HopperPath> hopper_;
  dim3 grid_;
  size_t attentionShared_ = 0, selectShared_ = 0, outBytes_ = 0;
  DeviceBuffer q0_, q0s_, q1_, q1s_, k0_, k0s_, k1_, k1s_, v_, vs_, out_, partO_, partML_, means_, mask_, list_, count_,
      flush_, kSeqScales_, vSeqScales_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
  bool ran_ = false;
  int flushByte_ = 0;
  std::string description_;
};

}  // namespace
}  // namespace cuda

std::unique_ptr<PreparedAttention> prepareCuda(const Problem& p, const HostTensors& inputs, int device) {
  validate(p);
  checkInputs(p, inputs);
  return std::make_unique<cuda::CudaAttention>(p, inputs, device);
}

bool replanCuda(PreparedAttention& prepared) {
  auto* k = dynamic_cast<cuda::CudaAttention*>(&prepared);
  if (!k) return false;
  k->replan();
  return true;
}

}  // namespace etok::kernels
