// `nvml:N`: the board's total-energy counter (mJ) read through libnvidia-ml, loaded once with dlopen.
// ETOK_NVML_LIBRARY names another library file (the simulated board in tests). Absent library or symbol means
// "unavailable, with reason"; a failing call is an error naming the call and the nvmlReturn_t.
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "meters/meter.h"
#include "meters/nvml_api.h"

namespace etok::meters {

namespace {

using namespace etok::nvml;

struct NvmlLibrary {
  void* handle = nullptr;
  std::string loadError;
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  nvmlReturn_t (*deviceGetCount)(unsigned*) = nullptr;
  nvmlReturn_t (*deviceGetHandleByIndex)(unsigned, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*deviceGetName)(nvmlDevice_t, char*, unsigned) = nullptr;
  nvmlReturn_t (*deviceGetTotalEnergyConsumption)(nvmlDevice_t, unsigned long long*) = nullptr;
  bool initialized = false;
  nvmlReturn_t initResult = NVML_ERROR_UNINITIALIZED;
  std::mutex mu;  // NVML calls are serialised: one board may be read from the sampler and the harness
};

template <typename Fn>
void resolve(void* handle, Fn& fn, const char* name) {
  fn = reinterpret_cast<Fn>(dlsym(handle, name));
}

std::string libraryPath() {
  const char* over = std::getenv("ETOK_NVML_LIBRARY");
  return over && *over ? over : "libnvidia-ml.so.1";
}

NvmlLibrary& library() {
  static NvmlLibrary lib;
  static std::once_flag once;
  std::call_once(once, [] {
    const std::string path = libraryPath();
    lib.handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib.handle) {
      const char* err = dlerror();
      lib.loadError = "cannot load " + path + " (" + (err ? err : "unknown") + "); no NVIDIA driver here?";
      return;
    }
    resolve(lib.handle, lib.init, "nvmlInit_v2");
    resolve(lib.handle, lib.shutdown, "nvmlShutdown");
    resolve(lib.handle, lib.deviceGetCount, "nvmlDeviceGetCount_v2");
    resolve(lib.handle, lib.deviceGetHandleByIndex, "nvmlDeviceGetHandleByIndex_v2");
    resolve(lib.handle, lib.deviceGetName, "nvmlDeviceGetName");
    resolve(lib.handle, lib.deviceGetTotalEnergyConsumption, "nvmlDeviceGetTotalEnergyConsumption");
    if (!lib.init || !lib.deviceGetCount || !lib.deviceGetHandleByIndex) {
      lib.loadError = path + " lacks nvmlInit_v2 / nvmlDeviceGetCount_v2 / nvmlDeviceGetHandleByIndex_v2";
      return;
    }
    lib.initResult = lib.init();
    lib.initialized = lib.initResult == NVML_SUCCESS;
    if (!lib.initialized) lib.loadError = std::string("nvmlInit_v2 failed: NVML_") + returnName(lib.initResult);
  });
  return lib;
}

[[noreturn]] void fail(const char* call, nvmlReturn_t r) {
  throw MeterError(std::string("NVML_") + returnName(r), std::string(call) + " returned NVML_" + returnName(r) +
                                                              " (" + std::to_string(r) + ")");
}

class NvmlMeter final : public Meter {
 public:
  NvmlMeter(unsigned index, nvmlDevice_t device) : index_(index), device_(device) {}

  MeterDescription describe() const override {
    MeterDescription d;
    d.id = "nvml:" + std::to_string(index_);
    d.kind = "nvml";
    d.measured = true;
    d.method = "energy-counter";
    d.boundary = "board";
    d.note = "nvmlDeviceGetTotalEnergyConsumption (mJ), whole GPU board";
    return d;
  }

  EnergyReading read() override {
    NvmlLibrary& lib = library();
    std::lock_guard<std::mutex> lock(lib.mu);
    unsigned long long mj = 0;
    const nvmlReturn_t r = lib.deviceGetTotalEnergyConsumption(device_, &mj);
    const int64_t t = nowNs();
    if (r != NVML_SUCCESS) fail("nvmlDeviceGetTotalEnergyConsumption", r);
    if (!haveBase_) {
      baseMj_ = mj;
      haveBase_ = true;
    }
    return {t, static_cast<double>(mj - baseMj_) * 1e-3};
  }

 private:
  unsigned index_;
  nvmlDevice_t device_;
  unsigned long long baseMj_ = 0;
  bool haveBase_ = false;
};

}  // namespace

MeterAvailability nvmlAvailability() {
  NvmlLibrary& lib = library();
  if (!lib.initialized) return {"nvml", "nvml", false, lib.loadError};
  unsigned count = 0;
  std::lock_guard<std::mutex> lock(lib.mu);
  const nvmlReturn_t r = lib.deviceGetCount(&count);
  if (r != NVML_SUCCESS) return {"nvml", "nvml", false, std::string("nvmlDeviceGetCount_v2: NVML_") + returnName(r)};
  if (count == 0) return {"nvml", "nvml", false, "NVML reports no GPU"};
  if (!lib.deviceGetTotalEnergyConsumption)
    return {"nvml:0", "nvml", false, "nvmlDeviceGetTotalEnergyConsumption is missing from the library"};
  return {count == 1 ? "nvml:0" : "nvml:0.." + std::to_string(count - 1), "nvml", true, ""};
}

std::unique_ptr<Meter> openNvmlMeter(unsigned index) {
  NvmlLibrary& lib = library();
  if (!lib.initialized) throw MeterError("NVML_UNAVAILABLE", "meter nvml:" + std::to_string(index) + " is unavailable: " + lib.loadError);
  std::lock_guard<std::mutex> lock(lib.mu);
  unsigned count = 0;
  nvmlReturn_t r = lib.deviceGetCount(&count);
  if (r != NVML_SUCCESS) fail("nvmlDeviceGetCount_v2", r);
  if (index >= count)
    throw MeterError("UNKNOWN_METER", "meter nvml:" + std::to_string(index) + " does not exist; NVML sees " +
                                          std::to_string(count) + " GPU(s)");
  nvmlDevice_t device = nullptr;
  r = lib.deviceGetHandleByIndex(index, &device);
  if (r != NVML_SUCCESS) fail("nvmlDeviceGetHandleByIndex_v2", r);
  if (!lib.deviceGetTotalEnergyConsumption)
    throw MeterError("NVML_NOT_SUPPORTED", "nvmlDeviceGetTotalEnergyConsumption is missing from the library");
  return std::make_unique<NvmlMeter>(index, device);
}

}  // namespace etok::meters
