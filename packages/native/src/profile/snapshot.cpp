#include "profile/snapshot.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "profile/driver_api.h"

namespace etok::profile {

namespace {

/** MemAvailable of /proc/meminfo in bytes (0 when unknown). */
uint64_t hostAvailableBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

}  // namespace

std::string formatBytes(uint64_t bytes) {
  std::ostringstream s;
  s.precision(3);
  if (bytes >= (1ull << 30)) s << static_cast<double>(bytes) / (1ull << 30) << " GiB";
  else s << static_cast<double>(bytes) / (1ull << 20) << " MiB";
  return s.str();
}

DeviceSnapshot::DeviceSnapshot(std::vector<Range> ranges, uint64_t limitBytes) : ranges_(std::move(ranges)) {
  for (const auto& r : ranges_) bytes_ += r.bytes;
  if (bytes_ > limitBytes)
    throw SnapshotRefused("saving the program's " + formatBytes(bytes_) + " of device memory exceeds the limit of " +
                          formatBytes(limitBytes) + " (--memory-limit)");
  DriverApi& d = driver();
  size_t freeBytes = 0, totalBytes = 0;
  check(d.memGetInfo(&freeBytes, &totalBytes), "cuMemGetInfo");
  // Keep a margin on the device: the program's own allocator may expect some room when it resumes.
  const uint64_t margin = std::max<uint64_t>(256ull << 20, totalBytes / 20);
  if (bytes_ + margin < freeBytes && d.memAlloc(&deviceCopy_, bytes_ ? bytes_ : 1) == CUDA_SUCCESS) {
    onDevice_ = true;
  } else {
    deviceCopy_ = 0;
    const uint64_t host = hostAvailableBytes();
    if (host > 0 && bytes_ > host / 5 * 4)
      throw SnapshotRefused("saving the program's " + formatBytes(bytes_) + " of device memory needs more than the " +
                            formatBytes(host) + " of host memory available, and the device has no room for it");
    if (d.memHostAlloc(&hostCopy_, bytes_ ? bytes_ : 1, 0) != CUDA_SUCCESS) {
      hostCopy_ = nullptr;
      throw SnapshotRefused("no room for a copy of the program's " + formatBytes(bytes_) +
                            " of device memory (device or pinned host memory)");
    }
  }
  const uint64_t base = onDevice_ ? deviceCopy_ : reinterpret_cast<uint64_t>(hostCopy_);
  try {
    uint64_t at = 0;
    for (const auto& r : ranges_) {
      check(d.memcpy(base + at, r.base, r.bytes), "cuMemcpy (saving device memory)");
      at += r.bytes;
    }
    check(d.ctxSynchronize(), "cuCtxSynchronize");
  } catch (...) {
    if (deviceCopy_) d.memFree(deviceCopy_);
    if (hostCopy_) d.memFreeHost(hostCopy_);
    throw;
  }
}

void DeviceSnapshot::restore() {
  DriverApi& d = driver();
  const uint64_t base = onDevice_ ? deviceCopy_ : reinterpret_cast<uint64_t>(hostCopy_);
  uint64_t at = 0;
  for (const auto& r : ranges_) {
    check(d.memcpy(r.base, base + at, r.bytes), "cuMemcpy (restoring device memory)");
    at += r.bytes;
  }
  check(d.ctxSynchronize(), "cuCtxSynchronize");
}

DeviceSnapshot::~DeviceSnapshot() {
  DriverApi& d = driver();
  if (deviceCopy_) d.memFree(deviceCopy_);
  if (hostCopy_) d.memFreeHost(hostCopy_);
}

}  // namespace etok::profile
