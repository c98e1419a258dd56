// fp64 reference of the NSA-style selection (docs/spec.md §3): sink block 0 ∪ the blocks holding the last `window`
// visible tokens ∪ the topK highest-scoring other blocks (ties to the lower index). A block's score is the sum
// over the group's query heads of q · mean(keys of the block over its visible tokens), the mean rounded to the
// storage dtype as the serving cache keeps it.
#include <algorithm>
#include <numeric>

#include "../common/quantize.h"
#include "reference_detail.h"

namespace etok::kernels::reference {

std::vector<Vec> blockMeans(const Problem& p, const GroupView& g, int64_t visible) {
  const int64_t bs = p.params.blockSize, nBlocks = (visible + bs - 1) / bs;
  const size_t dim = g.plainKeys.empty() ? 0 : g.plainKeys[0].size();
  std::vector<Vec> means(static_cast<size_t>(nBlocks), Vec(dim, 0.0));
  for (int64_t j = 0; j < nBlocks; j++) {
    const int64_t begin = j * bs, end = std::min(visible, begin + bs);
    std::vector<float> rounded(dim);
    for (size_t d = 0; d < dim; d++) {
      double sum = 0;
      for (int64_t t = begin; t < end; t++) sum += g.plainKeys[t][d];
      rounded[d] = static_cast<float>(sum / static_cast<double>(end - begin));
    }
    rounded = roundToDtype(rounded, p.dtype);
    for (size_t d = 0; d < dim; d++) means[j][d] = rounded[d];
  }
  return means;
}

std::vector<int64_t> selectBlocks(const Problem& p, const Inputs& in, int64_t b, int64_t g, int64_t row) {
  const int64_t visible = visibleTokens(p, row), bs = p.params.blockSize;
  const int64_t nBlocks = (visible + bs - 1) / bs;
  const GroupView& view = in.view[b * in.groups + g];
  const std::vector<Vec> means = blockMeans(p, view, visible);
  const int64_t rows = queryRows(p);

  std::vector<bool> chosen(static_cast<size_t>(nBlocks), false);
  chosen[0] = true;  // sink
  if (p.params.window > 0) {
    const int64_t firstWindowToken = std::max<int64_t>(0, visible - p.params.window);
    for (int64_t j = firstWindowToken / bs; j < nBlocks; j++) chosen[j] = true;
  }
  std::vector<std::pair<double, int64_t>> candidates;
  for (int64_t j = 0; j < nBlocks; j++) {
    if (chosen[j]) continue;
    double score = 0;
    for (int64_t h : view.heads) {
      const Vec& q = in.queries[(b * p.shape.heads + h) * rows + row];
      for (size_t d = 0; d < q.size(); d++) score += q[d] * means[j][d];
    }
    candidates.emplace_back(score, j);
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const auto& a, const auto& c) { return a.first != c.first ? a.first > c.first : a.second < c.second; });
  for (size_t i = 0; i < candidates.size() && static_cast<int64_t>(i) < p.params.topK; i++)
    chosen[candidates[i].second] = true;
  std::vector<int64_t> out;
  for (int64_t j = 0; j < nBlocks; j++)
    if (chosen[j]) out.push_back(j);
  return out;
}

}  // namespace etok::kernels::reference
