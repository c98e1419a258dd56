// fp64 references, written plainly and separately from the fast paths: a wrong fast kernel cannot agree with them
// by sharing code. Only the input conditioning is shared with the kernels' prepare step (dtype rounding and the
// kv-* quantizers), because that is the definition of what the kernel is given, not how it computes.
//   referenceExact: the variant itself (its NSA selection, its KV round trip), in fp64.
//   referenceDense: dense attention on the same dtype-rounded inputs, no selection, no quantization (mla stays mla).
#include <cmath>
#include <limits>

#include "../common/quantize.h"
#include "reference_detail.h"

namespace etok::kernels::reference {

namespace {

Vec toDouble(const float* x, int64_t n) { return Vec(x, x + n); }

Vec concat(const float* a, int64_t na, const float* b, int64_t nb) {
  Vec v(a, a + na);
  v.insert(v.end(), b, b + nb);
  return v;
}

}  // namespace

Inputs prepareInputs(const Problem& p, const HostTensors& in, bool quantized) {
  const Shape& s = p.shape;
  const int64_t rows = queryRows(p);
  const StoreFormat kv = quantized ? kvFormat(p) : activationFormat(p.dtype);
  auto rounded = [&](const char* name) { return roundToDtype(in.at(name), p.dtype); };
  Inputs out;
  if (p.variant.mla) {
    const auto qNope = rounded("qNope"), qRope = rounded("qRope");
    const auto ckvPlain = rounded("ckv"), kRopePlain = rounded("kRope");
    const auto ckv = roundTrip(ckvPlain, s.rank, kv), kRope = roundTrip(kRopePlain, s.ropeDim, kv);
    out.groups = 1;
    for (int64_t i = 0; i < s.batch * s.heads * rows; i++)
      out.queries.push_back(concat(&qNope[i * s.rank], s.rank, &qRope[i * s.ropeDim], s.ropeDim));
    for (int64_t b = 0; b < s.batch; b++) {
      GroupView g;
      for (int64_t h = 0; h < s.heads; h++) g.heads.push_back(h);
      for (int64_t t = 0; t < s.kvLen; t++) {
        const int64_t r = b * s.kvLen + t;
        g.keys.push_back(concat(&ckv[r * s.rank], s.rank, &kRope[r * s.ropeDim], s.ropeDim));
        g.values.push_back(toDouble(&ckv[r * s.rank], s.rank));
        g.plainKeys.push_back(concat(&ckvPlain[r * s.rank], s.rank, &kRopePlain[r * s.ropeDim], s.ropeDim));
      }
      out.view.push_back(std::move(g));
    }
    return out;
  }
  const int64_t D = s.headDim, group = s.heads / s.kvHeads;
  const auto q = rounded("q"), kPlain = rounded("k"), vPlain = rounded("v");
  const auto k = roundTrip(kPlain, D, kv), v = roundTrip(vPlain, D, kv);
  out.groups = s.kvHeads;
  for (int64_t i = 0; i < s.batch * s.heads * rows; i++) out.queries.push_back(toDouble(&q[i * D], D));
  for (int64_t b = 0; b < s.batch; b++)
    for (int64_t kvh = 0; kvh < s.kvHeads; kvh++) {
      GroupView g;
      for (int64_t h = kvh * group; h < (kvh + 1) * group; h++) g.heads.push_back(h);
      for (int64_t t = 0; t < s.kvLen; t++) {
        const int64_t r = (b * s.kvHeads + kvh) * s.kvLen + t;
        g.keys.push_back(toDouble(&k[r * D], D));
        g.values.push_back(toDouble(&v[r * D], D));
        g.plainKeys.push_back(toDouble(&kPlain[r * D], D));
      }
      out.view.push_back(std::move(g));
    }
  return out;
}

namespace {

/** Exact softmax attention of one query over the listed tokens. */
Vec attend(const Vec& q, const GroupView& g, const std::vector<int64_t>& tokens, double scale) {
  std::vector<double> scores(tokens.size());
  double maxScore = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < tokens.size(); i++) {
    const Vec& k = g.keys[tokens[i]];
    double dot = 0;
    for (size_t d = 0; d < q.size(); d++) dot += q[d] * k[d];
    scores[i] = dot * scale;
    maxScore = std::max(maxScore, scores[i]);
  }
  double denom = 0;
  for (double s : scores) denom += std::exp(s - maxScore);
  Vec out(g.values.empty() ? 0 : g.values[0].size(), 0.0);
  for (size_t i = 0; i < tokens.size(); i++) {
    const double w = std::exp(scores[i] - maxScore) / denom;
    const Vec& v = g.values[tokens[i]];
    for (size_t d = 0; d < out.size(); d++) out[d] += w * v[d];
  }
  return out;
}

std::vector<double> run(const Problem& p, const HostTensors& inputs, bool exact) {
  validate(p);
  checkInputs(p, inputs);
  const Inputs in = prepareInputs(p, inputs, exact);
  const int64_t rows = queryRows(p), bs = p.params.blockSize;
  const double scale = effectiveScale(p);
  const int64_t outDim = outputSpec(p).dims.back();
  std::vector<double> out(static_cast<size_t>(outputSpec(p).elements()), 0.0);
  for (int64_t b = 0; b < p.shape.batch; b++)
    for (int64_t g = 0; g < in.groups; g++)
      for (int64_t r = 0; r < rows; r++) {
        const GroupView& view = in.view[b * in.groups + g];
        const int64_t visible = visibleTokens(p, r);
        std::vector<int64_t> tokens;
        if (exact && p.variant.sparse) {
          for (int64_t blk : selectBlocks(p, in, b, g, r))
            for (int64_t t = blk * bs; t < std::min(visible, (blk + 1) * bs); t++) tokens.push_back(t);
        } else {
          for (int64_t t = 0; t < visible; t++) tokens.push_back(t);
        }
        for (int64_t h : view.heads) {
          const int64_t qi = (b * p.shape.heads + h) * rows + r;
          const Vec o = attend(in.queries[qi], view, tokens, scale);
          for (int64_t d = 0; d < outDim; d++) out[qi * outDim + d] = o[d];
        }
      }
  return out;
}

}  // namespace

}  // namespace etok::kernels::reference

namespace etok::kernels {

std::vector<double> referenceExact(const Problem& p, const HostTensors& inputs) {
  return reference::run(p, inputs, true);
}

std::vector<double> referenceDense(const Problem& p, const HostTensors& inputs) {
  return reference::run(p, inputs, false);
}

std::vector<std::vector<int64_t>> referenceSelection(const Problem& p, const HostTensors& inputs) {
  validate(p);
  checkInputs(p, inputs);
  if (!p.variant.sparse) throw BadShape("variant", "block selection needs the sparse lever");
  const reference::Inputs in = reference::prepareInputs(p, inputs, true);
  std::vector<std::vector<int64_t>> out;
  for (int64_t b = 0; b < p.shape.batch; b++)
    for (int64_t g = 0; g < in.groups; g++)
      for (int64_t r = 0; r < queryRows(p); r++) out.push_back(reference::selectBlocks(p, in, b, g, r));
  return out;
}

}  // namespace etok::kernels
