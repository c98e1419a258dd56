// Method "power-sampling", when the energy counter answers NOT_SUPPORTED (pre-Volta boards, some vGPU and Jetson
// parts) or its symbol is missing: a background thread samples instant power (NVML_FI_DEV_POWER_INSTANT through
// nvmlDeviceGetFieldValues, else nvmlDeviceGetPowerUsage, which is a 1 s trailing average on Ampere and newer) and
// integrates it with the trapezoid rule. An error seen by the thread is kept and thrown by the next read, so a board
// lost mid-window ends the measurement; a reading of 0 W (a board or vGPU without power telemetry) throws
// NVML_ZERO_POWER instead of integrating to a silent zero.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "meters/nvml_methods.h"

namespace etok::meters {

namespace {

using namespace etok::nvml;

class PowerSampling final : public EnergyMethod {
 public:
  explicit PowerSampling(const NvmlBoard& board) : board_(board) {}

  ~PowerSampling() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    if (sampler_.joinable()) sampler_.join();
  }

  void start(const std::string& counterReason) {
    if (board_.powerSource() == PowerSource::None) {
      if (board_.powerProbeError() == NVML_ERROR_NO_PERMISSION)
        throw callError("nvmlDeviceGetPowerUsage", board_.powerProbeError(), board_.id());
      throw MeterError("NVML_NOT_SUPPORTED", board_.id() + " gives neither energy nor power: " + counterReason + "; " +
                                                 board_.powerProbe() + ". Use --meter model (modeled) instead.");
    }
    const double periodMs = envNumber("ETOK_NVML_SAMPLE_MS", 10);
    const bool instant = board_.powerSource() == PowerSource::Instant;
    const double averagingMs = instant ? 0.0 : board_.usageAveragingMs();
    description_.source = board_.powerSourceName();
    const PowerReading first = energySample();
    std::lock_guard<std::mutex> lock(mu_);
    samplePeriodNs_ = static_cast<int64_t>(periodMs * 1e6);
    last_ = first;
    description_.id = board_.id();
    description_.kind = "nvml";
    description_.measured = true;
    description_.method = "power-sampling";
    description_.boundary = "board";
    description_.updatePeriodMs = periodMs;
    description_.averagingWindowMs = averagingMs;
    if (instant) {
      description_.note = "energy counter unavailable (" + counterReason +
                          "); integrating instant board power (NVML_FI_DEV_POWER_INSTANT) sampled every " +
                          formatSignificant(periodMs) + " ms on a background thread (trapezoid rule)";
    } else {
      description_.note = "energy counter unavailable (" + counterReason + ") and no instant power field (" +
                          board_.powerProbe() + "); integrating nvmlDeviceGetPowerUsage sampled every " +
                          formatSignificant(periodMs) + " ms on a background thread" +
                          (averagingMs > 0 ? "; on Ampere and newer that is a 1 s trailing average, so energy "
                                             "windows shorter than several seconds are smeared"
                                           : "");
    }
    sampler_ = std::thread([this] { samplerLoop(); });
  }

  const MeterDescription& description() const override { return description_; }

  EnergyReading read() override {
    std::lock_guard<std::mutex> lock(mu_);
    return integrateNowLocked();
  }
  EnergyReading readAtUpdate() override { return read(); }
  bool pollUpdate(EnergyReading& out, int64_t) override {
    out = read();
    return true;
  }

 private:
  /** A power sample that is integrated into energy: 0 W is never a real reading of a powered board. */
  PowerReading energySample() const {
    const PowerReading p = board_.powerSample();
    if (!(p.watts > 0))
      throw MeterError("NVML_ZERO_POWER", board_.id() + ": " + description_.source + " reported " +
                                              formatSignificant(p.watts) +
                                              " W; a powered board never draws 0 W (no power telemetry on this "
                                              "board, vGPU or MIG slice?). Use --meter model (modeled) instead.");
    return p;
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

  const NvmlBoard& board_;
  std::mutex mu_;
  MeterDescription description_;
  int64_t samplePeriodNs_ = 10000000;
  PowerReading last_;
  double joules_ = 0;
  std::string samplerErrorCode_, samplerErrorMessage_;
  bool stop_ = false;
  std::condition_variable wake_;
  std::thread sampler_;
};

}  // namespace

std::unique_ptr<EnergyMethod> startPowerSampling(const NvmlBoard& board, const std::string& counterReason) {
  auto sampling = std::make_unique<PowerSampling>(board);
  sampling->start(counterReason);
  return sampling;
}

}  // namespace etok::meters
