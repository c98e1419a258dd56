#include "profile/replay_executor.h"

#include "meters/meter.h"
#include "profile/driver_api.h"

namespace etok::profile {

ReplayExecutor::ReplayExecutor(CapturedLaunch& launch) : launch_(launch) {
  DriverApi& d = driver();
  check(d.eventCreate(&start_, CU_EVENT_DEFAULT), "cuEventCreate");
  check(d.eventCreate(&stop_, CU_EVENT_DEFAULT), "cuEventCreate");
}

ReplayExecutor::~ReplayExecutor() {
  DriverApi& d = driver();
  if (start_) d.eventDestroy(start_);
  if (stop_) d.eventDestroy(stop_);
}

harness::ExecutorInfo ReplayExecutor::info() const {
  harness::ExecutorInfo i;
  i.kind = "replay";
  i.name = launch_.key().symbol;
  i.description = launch_.describe();
  return i;
}

void ReplayExecutor::launchOnce() {
  const CUresult rc = launch_.launch();
  if (rc != CUDA_SUCCESS)
    throw harness::ExecutorError("REPLAY_FAILED", "the replayed launch returned " + driver().errorName(rc));
}

void ReplayExecutor::synchronise() {
  const CUresult rc = driver().streamSynchronize(launch_.stream());
  if (rc != CUDA_SUCCESS)
    throw harness::ExecutorError("REPLAY_FAILED", "the replayed calls ended with " + driver().errorName(rc));
}

std::vector<double> ReplayExecutor::timedCalls(int n, bool /*cold*/) {
  // Cold calls are not asked for (the replay plan has coldSamples = 0): the program's caches are what they are.
  DriverApi& d = driver();
  std::vector<double> out;
  for (int i = 0; i < n; i++) {
    check(d.eventRecord(start_, launch_.stream()), "cuEventRecord");
    launchOnce();
    check(d.eventRecord(stop_, launch_.stream()), "cuEventRecord");
    const CUresult rc = d.eventSynchronize(stop_);
    if (rc != CUDA_SUCCESS)
      throw harness::ExecutorError("REPLAY_FAILED", "the replayed call ended with " + d.errorName(rc));
    float ms = 0;
    check(d.eventElapsedTime(&ms, start_, stop_), "cuEventElapsedTime");
    out.push_back(static_cast<double>(ms) * 1e-3);
  }
  return out;
}

harness::CallSpan ReplayExecutor::runWhile(const std::function<bool(double calls)>& keepGoing, int64_t /*pollNs*/) {
  harness::CallSpan span;
  span.t0Ns = meters::nowNs();
  int64_t calls = 0;
  while (keepGoing(static_cast<double>(calls))) {
    launchOnce();
    calls++;
  }
  synchronise();
  span.t1Ns = meters::nowNs();
  span.calls = static_cast<double>(calls);
  return span;
}

harness::CallSpan ReplayExecutor::runSynchronisedWhile(const std::function<bool(double calls)>& keepGoing) {
  harness::CallSpan span;
  span.t0Ns = meters::nowNs();
  int64_t calls = 0;
  while (keepGoing(static_cast<double>(calls))) {
    launchOnce();
    synchronise();
    calls++;
  }
  span.t1Ns = meters::nowNs();
  span.calls = static_cast<double>(calls);
  return span;
}

}  // namespace etok::profile
