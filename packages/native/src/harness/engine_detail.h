// What measureGroup (harness.cpp, which prepares executors) shares with the engine's rules (engine.cpp): a
// configuration under measurement, and how one configuration's failure is recorded while its group goes on.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <vector>

#include "harness/harness.h"

namespace etok::harness::detail {

struct Subject {
  const MeasurePlan* plan;
  std::unique_ptr<Executor> executor;
  MeasureResult result;
  std::vector<double> joulesPerCall;
  int64_t callsPerWindow = 1;
  bool energyDone = false;
  bool active() const { return executor != nullptr && !result.failure; }
};

/** What a failure of one configuration says; rethrows what is not a configuration's own failure (a meter fault,
    an out-of-range request). */
Failure failureOf(const std::exception_ptr& error);

bool isCancel(const Failure& f);

/** Runs one step of a subject; its own failure ends it alone (recorded, its executor released) and the rest of the
    group goes on. A cancellation is not a failure: the engine stops at its next check. */
void attempt(Subject& s, const std::function<void()>& step);

}  // namespace etok::harness::detail
