#include "meters/meter.h"

#include <chrono>

#include "devices/devices.h"

namespace etok::meters {

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::vector<MeterAvailability> listMeters() {
  std::vector<MeterAvailability> out;
  out.push_back(nvmlAvailability());
  out.push_back(raplAvailability());
  out.push_back({"model", "model", true, ""});
  return out;
}

std::unique_ptr<Meter> openMeter(const std::string& id, const std::string& deviceId, const PowerModel* overrideModel) {
  if (id == "model") {
    if (overrideModel) return openModelMeter(*overrideModel);
    return openModelMeter(defaultPowerModel(deviceId, devices::deviceName(deviceId)));
  }
  if (id == "rapl") return openRaplMeter();
  if (id.rfind("nvml:", 0) == 0) {
    const std::string idx = id.substr(5);
    if (idx.empty() || idx.find_first_not_of("0123456789") != std::string::npos)
      throw MeterError("UNKNOWN_METER", "meter '" + id + "' needs a GPU index, e.g. nvml:0");
    return openNvmlMeter(static_cast<unsigned>(std::stoul(idx)));
  }
  throw MeterError("UNKNOWN_METER", "meter '" + id + "' is not one of nvml:N, rapl, model");
}

}  // namespace etok::meters
