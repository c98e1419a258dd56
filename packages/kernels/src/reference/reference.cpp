// fp64 references, written plainly and separately from the fast paths: a wrong fast kernel cannot agree with them
// by sharing code. Foundation scope: dense / GQA attention, decode and causal prefill.
#include <cmath>
#include <limits>

#include "etok/kernels/attention.h"

namespace etok::kernels {

namespace {

std::vector<double> denseGqa(const Problem& p, const HostTensors& in) {
  const Shape& s = p.shape;
  const int64_t rows = queryRows(p), D = s.headDim, group = s.heads / s.kvHeads;
  const double scale = effectiveScale(p);
  const auto& q = in.at("q");
  const auto& k = in.at("k");
  const auto& v = in.at("v");
  std::vector<double> out(static_cast<size_t>(outputSpec(p).elements()), 0.0);
  std::vector<double> scores(static_cast<size_t>(s.kvLen));
  for (int64_t b = 0; b < s.batch; b++)
    for (int64_t h = 0; h < s.heads; h++)
      for (int64_t r = 0; r < rows; r++) {
        const int64_t kvh = h / group;
        const float* qr = &q[((b * s.heads + h) * rows + r) * D];
        const int64_t visible = visibleTokens(p, r);
        double maxScore = -std::numeric_limits<double>::infinity();
        for (int64_t t = 0; t < visible; t++) {
          const float* kt = &k[((b * s.kvHeads + kvh) * s.kvLen + t) * D];
          double dot = 0;
          for (int64_t d = 0; d < D; d++) dot += double(qr[d]) * double(kt[d]);
          scores[t] = dot * scale;
          maxScore = std::max(maxScore, scores[t]);
        }
        double denom = 0;
        for (int64_t t = 0; t < visible; t++) denom += std::exp(scores[t] - maxScore);
        double* o = &out[((b * s.heads + h) * rows + r) * D];
        for (int64_t t = 0; t < visible; t++) {
          const double w = std::exp(scores[t] - maxScore) / denom;
          const float* vt = &v[((b * s.kvHeads + kvh) * s.kvLen + t) * D];
          for (int64_t d = 0; d < D; d++) o[d] += w * double(vt[d]);
        }
      }
  return out;
}

}  // namespace

std::vector<double> referenceDense(const Problem& p, const HostTensors& inputs) {
  validate(p);
  checkInputs(p, inputs);
  if (p.variant.mla) throw BadShape("variant", "fp64 MLA reference is not implemented yet");
  return denseGqa(p, inputs);
}

std::vector<double> referenceExact(const Problem& p, const HostTensors& inputs) {
  if (p.variant.sparse || p.variant.kv != KvQuant::None)
    throw BadShape("variant", "fp64 reference of " + formatVariant(p.variant) + " is not implemented yet");
  return referenceDense(p, inputs);
}

}  // namespace etok::kernels
