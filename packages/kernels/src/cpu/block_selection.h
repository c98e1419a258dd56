// NSA-style block selection of one (sequence, kv group, query row) from the stored block means, before attention.
// Part of the attention core: included inside the ISA namespace by attention_core.h (after the driver), so `Vec` is
// that ISA's vector type.
#pragma once

/** NSA-style selection of one (b, g, row) from the stored block means (fp32 scores; rule of docs/spec.md §3). */
template <StoreFormat A>
void selectRowAs(Plan& P, int64_t index, Scratch& S) {
  const Problem& p = P.p;
  const int64_t rowsPerGroup = P.rows, r = index % rowsPerGroup, bg = index / rowsPerGroup;
  const int64_t b = bg / P.groups, g = bg % P.groups, G = P.headsPerGroup, bs = p.params.blockSize;
  const int64_t visible = visibleTokens(p, r), nBlocks = (visible + bs - 1) / bs;
  // Σ_h q_h · mean = (Σ_h q_h) · mean: sum the group's queries once.
  float* qs = S.tmp.data();
  float* qh = S.qf.data();
  std::fill(qs, qs + P.qkDim, 0.0f);
  for (int64_t hi = 0; hi < G; hi++) {
    decodeRow(P.q, P.queryRow(b, g * G + hi, r), qh);
    for (int64_t d = 0; d < P.qkDim; d++) qs[d] += qh[d];
  }
  uint8_t* sel = &P.selected[index * P.nBlocks];
  std::fill(sel, sel + P.nBlocks, 0);
  sel[0] = 1;
  if (p.params.window > 0)
    for (int64_t j = std::max<int64_t>(0, visible - p.params.window) / bs; j < nBlocks; j++) sel[j] = 1;
  std::vector<std::pair<float, int32_t>> cand;
  const int64_t vend = P.qkDim - P.qkDim % Vec::W;
  for (int64_t j = 0; j < nBlocks; j++) {
    if (sel[j]) continue;
    const int64_t meanRow = p.phase == Phase::Decode ? bg * P.nBlocks + j
                                                     : bg * p.shape.kvLen + std::min(visible, (j + 1) * bs) - 1;
    const uint8_t* row = P.means.row(meanRow);
    Vec::T acc = Vec::zero();
    for (int64_t d = 0; d < vend; d += Vec::W)
      acc = Vec::fma(Vec::load(qs + d), Fmt<A>::loadW(row + d * Fmt<A>::kBytes), acc);
    float score = Vec::hsum(acc);
    for (int64_t d = vend; d < P.qkDim; d++) score += qs[d] * Fmt<A>::load1(row + d * Fmt<A>::kBytes);
    cand.emplace_back(score, static_cast<int32_t>(j));
  }
  const size_t k = std::min<size_t>(cand.size(), static_cast<size_t>(std::max<int64_t>(0, p.params.topK)));
  std::partial_sort(cand.begin(), cand.begin() + k, cand.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first > y.first : x.second < y.second;
  });
  for (size_t i = 0; i < k; i++) sel[cand[i].second] = 1;
  auto& list = P.selectedList[index];
  list.clear();
  for (int64_t j = 0; j < nBlocks; j++)
    if (sel[j]) list.push_back(static_cast<int32_t>(j));
}

inline void selectRow(Plan& P, int64_t index, Scratch& S) {
  switch (P.means.format) {
    case StoreFormat::BF16: selectRowAs<StoreFormat::BF16>(P, index, S); break;
    case StoreFormat::F16: selectRowAs<StoreFormat::F16>(P, index, S); break;
    default: selectRowAs<StoreFormat::F32>(P, index, S); break;
  }
}
