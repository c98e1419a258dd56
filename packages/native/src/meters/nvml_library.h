// libnvidia-ml loaded once, lazily, with dlopen (never linked): a table of function pointers resolved
// one by one by name, versioned symbols named explicitly. A missing symbol leaves its pointer null, which callers
// treat as "not supported"; only init, count and handle are required. ETOK_NVML_LIBRARY names another library
// file (the simulated board of the tests). All calls go through one mutex; init/shutdown pair up in a Session.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "meters/meter.h"
#include "meters/nvml_api.h"

namespace etok::nvml {

struct Api {
  nvmlReturn_t (*init)() = nullptr;  // nvmlInit_v2
  nvmlReturn_t (*shutdown)() = nullptr;
  nvmlReturn_t (*deviceGetCount)(unsigned*) = nullptr;  // _v2
  nvmlReturn_t (*deviceGetHandleByIndex)(unsigned, nvmlDevice_t*) = nullptr;  // _v2
  // Optional: null when this driver lacks them.
  nvmlReturn_t (*systemGetDriverVersion)(char*, unsigned) = nullptr;
  nvmlReturn_t (*deviceGetName)(nvmlDevice_t, char*, unsigned) = nullptr;
  nvmlReturn_t (*deviceGetUUID)(nvmlDevice_t, char*, unsigned) = nullptr;
  nvmlReturn_t (*deviceGetArchitecture)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*deviceGetTotalEnergyConsumption)(nvmlDevice_t, unsigned long long*) = nullptr;
  nvmlReturn_t (*deviceGetPowerUsage)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*deviceGetFieldValues)(nvmlDevice_t, int, nvmlFieldValue_t*) = nullptr;
  nvmlReturn_t (*deviceGetEnforcedPowerLimit)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*deviceGetClockInfo)(nvmlDevice_t, int, unsigned*) = nullptr;
  nvmlReturn_t (*deviceGetTemperature)(nvmlDevice_t, int, unsigned*) = nullptr;
  // nvmlDeviceGetCurrentClocksEventReasons (newer drivers), else ...ClocksThrottleReasons (the older name).
  nvmlReturn_t (*deviceGetClockEventReasons)(nvmlDevice_t, unsigned long long*) = nullptr;
  const char* clockEventReasonsName = "nvmlDeviceGetCurrentClocksEventReasons";
};

class Library {
 public:
  /** The process-wide library, loaded on first use. */
  static Library& get();
  bool loaded() const { return handle_ != nullptr && loadError_.empty(); }
  /** Why the library cannot be used (no file, or a required symbol missing); empty when loaded. */
  const std::string& loadError() const { return loadError_; }
  const std::string& path() const { return path_; }
  const Api& api() const { return api_; }
  /** Held around every NVML call: the harness, the sampler threads and JS may read one board at once. */
  std::mutex& mutex() { return mu_; }

 private:
  Library();
  void* handle_ = nullptr;
  std::string path_, loadError_;
  Api api_;
  std::mutex mu_;
};

/** One nvmlInit_v2 … nvmlShutdown pair. NVML counts initialisations, so sessions may overlap. */
class Session {
 public:
  /** Throws MeterError NVML_UNAVAILABLE (no library) or NVML_<error> (init failed). */
  static std::shared_ptr<Session> open();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

 private:
  Session() = default;
};

/** The MeterError for a failed call: code NVML_<name>, message naming the call, the return and `context`. */
meters::MeterError callError(const char* call, nvmlReturn_t r, const std::string& context);

}  // namespace etok::nvml
