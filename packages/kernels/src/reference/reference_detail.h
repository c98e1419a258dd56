// Internal to the fp64 references: the problem's inputs as plain double vectors per (batch, kv group), with the
// storage dtype's rounding and the kv-* round trip applied. Written for clarity, not speed.
#pragma once

#include <vector>

#include "etok/kernels/attention.h"

namespace etok::kernels::reference {

using Vec = std::vector<double>;

/** Everything one (batch, kv group) attends with. Under mla the group is the shared latent cache. */
struct GroupView {
  std::vector<int64_t> heads;   // query heads of the group
  std::vector<Vec> keys;        // [kvLen] keys as stored (mla: ckv ‖ kRope), after the kv-* round trip
  std::vector<Vec> values;      // [kvLen] values as stored (mla: ckv)
  std::vector<Vec> plainKeys;   // [kvLen] keys at the dtype, before any kv-* quantization (block means use them)
};

struct Inputs {
  int64_t groups = 0;
  std::vector<Vec> queries;  // [batch × heads × rows] (mla: qNope ‖ qRope), at the dtype
  std::vector<GroupView> view;  // [batch × groups]
};

/** `quantized` false skips the kv-* round trip (dense reference). */
Inputs prepareInputs(const Problem& p, const HostTensors& in, bool quantized);

/** Block means over the first `visible` tokens, each rounded to the dtype (what a serving cache keeps). */
std::vector<Vec> blockMeans(const Problem& p, const GroupView& g, int64_t visible);

/** The NSA-style rule of docs/spec.md §3 for one (batch, group, query row): selected block indices, ascending. */
std::vector<int64_t> selectBlocks(const Problem& p, const Inputs& in, int64_t b, int64_t g, int64_t row);

}  // namespace etok::kernels::reference
