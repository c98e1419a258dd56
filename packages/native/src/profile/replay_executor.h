// The executor of a replay: the engine (harness/engine.cpp) drives it like any in-process executor, and each call
// is the captured launch made again on the program's stream. Calls are timed with CUDA events on that stream (the
// device's clock); the program is paused meanwhile, so its stream is idle.
#pragma once

#include <cuda.h>

#include "harness/executor.h"
#include "profile/launch.h"

namespace etok::profile {

class ReplayExecutor final : public harness::Executor {
 public:
  /** `launch` must outlive the executor. Throws DriverError when the timing events cannot be made. */
  explicit ReplayExecutor(CapturedLaunch& launch);
  ~ReplayExecutor() override;

  harness::ExecutorInfo info() const override;
  bool inProcess() const override { return true; }
  std::optional<std::vector<float>> outputOfOneCall() override { return std::nullopt; }
  std::vector<double> timedCalls(int n, bool cold) override;
  harness::CallSpan runWhile(const std::function<bool(double calls)>& keepGoing, int64_t pollNs) override;
  harness::CallSpan runSynchronisedWhile(const std::function<bool(double calls)>& keepGoing) override;

 private:
  CapturedLaunch& launch_;
  CUevent start_ = nullptr, stop_ = nullptr;

  void launchOnce();       // throws harness::ExecutorError (REPLAY_FAILED) naming the driver's error
  void synchronise();
};

}  // namespace etok::profile
