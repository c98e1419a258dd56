#include "etok/kernels/sample.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>

namespace etok::kernels {

namespace {

using Range = std::pair<int64_t, int64_t>;  // [first, first + count)

/** Copies the box `ranges` (one per dim, the last dim whole) of a row-major tensor of `dims`. */
std::vector<float> sliceBox(const std::vector<float>& src, const std::vector<int64_t>& dims,
                            const std::vector<Range>& ranges) {
  const size_t n = dims.size();
  const int64_t inner = dims[n - 1];
  int64_t count = inner;
  for (size_t d = 0; d + 1 < n; d++) count *= ranges[d].second;
  std::vector<float> out;
  out.reserve(static_cast<size_t>(count));
  std::vector<int64_t> idx(n - 1, 0);  // odometer over the outer dims, within their ranges
  while (true) {
    int64_t offset = 0;
    for (size_t d = 0; d + 1 < n; d++) offset = offset * dims[d] + ranges[d].first + idx[d];
    offset *= inner;
    out.insert(out.end(), src.begin() + offset, src.begin() + offset + inner);
    size_t d = n - 1;
    while (d > 0) {
      d--;
      if (++idx[d] < ranges[d].second) break;
      idx[d] = 0;
      if (d == 0) return out;
    }
    if (n == 1) return out;
  }
}

/** The query heads the part covers: whole kv groups, or mla heads. */
Range headRange(const Problem& p, const ProblemSample& s) {
  if (p.variant.mla) return p.variant.sparse ? Range{0, p.shape.heads} : Range{s.firstUnit, s.unitCount};
  const int64_t perGroup = p.shape.heads / p.shape.kvHeads;
  return {s.firstUnit * perGroup, s.unitCount * perGroup};
}

std::string share(double x) {
  std::ostringstream o;
  const double inv = 1.0 / x;
  if (std::fabs(inv - std::round(inv)) < 1e-9) o << "1/" << static_cast<int64_t>(std::round(inv));
  else o << std::max(0.01, std::round(x * 10000.0) / 100.0) << "%";
  return o.str();
}

std::string span(const char* what, int64_t first, int64_t count, int64_t total) {
  std::ostringstream o;
  if (count == total) o << "all " << total << " " << what << "s";
  else if (count == 1) o << what << " " << first + 1 << " of " << total;
  else o << what << "s " << first + 1 << "-" << first + count << " of " << total;
  return o.str();
}

}  // namespace

double referenceFlops(const Problem& p) {
  const auto& s = p.shape;
  const double dim = p.variant.mla ? 2.0 * s.rank + s.ropeDim : 2.0 * s.headDim;
  return 2.0 * dim * static_cast<double>(s.batch * s.heads * queryRows(p) * s.kvLen);
}

ProblemSample chooseSample(const Problem& p, double maxFlops) {
  ProblemSample s;
  s.rows = queryRows(p);
  s.rowCount = s.rows;
  if (p.variant.mla) {
    s.unit = p.variant.sparse ? "all heads" : "head";
    s.units = p.variant.sparse ? 1 : p.shape.heads;
  } else {
    s.unit = "kv group";
    s.units = p.shape.kvHeads;
  }
  s.unitCount = s.units;
  const double whole = referenceFlops(p);
  if (whole <= maxFlops) return s;
  s.whole = false;
  s.batchIndex = p.shape.batch - 1;
  const double perUnitRow = whole / static_cast<double>(p.shape.batch * s.units * s.rows);
  s.unitCount = std::clamp<int64_t>(static_cast<int64_t>(maxFlops / (perUnitRow * s.rows)), 1, s.units);
  s.firstUnit = s.units - s.unitCount;
  if (s.unitCount == 1) {
    s.rowCount = std::clamp<int64_t>(static_cast<int64_t>(maxFlops / perUnitRow), 1, s.rows);
    s.firstRow = s.rows - s.rowCount;
  }
  s.outputShare = 1.0 / static_cast<double>(p.shape.batch) * static_cast<double>(s.unitCount) /
                  static_cast<double>(s.units) * static_cast<double>(s.rowCount) / static_cast<double>(s.rows);
  return s;
}

Problem sampleProblem(const Problem& p, const ProblemSample& s) {
  if (s.whole) return p;
  Problem q = p;
  q.shape.batch = 1;
  const Range heads = headRange(p, s);
  q.shape.heads = heads.second;
  if (!p.variant.mla) q.shape.kvHeads = s.unitCount;
  if (p.phase == Phase::Prefill) q.shape.qLen = s.rowCount;
  return q;
}

HostTensors sampleInputs(const Problem& p, const HostTensors& inputs, const ProblemSample& s) {
  if (s.whole) return inputs;
  const Range batch{s.batchIndex, 1}, heads = headRange(p, s), rows{s.firstRow, s.rowCount};
  HostTensors out;
  for (const TensorSpec& spec : inputSpecs(p)) {
    const std::vector<float>& src = inputs.at(spec.name);
    std::vector<Range> ranges;
    if (spec.name == "q" || spec.name == "qNope" || spec.name == "qRope")  // [batch, heads, rows, dim]
      ranges = {batch, heads, rows, {0, spec.dims[3]}};
    else if (spec.name == "k" || spec.name == "v")  // [batch, kvHeads, kvLen, dim]
      ranges = {batch, {s.firstUnit, s.unitCount}, {0, spec.dims[2]}, {0, spec.dims[3]}};
    else  // ckv, kRope: [batch, kvLen, dim], shared by every head
      ranges = {batch, {0, spec.dims[1]}, {0, spec.dims[2]}};
    out[spec.name] = sliceBox(src, spec.dims, ranges);
  }
  return out;
}

std::vector<float> sampleOutput(const Problem& p, const std::vector<float>& output, const ProblemSample& s) {
  if (s.whole) return output;
  const TensorSpec spec = outputSpec(p);  // [batch, heads, rows, dv]
  return sliceBox(output, spec.dims, {{s.batchIndex, 1}, headRange(p, s), {s.firstRow, s.rowCount}, {0, spec.dims[3]}});
}

std::string describeSample(const Problem& p, const ProblemSample& s) {
  if (s.whole) return "the whole output";
  std::ostringstream o;
  o << "batch element " << s.batchIndex + 1 << " of " << p.shape.batch << ", ";
  if (std::string(s.unit) == "all heads") o << "all " << p.shape.heads << " heads";
  else o << span(s.unit, s.firstUnit, s.unitCount, s.units);
  o << ", " << (s.rows == 1 ? std::string("its query row") : span("row", s.firstRow, s.rowCount, s.rows)) << ": "
    << share(s.outputShare) << " of the output";
  return o.str();
}

}  // namespace etok::kernels
