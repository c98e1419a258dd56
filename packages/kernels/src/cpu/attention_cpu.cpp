// CPU attention, foundation scope: dense / GQA, f32, decode and causal prefill, online softmax (no score matrix),
// threads over batch × heads. The policy-based kernels for every lever set replace this file's internals.
#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

#include "etok/kernels/attention.h"

namespace etok::kernels {

namespace {

class DenseCpu final : public PreparedAttention {
 public:
  DenseCpu(const Problem& p, const HostTensors& in, int threads)
      : p_(p), q_(in.at("q")), k_(in.at("k")), v_(in.at("v")), out_(static_cast<size_t>(outputSpec(p).elements())) {
    threads_ = threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
  }

  void run() override {
    const Shape& s = p_.shape;
    const int64_t units = s.batch * s.heads;
    const int n = static_cast<int>(std::min<int64_t>(threads_, units));
    if (n <= 1) {
      for (int64_t u = 0; u < units; u++) runUnit(u);
      return;
    }
    std::vector<std::thread> pool;
    for (int t = 0; t < n; t++)
      pool.emplace_back([this, t, n, units] {
        for (int64_t u = t; u < units; u += n) runUnit(u);
      });
    for (auto& th : pool) th.join();
  }

  std::vector<float> output() override { return out_; }

 private:
  void runUnit(int64_t unit) {
    const Shape& s = p_.shape;
    const int64_t b = unit / s.heads, h = unit % s.heads, D = s.headDim;
    const int64_t kvh = h / (s.heads / s.kvHeads), rows = queryRows(p_);
    const float scale = static_cast<float>(effectiveScale(p_));
    std::vector<float> acc(static_cast<size_t>(D));
    for (int64_t r = 0; r < rows; r++) {
      const float* qr = &q_[((b * s.heads + h) * rows + r) * D];
      const int64_t visible = visibleTokens(p_, r);
      float m = -std::numeric_limits<float>::infinity(), l = 0.0f;
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t t = 0; t < visible; t++) {
        const float* kt = &k_[((b * s.kvHeads + kvh) * s.kvLen + t) * D];
        float dot = 0.0f;
        for (int64_t d = 0; d < D; d++) dot += qr[d] * kt[d];
        const float score = dot * scale;
        const float mNew = std::max(m, score);
        const float correction = std::exp(m - mNew), w = std::exp(score - mNew);
        const float* vt = &v_[((b * s.kvHeads + kvh) * s.kvLen + t) * D];
        for (int64_t d = 0; d < D; d++) acc[d] = acc[d] * correction + w * vt[d];
        l = l * correction + w;
        m = mNew;
      }
      float* o = &out_[((b * s.heads + h) * rows + r) * D];
      for (int64_t d = 0; d < D; d++) o[d] = acc[d] / l;
    }
  }

  Problem p_;
  std::vector<float> q_, k_, v_, out_;
  int threads_;
};

}  // namespace

std::unique_ptr<PreparedAttention> prepareCpu(const Problem& p, const HostTensors& inputs, int threads) {
  validate(p);
  checkInputs(p, inputs);
  if (p.variant.mla || p.variant.sparse || p.variant.kv != KvQuant::None || p.dtype != Dtype::F32)
    throw BadShape("variant", "the CPU backend does not run " + formatVariant(p.variant) + " at " + dtypeName(p.dtype) +
                                  " yet");
  return std::make_unique<DenseCpu>(p, inputs, threads);
}

}  // namespace etok::kernels
