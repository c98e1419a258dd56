// prepareCpu: stores the inputs as the variant keeps them (activation dtype or kv-* format, block means beside
// the cache), lays out the work units, picks the ISA at run time (cpuKernelIsa: AVX2 + FMA + F16C, else portable;
// ETOK_CPU_ISA=portable|avx2|avx512 chooses) and runs: selection → attention → merge of split KV ranges.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>

#include "etok/kernels/attention.h"
#include "isa_entry.h"
#include "plan.h"
#include "thread_pool.h"

namespace etok::kernels {

namespace cpu {

namespace {

/** Whether this build has the path and this CPU (and OS: GCC's probe checks the saved register state) runs it. */
bool cpuRunsAvx2() {
#if defined(ETOK_KERNELS_AVX2)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}
bool cpuRunsAvx512() {
#if defined(ETOK_KERNELS_AVX512)
  __builtin_cpu_init();
  return cpuRunsAvx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

/** Concatenates per-row segments [rows × a] ‖ [rows × c] into [rows × (a + c)]. */
std::vector<float> concatRows(const std::vector<float>& x, int64_t a, const std::vector<float>& y, int64_t c) {
  const int64_t rows = static_cast<int64_t>(x.size()) / a;
  std::vector<float> out(static_cast<size_t>(rows * (a + c)));
  for (int64_t r = 0; r < rows; r++) {
    std::copy(&x[r * a], &x[r * a] + a, &out[r * (a + c)]);
    std::copy(&y[r * c], &y[r * c] + c, &out[r * (a + c) + a]);
  }
  return out;
}

/** Block means (decode: per block; prefill: running per token) of dtype-rounded keys [groups·kvLen × dim], summed
 *  in fp64 in token order and rounded to the dtype: bit-identical to the fp64 reference's means. */
VectorStore blockMeans(const Problem& p, const std::vector<float>& keys, int64_t groupsTotal, int64_t dim) {
  const int64_t kvLen = p.shape.kvLen, bs = p.params.blockSize, nBlocks = (kvLen + bs - 1) / bs;
  const bool perToken = p.phase == Phase::Prefill;
  VectorStore means = makeStore(activationFormat(p.dtype), groupsTotal * (perToken ? kvLen : nBlocks), dim);
  std::vector<double> sum(static_cast<size_t>(dim));
  std::vector<float> row(static_cast<size_t>(dim));
  for (int64_t gi = 0; gi < groupsTotal; gi++)
    for (int64_t j = 0; j < nBlocks; j++) {
      std::fill(sum.begin(), sum.end(), 0.0);
      const int64_t begin = j * bs, end = std::min(kvLen, begin + bs);
      for (int64_t t = begin; t < end; t++) {
        const float* k = &keys[(gi * kvLen + t) * dim];
        for (int64_t d = 0; d < dim; d++) sum[d] += k[d];
        if (perToken || t == end - 1) {
          for (int64_t d = 0; d < dim; d++) row[d] = static_cast<float>(sum[d] / static_cast<double>(t - begin + 1));
          encodeRow(means, perToken ? gi * kvLen + t : gi * nBlocks + j, row.data());
        }
      }
    }
  return means;
}

class CpuAttention final : public PreparedAttention {
 public:
  CpuAttention(const Problem& p, const HostTensors& in, int threads)
      : pool_(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))) {
    isa_ = cpuKernelIsa();
#if defined(ETOK_KERNELS_AVX2)
    if (isa_ == "avx2") attend_ = avx2::attend, select_ = avx2::select, intLanes_ = avx2::intLanes();
#endif
#if defined(ETOK_KERNELS_AVX512)
    if (isa_ == "avx512") attend_ = avx512::attend, select_ = avx512::select, intLanes_ = avx512::intLanes();
#endif
    build(p, in);
  }

  /** What runs, for a measurement's provenance: the vector path and who chose it, threads, work units and KV
   *  splits, and whether the opt-in int8 dot products (ETOK_CPU_INT8_DOT=1) are taken, where and if not, why. */
  std::string describe() const override {
    const Plan& P = plan_;
    const char* chosen = std::getenv("ETOK_CPU_ISA");
    std::string d = std::string("cpu ") + isa_ + (chosen && *chosen ? " (ETOK_CPU_ISA)" : " (default)") + ", " +
                    std::to_string(pool_.size()) + " thread(s), " + std::to_string(P.units.size()) + " unit(s), " +
                    std::to_string(P.splits) + " KV split(s)";
    if (!P.int8Dot) return d + "; int8 dot products off";
    Int8DotUse any;
    for (const Unit& u : P.units) {
      const Int8DotUse use = int8DotUse(P, P.headsPerGroup * (u.row1 - u.row0), intLanes_);
      any.keys = any.keys || use.keys, any.values = any.values || use.values;
    }
    d += "; int8 dot products (ETOK_CPU_INT8_DOT): ";
    if (any.keys || any.values) return d + (any.keys && any.values ? "QK and PV" : any.keys ? "QK" : "PV");
    if (!intLanes_) return d + "not taken (the " + isa_ + " path has no integer dot products)";
    if (P.valueStore().format != StoreFormat::Int8) return d + "not taken (the cache is not int8)";
    return d + "not taken (this shape widens its tiles or its rows are not whole 16-value chunks)";
  }

  void run() override {
    Plan& P = plan_;
    if (P.p.variant.sparse) {
      const int64_t n = P.p.shape.batch * P.groups * P.rows;
      pool_.parallelFor(n, [&](int64_t i, int w) { select_(P, i, scratch_[w]); });
    }
    pool_.parallelFor(static_cast<int64_t>(P.units.size()), [&](int64_t u, int w) { attend_(P, u, scratch_[w]); });
    if (P.splits > 1) pool_.parallelFor(P.p.shape.batch * P.groups, [&](int64_t bg, int w) { merge(bg, scratch_[w]); });
  }

  std::vector<float> output() override {
    std::vector<float> out(static_cast<size_t>(plan_.out.rows * plan_.vDim));
    for (int64_t r = 0; r < plan_.out.rows; r++) decodeRow(plan_.out, r, &out[r * plan_.vDim]);
    return out;
  }

 private:
  void build(const Problem& p, const HostTensors& in) {
    Plan& P = plan_;
    const Shape& s = p.shape;
    P.p = p;
    P.rows = queryRows(p);
    P.scale = static_cast<float>(effectiveScale(p));
    const char* intDot = std::getenv("ETOK_CPU_INT8_DOT");
    P.int8Dot = intDot && std::string(intDot) == "1";
    const StoreFormat act = activationFormat(p.dtype), kv = kvFormat(p);
    auto rounded = [&](const char* name) { return roundToDtype(in.at(name), p.dtype); };
    std::vector<float> plainKeys;  // dtype-rounded keys, for the block means
    if (p.variant.mla) {
      P.groups = 1;
      P.headsPerGroup = s.heads;
      P.qkDim = s.rank + s.ropeDim;
      P.vDim = s.rank;
      P.q = encodeRows(act, concatRows(rounded("qNope"), s.rank, rounded("qRope"), s.ropeDim),
                       s.batch * s.heads * P.rows, P.qkDim);
      const auto ckv = rounded("ckv"), kRope = rounded("kRope");
      P.keys[0] = encodeRows(kv, ckv, s.batch * s.kvLen, s.rank);
      P.keys[1] = encodeRows(kv, kRope, s.batch * s.kvLen, s.ropeDim);
      P.keySegments = 2;
      if (p.variant.sparse) plainKeys = concatRows(ckv, s.rank, kRope, s.ropeDim);
    } else {
      P.groups = s.kvHeads;
      P.headsPerGroup = s.heads / s.kvHeads;
      P.qkDim = P.vDim = s.headDim;
      P.q = encodeRows(act, in.at("q"), s.batch * s.heads * P.rows, s.headDim);
      const auto k = rounded("k");
      P.keys[0] = encodeRows(kv, k, s.batch * s.kvHeads * s.kvLen, s.headDim);
      P.values = encodeRows(kv, rounded("v"), s.batch * s.kvHeads * s.kvLen, s.headDim);
      if (p.variant.sparse) plainKeys = k;
    }
    if (p.variant.sparse) {
      P.nBlocks = (s.kvLen + p.params.blockSize - 1) / p.params.blockSize;
      P.means = blockMeans(p, plainKeys, s.batch * P.groups, P.qkDim);
      const int64_t selections = s.batch * P.groups * P.rows;
      P.selected.assign(static_cast<size_t>(selections * P.nBlocks), 0);
      P.selectedList.resize(static_cast<size_t>(selections));
    }
    P.out = makeStore(act, s.batch * s.heads * P.rows, P.vDim);
    layoutUnits();
    scratch_.resize(static_cast<size_t>(pool_.size()));
    for (auto& S : scratch_) {
      S.qf.assign(static_cast<size_t>(P.maxQueries * P.qkDim), 0.0f);
      S.qi.assign(static_cast<size_t>(P.maxQueries * P.qkDim), 0);
      S.qScale.assign(static_cast<size_t>(P.maxQueries), 0.0f);
      S.acc.assign(static_cast<size_t>(P.maxQueries * P.vDim), 0.0f);
      S.m.assign(static_cast<size_t>(P.maxQueries), 0.0f);
      S.l.assign(static_cast<size_t>(P.maxQueries), 0.0f);
      S.scores.assign(kQueryBlockSize * kTileTokens, 0.0f);
      S.probs.assign(kQueryBlockSize * kTileTokens, 0.0f);
      S.bias.assign(kQueryBlockSize * kTileTokens, 0.0f);
      S.scaled.assign(static_cast<size_t>(std::max<int64_t>(1, P.valueStore().groups) * kQueryBlockSize * kTileTokens),
                      0.0f);
      S.kTile.assign(static_cast<size_t>(kTileTokens * P.qkDim), 0.0f);
      if (P.maxQueries >= kTransposeMinBlocks * kQueryBlockSize)
        S.keysT.assign(static_cast<size_t>(kTileTokens * P.qkDim), 0.0f);
      S.vTile.assign(static_cast<size_t>(kTileTokens * P.vDim), 0.0f);
      S.tmp.assign(static_cast<size_t>(std::max(P.qkDim, P.vDim)), 0.0f);
    }
  }

  /** Decode: one unit per (b, g), split along the KV when that leaves threads idle on a long context.
   *  Prefill: (b, g, chunk of rows) with at most 64 queries a unit, so the unit's state stays in L2. */
  void layoutUnits() {
    Plan& P = plan_;
    const Shape& s = P.p.shape;
    const int64_t threads = pool_.size();
    if (P.p.phase == Phase::Decode) {
      const int64_t seqGroups = s.batch * P.groups;
      const int64_t attended = P.p.variant.sparse
                                   ? std::min(s.kvLen, (P.p.params.topK + 2) * P.p.params.blockSize + P.p.params.window)
                                   : s.kvLen;
      P.splits = 1;
      if (seqGroups < 2 * threads)
        P.splits = std::max<int64_t>(1, std::min((2 * threads + seqGroups - 1) / seqGroups, attended / 512));
      P.maxQueries = P.headsPerGroup;
      for (int64_t b = 0; b < s.batch; b++)
        for (int64_t g = 0; g < P.groups; g++)
          for (int64_t sp = 0; sp < P.splits; sp++) P.units.push_back({b, g, 0, 1, sp});
      if (P.splits > 1) P.partial.assign(static_cast<size_t>(P.units.size() * P.partialStride()), 0.0f);
      return;
    }
    int64_t chunk = std::max<int64_t>(1, 64 / P.headsPerGroup);
    while (chunk > 1 && s.batch * P.groups * ((P.rows + chunk - 1) / chunk) < 4 * threads) chunk /= 2;
    P.maxQueries = chunk * P.headsPerGroup;
    // Largest chunks first: causal rows near the end see the most tokens, so schedule them early.
    for (int64_t r0 = ((P.rows - 1) / chunk) * chunk; r0 >= 0; r0 -= chunk)
      for (int64_t b = 0; b < s.batch; b++)
        for (int64_t g = 0; g < P.groups; g++) P.units.push_back({b, g, r0, std::min(P.rows, r0 + chunk), 0});
  }

  /** Combines the split partial results of one (b, g): out = Σ e^{m_s−M} acc_s / Σ e^{m_s−M} l_s. */
  void merge(int64_t bg, Scratch& S) {
    Plan& P = plan_;
    const int64_t M = P.headsPerGroup, stride = P.partialStride();
    float* o = S.tmp.data();
    for (int64_t qi = 0; qi < M; qi++) {
      float mMax = -std::numeric_limits<float>::infinity();
      for (int64_t sp = 0; sp < P.splits; sp++)
        mMax = std::max(mMax, P.partial[(bg * P.splits + sp) * stride + M * P.vDim + qi]);
      std::fill(o, o + P.vDim, 0.0f);
      float l = 0;
      for (int64_t sp = 0; sp < P.splits; sp++) {
        const float* part = &P.partial[(bg * P.splits + sp) * stride];
        const float m = part[M * P.vDim + qi];
        if (m == -std::numeric_limits<float>::infinity()) continue;
        const float w = std::exp(m - mMax);
        l += w * part[M * P.vDim + M + qi];
        for (int64_t d = 0; d < P.vDim; d++) o[d] += w * part[qi * P.vDim + d];
      }
      for (int64_t d = 0; d < P.vDim; d++) o[d] /= l;
      encodeRow(P.out, P.queryRow(bg / P.groups, (bg % P.groups) * M + qi, 0), o);
    }
  }

  ThreadPool pool_;
  std::string isa_;
  void (*attend_)(Plan&, int64_t, Scratch&) = portable::attend;
  void (*select_)(Plan&, int64_t, Scratch&) = portable::select;
  bool intLanes_ = portable::intLanes();
  Plan plan_;
  std::vector<Scratch> scratch_;
};

}  // namespace

}  // namespace cpu

const char* cpuKernelIsa() {
  const char* env = std::getenv("ETOK_CPU_ISA");
  const std::string want = env ? env : "";
  if (want.empty()) return cpu::cpuRunsAvx2() ? "avx2" : "portable";
  if (want == "portable") return "portable";
  if (want == "avx2") {
    if (!cpu::cpuRunsAvx2())
      throw std::invalid_argument(
          "ETOK_CPU_ISA=avx2, but this CPU lacks AVX2, FMA or F16C (or this build has no AVX2 path); unset it");
    return "avx2";
  }
  if (want == "avx512") {
    if (!cpu::cpuRunsAvx512())
      throw std::invalid_argument(
          "ETOK_CPU_ISA=avx512, but this CPU or OS lacks AVX-512 F/BW/DQ/VL (or this build has no AVX-512 path); unset it");
    return "avx512";
  }
  throw std::invalid_argument("ETOK_CPU_ISA='" + want + "' is not one of portable, avx2, avx512");
}

std::unique_ptr<PreparedAttention> prepareCpu(const Problem& p, const HostTensors& inputs, int threads) {
  validate(p);
  checkInputs(p, inputs);
  return std::make_unique<cpu::CpuAttention>(p, inputs, threads);
}

}  // namespace etok::kernels
