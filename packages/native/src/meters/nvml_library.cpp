#include "meters/nvml_library.h"

#include <dlfcn.h>

#include <cstdlib>

namespace etok::nvml {

namespace {

template <typename Fn>
void resolve(void* handle, Fn& fn, const char* name) {
  fn = reinterpret_cast<Fn>(dlsym(handle, name));
}

}  // namespace

Library& Library::get() {
  static Library lib;  // C++11 guarantees one thread constructs it
  return lib;
}

Library::Library() {
  const char* over = std::getenv("ETOK_NVML_LIBRARY");
  path_ = over && *over ? over : "libnvidia-ml.so.1";
  handle_ = dlopen(path_.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char* err = dlerror();
    loadError_ = "cannot load " + path_ + " (" + (err ? err : "unknown error") + "); no NVIDIA driver here?";
    return;
  }
  resolve(handle_, api_.init, "nvmlInit_v2");
  resolve(handle_, api_.shutdown, "nvmlShutdown");
  resolve(handle_, api_.deviceGetCount, "nvmlDeviceGetCount_v2");
  resolve(handle_, api_.deviceGetHandleByIndex, "nvmlDeviceGetHandleByIndex_v2");
  resolve(handle_, api_.systemGetDriverVersion, "nvmlSystemGetDriverVersion");
  resolve(handle_, api_.deviceGetName, "nvmlDeviceGetName");
  resolve(handle_, api_.deviceGetUUID, "nvmlDeviceGetUUID");
  resolve(handle_, api_.deviceGetArchitecture, "nvmlDeviceGetArchitecture");
  resolve(handle_, api_.deviceGetTotalEnergyConsumption, "nvmlDeviceGetTotalEnergyConsumption");
  resolve(handle_, api_.deviceGetPowerUsage, "nvmlDeviceGetPowerUsage");
  resolve(handle_, api_.deviceGetFieldValues, "nvmlDeviceGetFieldValues");
  resolve(handle_, api_.deviceGetEnforcedPowerLimit, "nvmlDeviceGetEnforcedPowerLimit");
  resolve(handle_, api_.deviceGetClockInfo, "nvmlDeviceGetClockInfo");
  resolve(handle_, api_.deviceGetTemperature, "nvmlDeviceGetTemperature");
  resolve(handle_, api_.deviceGetClockEventReasons, "nvmlDeviceGetCurrentClocksEventReasons");
  if (!api_.deviceGetClockEventReasons) {
    resolve(handle_, api_.deviceGetClockEventReasons, "nvmlDeviceGetCurrentClocksThrottleReasons");
    api_.clockEventReasonsName = "nvmlDeviceGetCurrentClocksThrottleReasons";
  }
  std::string missing;
  if (!api_.init) missing += " nvmlInit_v2";
  if (!api_.shutdown) missing += " nvmlShutdown";
  if (!api_.deviceGetCount) missing += " nvmlDeviceGetCount_v2";
  if (!api_.deviceGetHandleByIndex) missing += " nvmlDeviceGetHandleByIndex_v2";
  if (!missing.empty()) loadError_ = path_ + " lacks required symbols:" + missing + " (driver too old?)";
}

std::shared_ptr<Session> Session::open() {
  Library& lib = Library::get();
  if (!lib.loaded()) throw meters::MeterError("NVML_UNAVAILABLE", "NVML is unavailable: " + lib.loadError());
  nvmlReturn_t r;
  {
    std::lock_guard<std::mutex> lock(lib.mutex());
    r = lib.api().init();
  }
  if (r != NVML_SUCCESS) throw callError("nvmlInit_v2", r, lib.path());
  return std::shared_ptr<Session>(new Session());
}

Session::~Session() {
  Library& lib = Library::get();
  std::lock_guard<std::mutex> lock(lib.mutex());
  lib.api().shutdown();
}

meters::MeterError callError(const char* call, nvmlReturn_t r, const std::string& context) {
  std::string message = std::string(call) + " returned NVML_" + returnName(r) + " (" + std::to_string(r) + ")";
  if (!context.empty()) message += " for " + context;
  switch (r) {
    case NVML_ERROR_GPU_IS_LOST:
      message += ": the GPU has fallen off the bus or become inaccessible; check dmesg for Xid errors";
      break;
    case NVML_ERROR_NO_PERMISSION: message += ": this user may not read it; run with the needed privileges"; break;
    case NVML_ERROR_NOT_SUPPORTED: message += ": this board or driver does not support it"; break;
    case NVML_ERROR_DRIVER_NOT_LOADED: message += ": the NVIDIA kernel driver is not loaded"; break;
    default: break;
  }
  return meters::MeterError(std::string("NVML_") + returnName(r), message);
}

}  // namespace etok::nvml
