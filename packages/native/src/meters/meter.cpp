#include "meters/meter.h"

#include <algorithm>
#include <chrono>

#include "devices/devices.h"

namespace etok::meters {

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

EnergyReading finishWindowOnUpdate(Meter& meter, const std::function<void()>& oneCall, int64_t& calls, double callS) {
  EnergyReading out;
  const int64_t maxGapNs = static_cast<int64_t>(1.5 * callS * 1e9) + 1000000;
  const double periodMs = meter.describe().updatePeriodMs;
  // Give up polling after three update periods (a step is then certainly missed by long calls) or 1 s.
  const int64_t deadline = nowNs() + std::max<int64_t>(static_cast<int64_t>(3 * periodMs * 1e6), 1000000000);
  if (meter.pollUpdate(out, maxGapNs)) return out;
  while (nowNs() < deadline) {
    oneCall();
    calls++;
    if (meter.pollUpdate(out, maxGapNs)) return out;
  }
  return meter.readAtUpdate();
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
