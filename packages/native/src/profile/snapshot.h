// A copy of the device memory a program holds, taken before a replay and written back after it, so the replayed
// calls leave no trace in the program's state. The copy lives in spare device memory when there is room (fast, and
// nothing crosses PCIe), else in pinned host memory; a program holding more than the limit is not replayed.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "profile/allocations.h"

namespace etok::profile {

/** Why a snapshot was not taken (over the limit, no memory for the copy); the kernel is then not replayed. */
class SnapshotRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class DeviceSnapshot {
 public:
  /** Saves every range (the device must be idle). Throws SnapshotRefused or DriverError. */
  DeviceSnapshot(std::vector<Range> ranges, uint64_t limitBytes);
  ~DeviceSnapshot();
  DeviceSnapshot(const DeviceSnapshot&) = delete;
  DeviceSnapshot& operator=(const DeviceSnapshot&) = delete;

  /** Writes the saved bytes back and waits for the copies. */
  void restore();

  uint64_t bytes() const { return bytes_; }
  const char* where() const { return onDevice_ ? "device" : "host"; }

 private:
  std::vector<Range> ranges_;
  uint64_t bytes_ = 0;
  bool onDevice_ = false;
  unsigned long long deviceCopy_ = 0;  // a CUdeviceptr
  void* hostCopy_ = nullptr;
};

/** "1.5 GiB" */
std::string formatBytes(uint64_t bytes);

}  // namespace etok::profile
