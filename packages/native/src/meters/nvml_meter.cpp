// `nvml:N`: GPU board energy through libnvidia-ml (see nvml_library.h for loading).
//
// Method "energy-counter": nvmlDeviceGetTotalEnergyConsumption (mJ since driver load). Its real update period is
// measured at open by polling until it steps several times (H100-class boards step every ~20-100 ms), and
// readAtUpdate() pins readings to its steps so that windows span whole update intervals.
// Method "power-sampling", when the counter answers NOT_SUPPORTED (pre-Volta boards, some vGPU and Jetson parts) or
// its symbol is missing: a background thread samples instant power (NVML_FI_DEV_POWER_INSTANT through
// nvmlDeviceGetFieldValues, else nvmlDeviceGetPowerUsage, which is a 1 s trailing average on Ampere and newer)
// and integrates it with the trapezoid rule. describe().method says which, describe().note says from what.
// No error becomes a zero: every failing call throws MeterError(NVML_<name>), including one seen by the thread.
// Faults that return success with a wrong value are caught too: a counter that goes backwards (a driver reset, a
// wrapped or corrupted counter) throws NVML_COUNTER_BACKWARDS, and a power reading of 0 W while integrating power
// (a board or vGPU without power telemetry) throws NVML_ZERO_POWER, so neither becomes a silent number.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "meters/edges.h"
#include "meters/meter.h"
#include "meters/nvml_library.h"

namespace etok::meters {

namespace {

using namespace etok::nvml;

std::string envString(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

double envNumber(const char* name, double fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const double d = std::strtod(v, &end);
  return end != v && d > 0 ? d : fallback;
}

/** A reading for a message (milliseconds, watts): 3 significant digits below 10, 4 above. */
std::string formatSignificant(double x) {
  std::ostringstream s;
  s.precision(x < 10 ? 3 : 4);
  s << x;
  return s.str();
}

enum class PowerSource { None, Instant, Usage };

class NvmlMeter final : public Meter {
 public:
  NvmlMeter(unsigned index, std::shared_ptr<Session> session, nvmlDevice_t device)
      : index_(index), id_("nvml:" + std::to_string(index)), session_(std::move(session)), device_(device) {}

  ~NvmlMeter() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    if (sampler_.joinable()) sampler_.join();
  }

  /** Decides the method and measures the update period; throws when the board gives neither energy nor power. */
  void start() {
    const std::string method = envString("ETOK_NVML_METHOD", "auto");
    if (method != "auto" && method != "counter" && method != "sampling")
      throw MeterError("BAD_USAGE", "ETOK_NVML_METHOD must be auto, counter or sampling, not '" + method + "'");
    probePowerSource();
    std::string counterReason;
    if (method != "sampling") {
      if (!lib().api().deviceGetTotalEnergyConsumption) {
        counterReason = "nvmlDeviceGetTotalEnergyConsumption is missing from " + lib().path();
      } else {
        unsigned long long mj = 0;
        const nvmlReturn_t r = call(lib().api().deviceGetTotalEnergyConsumption, device_, &mj);
        if (r == NVML_SUCCESS) return startCounter();
        if (r != NVML_ERROR_NOT_SUPPORTED) throw callError("nvmlDeviceGetTotalEnergyConsumption", r, id_);
        counterReason = "nvmlDeviceGetTotalEnergyConsumption returned NVML_NOT_SUPPORTED";
      }
      if (method == "counter")
        throw MeterError("NVML_NOT_SUPPORTED", id_ + ": ETOK_NVML_METHOD=counter but " + counterReason);
    } else {
      counterReason = "ETOK_NVML_METHOD=sampling";
    }
    startSampling(counterReason);
  }

  MeterDescription describe() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return description_;
  }

  EnergyReading read() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (sampling_) return integrateNowLocked();
    const RawSample s = counterSample();
    edges_.feed(s, nullptr);
    return {s.tNs, joulesOf(s)};
  }

  EnergyReading readAtUpdate() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (sampling_) return integrateNowLocked();
    const RawSample s = edges_.waitForEdge([this] { return counterSample(); }, id_);
    return {s.tNs, joulesOf(s)};
  }

  bool pollUpdate(EnergyReading& out, int64_t maxGapNs) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (sampling_) {
      out = integrateNowLocked();
      return true;
    }
    if (maxGapNs <= 0) maxGapNs = std::max<int64_t>(1000000, edges_.periodNs() / 10);
    // The caller's limit is for its own work between polls; the reads at both ends add about one read's cost.
    maxGapNs += 2 * edges_.readNs();
    const int64_t previousNs = edges_.last().tNs;
    RawSample s = counterSample();
    int64_t edge = 0;
    if (!edges_.feed(s, &edge) || s.tNs - previousNs > maxGapNs) return false;
    out = {edge, joulesOf(s)};
    return true;
  }

  bool readPower(PowerReading& out) override {
    if (powerSource_ == PowerSource::None) return false;
    out = powerSample();
    return true;
  }

  DeviceStatus status() override;

 private:
  static Library& lib() { return Library::get(); }

  template <typename Fn, typename... Args>
  nvmlReturn_t call(Fn fn, Args... args) {
    std::lock_guard<std::mutex> lock(lib().mutex());
    return fn(args...);
  }

  double joulesOf(const RawSample& s) const { return (s.value - baseMj_) * 1e-3; }

  RawSample counterSample() {
    unsigned long long mj = 0;
    const int64_t t0 = nowNs();
    const nvmlReturn_t r = call(lib().api().deviceGetTotalEnergyConsumption, device_, &mj);
    const int64_t t1 = nowNs();
    if (r != NVML_SUCCESS) throw callError("nvmlDeviceGetTotalEnergyConsumption", r, id_);
    // The counter is monotonic (mJ since the driver loaded): a smaller value means it was reset or is corrupt, and
    // any window across the drop would be wrong by an unknown amount.
    if (haveLastMj_ && mj < lastMj_)
      throw MeterError("NVML_COUNTER_BACKWARDS",
                       id_ + ": nvmlDeviceGetTotalEnergyConsumption went backwards from " + std::to_string(lastMj_) +
                           " to " + std::to_string(mj) +
                           " mJ (driver reloaded or counter reset?); the energy of this window is unknown");
    lastMj_ = mj;
    haveLastMj_ = true;
    return {t0 + (t1 - t0) / 2, static_cast<double>(mj)};
  }

  /** A power sample that is integrated into energy: 0 W is never a real reading of a powered board. */
  PowerReading energySample() {
    const PowerReading p = powerSample();
    if (!(p.watts > 0))
      throw MeterError("NVML_ZERO_POWER", id_ + ": " + description_.source + " reported " + formatSignificant(p.watts) +
                                              " W; a powered board never draws 0 W (no power telemetry on this "
                                              "board, vGPU or MIG slice?). Use --meter model (modeled) instead.");
    return p;
  }

  /** One instant-power reading from the probed source; throws on any failure. */
  PowerReading powerSample() {
    const int64_t t0 = nowNs();
    double watts = 0;
    if (powerSource_ == PowerSource::Instant) {
      nvmlFieldValue_t f{};
      f.fieldId = NVML_FI_DEV_POWER_INSTANT;
      nvmlReturn_t r = call(lib().api().deviceGetFieldValues, device_, 1, &f);
      if (r == NVML_SUCCESS) r = f.nvmlReturn;
      if (r != NVML_SUCCESS) throw callError("nvmlDeviceGetFieldValues(NVML_FI_DEV_POWER_INSTANT)", r, id_);
      watts = fieldAsDouble(f) * 1e-3;
    } else {
      unsigned mw = 0;
      const nvmlReturn_t r = call(lib().api().deviceGetPowerUsage, device_, &mw);
      if (r != NVML_SUCCESS) throw callError("nvmlDeviceGetPowerUsage", r, id_);
      watts = static_cast<double>(mw) * 1e-3;
    }
    const int64_t t1 = nowNs();
    return {t0 + (t1 - t0) / 2, watts};
  }

  /** Finds the best instant-power source. Unsupported sources are skipped; a lost board throws. */
  void probePowerSource() {
    const Api& api = lib().api();
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

  /** nvmlDeviceGetPowerUsage is a 1 s trailing average on Ampere and newer (and where the architecture is unknown,
      we assume the worst); on older boards it is a near-instant reading. */
  double usageAveragingMs() {
    unsigned arch = NVML_DEVICE_ARCH_UNKNOWN;
    if (lib().api().deviceGetArchitecture) call(lib().api().deviceGetArchitecture, device_, &arch);
    return arch != NVML_DEVICE_ARCH_UNKNOWN && arch < NVML_DEVICE_ARCH_AMPERE ? 0.0 : 1000.0;
  }

  void baseDescription(const std::string& method) {
    description_.id = id_;
    description_.kind = "nvml";
    description_.measured = true;
    description_.method = method;
    description_.boundary = "board";
  }

  void startCounter() {
    const int edges = static_cast<int>(envNumber("ETOK_NVML_PERIOD_EDGES", 5));
    const PeriodEstimate est = measureUpdatePeriod([this] { return counterSample(); }, id_, std::max(2, edges),
                                                   3000000000LL, 50000);
    std::lock_guard<std::mutex> lock(mu_);
    edges_.reset(est);
    baseMj_ = est.last.value;
    baseDescription("energy-counter");
    description_.updatePeriodMs = est.medianMs;
    description_.source = "nvmlDeviceGetTotalEnergyConsumption";
    description_.note = "nvmlDeviceGetTotalEnergyConsumption (mJ), whole GPU board; the counter steps every " +
                        formatSignificant(est.medianMs) + " ms (median of " + std::to_string(est.intervals) +
                        " steps measured at open, range " + formatSignificant(est.minMs) + "-" + formatSignificant(est.maxMs) +
                        " ms); one read takes about " + formatSignificant(static_cast<double>(est.readNs) * 1e-3) +
                        " us here, so window edges are timed to about ±" + formatSignificant(est.pollGapMs / 2) +
                        " ms";
  }

  void startSampling(const std::string& counterReason) {
    if (powerSource_ == PowerSource::None) {
      if (powerProbeError_ == NVML_ERROR_NO_PERMISSION)
        throw callError("nvmlDeviceGetPowerUsage", powerProbeError_, id_);
      throw MeterError("NVML_NOT_SUPPORTED", id_ + " gives neither energy nor power: " + counterReason + "; " +
                                                 powerProbe_ + ". Use --meter model (modeled) instead.");
    }
    const double periodMs = envNumber("ETOK_NVML_SAMPLE_MS", 10);
    const double averagingMs = powerSource_ == PowerSource::Usage ? usageAveragingMs() : 0.0;
    description_.source = powerSource_ == PowerSource::Instant ? "nvmlDeviceGetFieldValues(NVML_FI_DEV_POWER_INSTANT)"
                                                               : "nvmlDeviceGetPowerUsage";
    const PowerReading first = energySample();
    std::lock_guard<std::mutex> lock(mu_);
    sampling_ = true;
    samplePeriodNs_ = static_cast<int64_t>(periodMs * 1e6);
    last_ = first;
    baseDescription("power-sampling");
    description_.updatePeriodMs = periodMs;
    description_.averagingWindowMs = averagingMs;
    if (powerSource_ == PowerSource::Instant) {
      description_.source = "nvmlDeviceGetFieldValues(NVML_FI_DEV_POWER_INSTANT)";
      description_.note = "energy counter unavailable (" + counterReason +
                          "); integrating instant board power (NVML_FI_DEV_POWER_INSTANT) sampled every " +
                          formatSignificant(periodMs) + " ms on a background thread (trapezoid rule)";
    } else {
      description_.source = "nvmlDeviceGetPowerUsage";
      description_.note = "energy counter unavailable (" + counterReason + ") and no instant power field (" +
                          powerProbe_ + "); integrating nvmlDeviceGetPowerUsage sampled every " + formatSignificant(periodMs) +
                          " ms on a background thread" +
                          (averagingMs > 0 ? "; on Ampere and newer that is a 1 s trailing average, so energy "
                                             "windows shorter than several seconds are smeared"
                                           : "");
    }
    sampler_ = std::thread([this] { samplerLoop(); });
  }

  /** Adds the trapezoid from the last sample to a fresh one; throws what the thread or this call hit. */
  EnergyReading integrateNowLocked() {
    if (!samplerErrorCode_.empty()) throw MeterError(samplerErrorCode_, samplerErrorMessage_);
    const PowerReading p = energySample();
    accumulate(p);
    return {p.tNs, joules_};
  }

  void accumulate(const PowerReading& p) {
    if (p.tNs > last_.tNs) joules_ += 0.5 * (p.watts + last_.watts) * static_cast<double>(p.tNs - last_.tNs) * 1e-9;
    last_ = p;
  }

  void samplerLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      wake_.wait_for(lock, std::chrono::nanoseconds(samplePeriodNs_), [this] { return stop_; });
      if (stop_) break;
      try {
        accumulate(energySample());
      } catch (const MeterError& e) {
        // Kept, not swallowed: the next read() throws it, so a board lost mid-window ends the measurement.
        samplerErrorCode_ = e.code();
        samplerErrorMessage_ = std::string(e.what()) + " (seen by the power sampler)";
        break;
      }
    }
  }

  unsigned index_;
  std::string id_;
  std::shared_ptr<Session> session_;  // keeps NVML initialised while the meter lives
  nvmlDevice_t device_;

  mutable std::mutex mu_;
  MeterDescription description_;
  // energy-counter
  EdgeClock edges_;
  double baseMj_ = 0;
  unsigned long long lastMj_ = 0;  // the last counter value read, to catch a counter going backwards
  bool haveLastMj_ = false;
  // power-sampling and readPower()
  PowerSource powerSource_ = PowerSource::None;
  std::string powerProbe_;
  nvmlReturn_t powerProbeError_ = NVML_SUCCESS;
  bool sampling_ = false;
  int64_t samplePeriodNs_ = 10000000;
  PowerReading last_;
  double joules_ = 0;
  std::string samplerErrorCode_, samplerErrorMessage_;
  bool stop_ = false;
  std::condition_variable wake_;
  std::thread sampler_;
};

DeviceStatus NvmlMeter::status() {
  const Api& api = lib().api();
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
  else if (nvmlReturn_t r = call(api.deviceGetName, device_, buffer, unsigned{sizeof buffer}); r == NVML_SUCCESS) st.name = buffer;
  else note("name", "nvmlDeviceGetName", r);
  if (!api.deviceGetUUID) missing("uuid", "nvmlDeviceGetUUID");
  else if (nvmlReturn_t r = call(api.deviceGetUUID, device_, buffer, unsigned{sizeof buffer}); r == NVML_SUCCESS) st.uuid = buffer;
  else note("uuid", "nvmlDeviceGetUUID", r);
  if (!api.systemGetDriverVersion) missing("driverVersion", "nvmlSystemGetDriverVersion");
  else if (nvmlReturn_t r = call(api.systemGetDriverVersion, buffer, unsigned{sizeof buffer}); r == NVML_SUCCESS) st.driverVersion = buffer;
  else note("driverVersion", "nvmlSystemGetDriverVersion", r);
  if (api.deviceGetArchitecture) {
    static const char* kArch[] = {"", "", "Kepler", "Maxwell", "Pascal", "Volta", "Turing", "Ampere", "Ada", "Hopper", "Blackwell"};
    unsigned arch = NVML_DEVICE_ARCH_UNKNOWN;
    if (nvmlReturn_t r = call(api.deviceGetArchitecture, device_, &arch); r == NVML_SUCCESS)
      st.architecture = arch < sizeof kArch / sizeof *kArch && *kArch[arch] ? kArch[arch] : "arch " + std::to_string(arch);
    else note("architecture", "nvmlDeviceGetArchitecture", r);
  } else {
    missing("architecture", "nvmlDeviceGetArchitecture");
  }
  unsigned value = 0;
  if (!api.deviceGetEnforcedPowerLimit) missing("powerLimitW", "nvmlDeviceGetEnforcedPowerLimit");
  else if (nvmlReturn_t r = call(api.deviceGetEnforcedPowerLimit, device_, &value); r == NVML_SUCCESS) st.powerLimitW = value * 1e-3;
  else note("powerLimitW", "nvmlDeviceGetEnforcedPowerLimit", r);
  if (!api.deviceGetClockInfo) {
    missing("smClockMHz", "nvmlDeviceGetClockInfo");
    missing("memClockMHz", "nvmlDeviceGetClockInfo");
  } else {
    if (nvmlReturn_t r = call(api.deviceGetClockInfo, device_, NVML_CLOCK_SM, &value); r == NVML_SUCCESS) st.smClockMHz = value;
    else note("smClockMHz", "nvmlDeviceGetClockInfo(NVML_CLOCK_SM)", r);
    if (nvmlReturn_t r = call(api.deviceGetClockInfo, device_, NVML_CLOCK_MEM, &value); r == NVML_SUCCESS) st.memClockMHz = value;
    else note("memClockMHz", "nvmlDeviceGetClockInfo(NVML_CLOCK_MEM)", r);
  }
  if (!api.deviceGetTemperature) missing("temperatureC", "nvmlDeviceGetTemperature");
  else if (nvmlReturn_t r = call(api.deviceGetTemperature, device_, NVML_TEMPERATURE_GPU, &value); r == NVML_SUCCESS) st.temperatureC = value;
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

}  // namespace

MeterAvailability nvmlAvailability() {
  try {
    auto session = Session::open();
    Library& lib = Library::get();
    unsigned count = 0;
    nvmlReturn_t r;
    {
      std::lock_guard<std::mutex> lock(lib.mutex());
      r = lib.api().deviceGetCount(&count);
    }
    if (r != NVML_SUCCESS) return {"nvml", "nvml", false, std::string("nvmlDeviceGetCount_v2: NVML_") + returnName(r)};
    if (count == 0) return {"nvml", "nvml", false, "NVML reports no GPU"};
    return {count == 1 ? "nvml:0" : "nvml:0.." + std::to_string(count - 1), "nvml", true, ""};
  } catch (const MeterError& e) {
    return {"nvml", "nvml", false, e.what()};
  }
}

std::unique_ptr<Meter> openNvmlMeter(unsigned index) {
  auto session = Session::open();
  Library& lib = Library::get();
  const std::string id = "nvml:" + std::to_string(index);
  unsigned count = 0;
  nvmlDevice_t device = nullptr;
  {
    std::lock_guard<std::mutex> lock(lib.mutex());
    nvmlReturn_t r = lib.api().deviceGetCount(&count);
    if (r != NVML_SUCCESS) throw callError("nvmlDeviceGetCount_v2", r, id);
    if (index >= count)
      throw MeterError("UNKNOWN_METER",
                       "meter " + id + " does not exist; NVML sees " + std::to_string(count) + " GPU(s)");
    r = lib.api().deviceGetHandleByIndex(index, &device);
    if (r != NVML_SUCCESS) throw callError("nvmlDeviceGetHandleByIndex_v2", r, id);
  }
  auto meter = std::make_unique<NvmlMeter>(index, std::move(session), device);
  meter->start();
  return meter;
}

}  // namespace etok::meters
