// The first pass of `etok profile`: CUPTI's activity records of every kernel the program runs, summed per kernel
// and launch configuration (calls, GPU time, how many ran inside CUDA graphs), each kernel's start and end in a
// binary file for the busy time, and pairs of (CUPTI timestamp, CLOCK_MONOTONIC) readings so the CLI maps kernel
// times onto the meter's clock. The summary is rewritten (atomically) every second and at exit, so a program that
// is interrupted or crashes leaves what was traced up to the last second.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "harness/json_value.h"

namespace etok::profile {

struct KernelStats {
  std::string symbol, name;  // mangled (the join key) and demangled
  unsigned grid[3] = {0, 0, 0}, block[3] = {0, 0, 0};
  unsigned sharedMemBytes = 0;  // dynamic
  uint32_t device = 0;
  uint64_t calls = 0, graphCalls = 0;
  uint64_t totalNs = 0, minNs = UINT64_MAX, maxNs = 0;
};

class ActivityTrace {
 public:
  /** Turns on kernel records; intervals go to `intervalsPath`. Returns why not, or an empty string. */
  std::string start(const std::string& intervalsPath, uint64_t maxIntervals);

  /** Asks CUPTI for the finished records (they arrive through the buffer callback), every record when `forced`
      (at exit), and records a clock pair. */
  void flush(bool forced = false);

  /** The trace as JSON fields: kernels, calibration, intervals, dropped records. */
  harness::json::Value summary();

  /** Adds one CUPTI buffer of records (the buffer callback). */
  void addRecords(uint8_t* buffer, size_t validSize);

  void addDropped(uint64_t n);

 private:
  std::mutex mutex_;
  std::map<std::string, KernelStats> kernels_;  // by LaunchKey::text()
  std::vector<std::pair<uint64_t, int64_t>> calibration_;  // (CUPTI ns, CLOCK_MONOTONIC ns)
  std::FILE* intervals_ = nullptr;
  std::string intervalsPath_;
  uint64_t intervalCount_ = 0, maxIntervals_ = 0;
  bool intervalsTruncated_ = false;
  uint64_t dropped_ = 0;

  void calibrate();
};

/** A C++ symbol in source form where it demangles, else as given. */
std::string demangle(const std::string& symbol);

}  // namespace etok::profile
