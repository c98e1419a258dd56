// One GPU board seen through NVML, shared by both ways of metering it (nvml_methods.h): calls serialised on the
// library's mutex, the probed source of instant power, and the board's status. Holds the NVML session open.
#pragma once

#include <memory>
#include <string>

#include "meters/meter.h"
#include "meters/nvml_library.h"

namespace etok::meters {

/** Where instant power comes from: NVML_FI_DEV_POWER_INSTANT, nvmlDeviceGetPowerUsage, or nowhere. */
enum class PowerSource { None, Instant, Usage };

class NvmlBoard {
 public:
  NvmlBoard(unsigned index, std::shared_ptr<nvml::Session> session, nvml::nvmlDevice_t device);

  const std::string& id() const { return id_; }
  nvml::nvmlDevice_t device() const { return device_; }

  /** Calls an NVML function under the library's mutex. */
  template <typename Fn, typename... Args>
  nvml::nvmlReturn_t call(Fn fn, Args... args) const {
    std::lock_guard<std::mutex> lock(nvml::Library::get().mutex());
    return fn(args...);
  }

  /** Finds the best instant-power source. Unsupported sources are skipped; a lost board throws. */
  void probePowerSource();
  PowerSource powerSource() const { return powerSource_; }
  /** The NVML call instant power comes from, e.g. "nvmlDeviceGetPowerUsage". */
  const char* powerSourceName() const;
  /** Why the better sources were not taken ("NVML_FI_DEV_POWER_INSTANT: NVML_NOT_SUPPORTED; …"). */
  const std::string& powerProbe() const { return powerProbe_; }
  /** What nvmlDeviceGetPowerUsage returned when it failed the probe (NVML_SUCCESS otherwise). */
  nvml::nvmlReturn_t powerProbeError() const { return powerProbeError_; }
  /** One instant-power reading from the probed source; throws on any failure. */
  PowerReading powerSample() const;
  /** nvmlDeviceGetPowerUsage's averaging window: 1 s trailing on Ampere and newer (and where the architecture is
      unknown, the worst is assumed), near-instant on older boards. */
  double usageAveragingMs() const;
  DeviceStatus status() const;

 private:
  std::string id_;
  std::shared_ptr<nvml::Session> session_;  // keeps NVML initialised while the board is in use
  nvml::nvmlDevice_t device_;
  PowerSource powerSource_ = PowerSource::None;
  std::string powerProbe_;
  nvml::nvmlReturn_t powerProbeError_ = nvml::NVML_SUCCESS;
};

/** A reading for a message (milliseconds, watts): 3 significant digits below 10, 4 above. */
std::string formatSignificant(double x);

/** A positive number from the environment variable `name`, else `fallback`. */
double envNumber(const char* name, double fallback);

}  // namespace etok::meters
