// The second pass of `etok profile`, at one chosen launch of a kernel: the program is paused inside the launch call,
// the device memory it holds is saved, the launch is made again back to back under the engine's rules
// (harness::measurePrepared: idle baseline, timing, energy windows on meter steps), the memory is written back,
// and the program's own launch then goes ahead on exactly the state it would have seen.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "harness/json_value.h"
#include "meters/meter.h"
#include "profile/allocations.h"
#include "profile/launch.h"

namespace etok::profile {

struct ReplaySettings {
  std::string meterId = "nvml:0";
  std::string boardUuid;              // the metered board's UUID (NVML form), when the CLI knows it
  uint64_t memoryLimitBytes = 16ull << 30;
  double energyBudgetS = 8;
  double idleS = 0.5;
};

class Replayer {
 public:
  Replayer(ReplaySettings settings, const AllocationTable& allocations)
      : settings_(std::move(settings)), allocations_(allocations) {}

  /** Replays `launch` (the program's stream idle or not: this waits for it). Never throws: the result says what was
      measured, or why nothing was. */
  harness::json::Value replay(CapturedLaunch& launch, int64_t launchIndex, const std::atomic<bool>& cancel);

 private:
  ReplaySettings settings_;
  const AllocationTable& allocations_;
  std::unique_ptr<meters::Meter> meter_;  // opened at the first replay, kept for the others
};

/** NVML's spelling of a CUDA device's UUID ("GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"); empty when unknown. */
std::string deviceUuid(int ordinal);

}  // namespace etok::profile
