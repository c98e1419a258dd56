// A part of a problem that the fp64 references can afford, for quality checks of problems too large to reference
// whole (a 16K-context decode at batch 8 × 64 heads costs 4.3 GFLOP per reference; a 4K prefill, hundreds).
//
// The part is one batch element, a run of independent units (kv groups; under mla without sparse, heads) and the
// last `rows` query rows. Each output row depends only on its own batch element, its unit's inputs and its own
// position, and the last rows of a causal problem see exactly the tokens they saw in the whole problem (visible =
// kvLen − qLen + row + 1), so the part's reference output is exactly the matching slice of the whole problem's.
// NSA selection sums the queries of a kv group (under mla, of every head), so a unit never splits a group.
// The last batch element and the last units are taken: offset-indexing bugs show there, not at zero.
#pragma once

#include <string>
#include <vector>

#include "etok/kernels/attention.h"
#include "etok/kernels/problem.h"

namespace etok::kernels {

struct ProblemSample {
  bool whole = true;     // the whole problem (nothing sliced)
  int64_t batchIndex = 0;
  const char* unit = "kv group";  // "kv group", "head" (mla without sparse) or "all heads" (mla with sparse)
  int64_t units = 1;     // units in the problem
  int64_t firstUnit = 0, unitCount = 1;
  int64_t rows = 1;      // query rows of the problem (1 at decode)
  int64_t firstRow = 0, rowCount = 1;
  double outputShare = 1.0;  // the part's share of the output elements
};

/** FLOPs of one fp64 reference of `p` (QK and PV over every visible token bound, 2 per multiply-add). */
double referenceFlops(const Problem& p);

/** The largest part (whole, else one batch element, then fewer units, then fewer rows) whose reference costs at
 *  most `maxFlops`; at least one row of one unit. */
ProblemSample chooseSample(const Problem& p, double maxFlops);

/** The part as a problem of its own (batch 1, its units, its rows). */
Problem sampleProblem(const Problem& p, const ProblemSample& s);

/** The part's inputs, sliced from the whole problem's (same names, layouts of inputSpecs). */
HostTensors sampleInputs(const Problem& p, const HostTensors& inputs, const ProblemSample& s);

/** The part's rows of a whole-problem output (layout of outputSpec). */
std::vector<float> sampleOutput(const Problem& p, const std::vector<float>& output, const ProblemSample& s);

/** In words, e.g. "batch element 8 of 8, kv group 8 of 8, all rows: 1/64 of the output". */
std::string describeSample(const Problem& p, const ProblemSample& s);

}  // namespace etok::kernels
