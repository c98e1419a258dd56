#include "meters/nvml_board.h"

#include <cstdlib>
#include <sstream>

namespace etok::meters {

using namespace etok::nvml;

NvmlBoard::NvmlBoard(unsigned index, std::shared_ptr<Session> session, nvmlDevice_t device)
    : id_("nvml:" + std::to_string(index)), session_(std::move(session)), device_(device) {}

void NvmlBoard::probePowerSource() {
  const Api& api = Library::get().api();
  if (api.deviceGetFieldValues) {
    nvmlFieldValue_t f{};
    f.fieldId = NVML_FI_DEV_POWER_INSTANT;
    nvmlReturn_t r = call(api.deviceGetFieldValues, device_, 1, &f);
    if (r == NVML_SUCCESS) r = f.nvmlReturn;
    if (r == NVML_ERROR_GPU_IS_LOST) throw callError("nvmlDeviceGetFieldValues", r, id_);
    if (r == NVML_SUCCESS) {
      powerSource_ = PowerSource::Instant;
      return;
    }
    powerProbe_ = std::string("NVML_FI_DEV_POWER_INSTANT: NVML_") + returnName(r);
  } else {
    powerProbe_ = "nvmlDeviceGetFieldValues is missing";
  }
  if (api.deviceGetPowerUsage) {
    unsigned mw = 0;
    const nvmlReturn_t r = call(api.deviceGetPowerUsage, device_, &mw);
    if (r == NVML_ERROR_GPU_IS_LOST) throw callError("nvmlDeviceGetPowerUsage", r, id_);
    if (r == NVML_SUCCESS) {
      powerSource_ = PowerSource::Usage;
      return;
    }
    powerProbe_ += std::string("; nvmlDeviceGetPowerUsage: NVML_") + returnName(r);
    powerProbeError_ = r;
  } else {
    powerProbe_ += "; nvmlDeviceGetPowerUsage is missing";
  }
}

const char* NvmlBoard::powerSourceName() const {
  return powerSource_ == PowerSource::Instant ? "nvmlDeviceGetFieldValues(NVML_FI_DEV_POWER_INSTANT)"
                                              : "nvmlDeviceGetPowerUsage";
}

PowerReading NvmlBoard::powerSample() const {
  const Api& api = Library::get().api();
  const int64_t t0 = nowNs();
  double watts = 0;
  if (powerSource_ == PowerSource::Instant) {
    nvmlFieldValue_t f{};
    f.fieldId = NVML_FI_DEV_POWER_INSTANT;
    nvmlReturn_t r = call(api.deviceGetFieldValues, device_, 1, &f);
    if (r == NVML_SUCCESS) r = f.nvmlReturn;
    if (r != NVML_SUCCESS) throw callError("nvmlDeviceGetFieldValues(NVML_FI_DEV_POWER_INSTANT)", r, id_);
    watts = fieldAsDouble(f) * 1e-3;
  } else {
    unsigned mw = 0;
    const nvmlReturn_t r = call(api.deviceGetPowerUsage, device_, &mw);
    if (r != NVML_SUCCESS) throw callError("nvmlDeviceGetPowerUsage", r, id_);
    watts = static_cast<double>(mw) * 1e-3;
  }
  const int64_t t1 = nowNs();
  return {t0 + (t1 - t0) / 2, watts};
}

double NvmlBoard::usageAveragingMs() const {
  const Api& api = Library::get().api();
  unsigned arch = NVML_DEVICE_ARCH_UNKNOWN;
  if (api.deviceGetArchitecture) call(api.deviceGetArchitecture, device_, &arch);
  return arch != NVML_DEVICE_ARCH_UNKNOWN && arch < NVML_DEVICE_ARCH_AMPERE ? 0.0 : 1000.0;
}

DeviceStatus NvmlBoard::status() const {
  const Api& api = Library::get().api();
  DeviceStatus st;
  auto note = [&](const char* field, const char* callName, nvmlReturn_t r) {
    if (r == NVML_ERROR_GPU_IS_LOST) throw callError(callName, r, id_);
    st.unavailable.push_back(std::string(field) + ": " + callName + " returned NVML_" + returnName(r));
  };
  auto missing = [&](const char* field, const char* callName) {
    st.unavailable.push_back(std::string(field) + ": " + callName + " is missing from the library");
  };
  char buffer[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
  if (!api.deviceGetName) missing("name", "nvmlDeviceGetName");
  else if (nvmlReturn_t r = call(api.deviceGetName, device_, buffer, unsigned{sizeof buffer}); r == NVML_SUCCESS)
    st.name = buffer;
  else note("name", "nvmlDeviceGetName", r);
  if (!api.deviceGetUUID) missing("uuid", "nvmlDeviceGetUUID");
  else if (nvmlReturn_t r = call(api.deviceGetUUID, device_, buffer, unsigned{sizeof buffer}); r == NVML_SUCCESS)
    st.uuid = buffer;
  else note("uuid", "nvmlDeviceGetUUID", r);
  if (!api.systemGetDriverVersion) missing("driverVersion", "nvmlSystemGetDriverVersion");
  else if (nvmlReturn_t r = call(api.systemGetDriverVersion, buffer, unsigned{sizeof buffer}); r == NVML_SUCCESS)
    st.driverVersion = buffer;
  else note("driverVersion", "nvmlSystemGetDriverVersion", r);
  if (api.deviceGetArchitecture) {
    static const char* kArch[] = {"",       "",       "Kepler", "Maxwell", "Pascal",   "Volta",
                                  "Turing", "Ampere", "Ada",    "Hopper",  "Blackwell"};
    unsigned arch = NVML_DEVICE_ARCH_UNKNOWN;
    if (nvmlReturn_t r = call(api.deviceGetArchitecture, device_, &arch); r == NVML_SUCCESS)
      st.architecture = arch < sizeof kArch / sizeof *kArch && *kArch[arch] ? kArch[arch]
                                                                            : "arch " + std::to_string(arch);
    else note("architecture", "nvmlDeviceGetArchitecture", r);
  } else {
    missing("architecture", "nvmlDeviceGetArchitecture");
  }
  unsigned value = 0;
  if (!api.deviceGetEnforcedPowerLimit) missing("powerLimitW", "nvmlDeviceGetEnforcedPowerLimit");
  else if (nvmlReturn_t r = call(api.deviceGetEnforcedPowerLimit, device_, &value); r == NVML_SUCCESS)
    st.powerLimitW = value * 1e-3;
  else note("powerLimitW", "nvmlDeviceGetEnforcedPowerLimit", r);
  if (!api.deviceGetClockInfo) {
    missing("smClockMHz", "nvmlDeviceGetClockInfo");
    missing("memClockMHz", "nvmlDeviceGetClockInfo");
  } else {
    if (nvmlReturn_t r = call(api.deviceGetClockInfo, device_, NVML_CLOCK_SM, &value); r == NVML_SUCCESS)
      st.smClockMHz = value;
    else note("smClockMHz", "nvmlDeviceGetClockInfo(NVML_CLOCK_SM)", r);
    if (nvmlReturn_t r = call(api.deviceGetClockInfo, device_, NVML_CLOCK_MEM, &value); r == NVML_SUCCESS)
      st.memClockMHz = value;
    else note("memClockMHz", "nvmlDeviceGetClockInfo(NVML_CLOCK_MEM)", r);
  }
  if (!api.deviceGetTemperature) missing("temperatureC", "nvmlDeviceGetTemperature");
  else if (nvmlReturn_t r = call(api.deviceGetTemperature, device_, NVML_TEMPERATURE_GPU, &value); r == NVML_SUCCESS)
    st.temperatureC = value;
  else note("temperatureC", "nvmlDeviceGetTemperature", r);
  if (!api.deviceGetClockEventReasons) {
    missing("clockEvents", "nvmlDeviceGetCurrentClocksEventReasons");
  } else {
    unsigned long long reasons = 0;
    if (nvmlReturn_t r = call(api.deviceGetClockEventReasons, device_, &reasons); r == NVML_SUCCESS) {
      st.clockEventsKnown = true;
      st.clockEventReasons = reasons;
      for (const auto& reason : kClockEventReasons) {
        if (!(reasons & reason.bit)) continue;
        st.clockEvents.push_back(reason.name);
        st.throttled = st.throttled || reason.slowdown;
      }
    } else {
      note("clockEvents", api.clockEventReasonsName, r);
    }
  }
  if (powerSource_ != PowerSource::None) {
    PowerReading p;
    try {
      p = powerSample();
      st.powerW = p.watts;
    } catch (const MeterError& e) {
      if (e.code() == "NVML_GPU_LOST") throw;
      st.unavailable.push_back(std::string("powerW: ") + e.what());
    }
  } else {
    st.unavailable.push_back("powerW: " + powerProbe_);
  }
  return st;
}

std::string formatSignificant(double x) {
  std::ostringstream s;
  s.precision(x < 10 ? 3 : 4);
  s << x;
  return s.str();
}

double envNumber(const char* name, double fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const double d = std::strtod(v, &end);
  return end != v && d > 0 ? d : fallback;
}

}  // namespace etok::meters
