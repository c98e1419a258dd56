// Compute devices and what this build compiled in, reported at run time with the reason for anything missing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace etok::devices {

struct Capabilities {
  bool cuda = false;            // CUDA kernels compiled in
  std::string cudaVersion;      // toolkit version at build time
  std::string cudaArchitectures;
  std::string cudaReason;       // why CUDA is not compiled, when not
  std::string cudaRuntimeReason;  // why no CUDA device is usable, when none is
  bool profile = false;           // etok profile's injection library built (CUDA and CUPTI headers)
  std::string profileReason;      // why not, when not
};

struct CpuInfo {
  std::string model;
  unsigned logicalCores = 0;
  std::string simd;  // "avx512", "avx2", "sse4.2", "neon", "portable"
};

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  int multiprocessors = 0;
  uint64_t memoryBytes = 0;
  int computeMajor = 0, computeMinor = 0;
  std::string uuid;
};

Capabilities capabilities();
CpuInfo cpuInfo();
/** CUDA devices visible to the runtime; empty (with capabilities().cudaRuntimeReason set) when none. */
std::vector<CudaDeviceInfo> cudaDevices();
/** Human name of "cpu" or "cuda:N" (empty if unknown). */
std::string deviceName(const std::string& id);
/** Parses "cuda:N"; returns -1 for "cpu"; throws std::invalid_argument for anything else. */
int parseDeviceId(const std::string& id);

}  // namespace etok::devices
