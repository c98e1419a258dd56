#include "devices/devices.h"

#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "etok/config.h"

#ifdef ETOK_HAS_CUDA
#include <cuda_runtime.h>
#endif

namespace etok::devices {

namespace {

std::string detectSimd() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "avx512";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
  if (__builtin_cpu_supports("sse4.2")) return "sse4.2";
  return "portable";
#elif defined(__aarch64__)
  return "neon";
#else
  return "portable";
#endif
}

struct CudaScan {
  std::vector<CudaDeviceInfo> devices;
  std::string reason;
};

// The runtime is asked once: a missing driver makes cudaGetDeviceCount fail, which is a normal answer here.
const CudaScan& scanCuda() {
  static CudaScan scan;
  static std::once_flag once;
  std::call_once(once, [] {
#ifdef ETOK_HAS_CUDA
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err == cudaErrorInsufficientDriver) {
      // The runtime says "driver version is insufficient" also where no driver is installed at all; tell them apart.
      int driver = 0, runtime = 0;
      cudaDriverGetVersion(&driver);
      cudaRuntimeGetVersion(&runtime);
      auto version = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
      scan.reason = driver == 0 ? "no CUDA device: no NVIDIA driver is installed (libcuda.so.1 not found)"
                                : "no CUDA device: the NVIDIA driver supports CUDA " + version(driver) +
                                      ", older than the CUDA " + version(runtime) +
                                      " runtime etok was built with; update the driver";
      return;
    }
    if (err != cudaSuccess) {
      scan.reason = std::string("no CUDA device: ") + cudaGetErrorString(err);
      return;
    }
    if (count == 0) {
      scan.reason = "no CUDA device: the driver reports none";
      return;
    }
    for (int i = 0; i < count; i++) {
      cudaDeviceProp prop{};
      if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
      CudaDeviceInfo d;
      d.index = i;
      d.name = prop.name;
      d.multiprocessors = prop.multiProcessorCount;
      d.memoryBytes = prop.totalGlobalMem;
      d.computeMajor = prop.major;
      d.computeMinor = prop.minor;
      char uuid[64];
      const unsigned char* b = reinterpret_cast<const unsigned char*>(prop.uuid.bytes);
      snprintf(uuid, sizeof uuid, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
               b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
      d.uuid = uuid;
      scan.devices.push_back(d);
    }
#else
    scan.reason = std::string("no CUDA device: ") + ETOK_CUDA_REASON;
#endif
  });
  return scan;
}

}  // namespace

Capabilities capabilities() {
  Capabilities c;
#ifdef ETOK_HAS_CUDA
  c.cuda = true;
#endif
  c.cudaVersion = ETOK_CUDA_VERSION;
  c.cudaArchitectures = ETOK_CUDA_ARCHITECTURES;
  c.cudaReason = ETOK_CUDA_REASON;
  c.cudaRuntimeReason = scanCuda().reason;
#ifdef ETOK_HAS_PROFILE
  c.profile = true;
#endif
  c.profileReason = ETOK_PROFILE_REASON;
  return c;
}

CpuInfo cpuInfo() {
  CpuInfo info;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) info.model = line.substr(colon + 2);
      break;
    }
  }
  if (info.model.empty()) info.model = "unknown CPU";
  info.logicalCores = std::max(1u, std::thread::hardware_concurrency());
  info.simd = detectSimd();
  return info;
}

std::vector<CudaDeviceInfo> cudaDevices() { return scanCuda().devices; }

int parseDeviceId(const std::string& id) {
  if (id == "cpu") return -1;
  if (id.rfind("cuda:", 0) == 0 && id.size() > 5 && id.find_first_not_of("0123456789", 5) == std::string::npos)
    return std::stoi(id.substr(5));
  throw std::invalid_argument("device '" + id + "' is not cpu or cuda:N");
}

std::string deviceName(const std::string& id) {
  const int index = parseDeviceId(id);
  if (index < 0) return cpuInfo().model;
  for (const auto& d : cudaDevices())
    if (d.index == index) return d.name;
  return "";
}

}  // namespace etok::devices
