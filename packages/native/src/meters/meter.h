// Energy meters (SPEC §4). A meter reports cumulative joules at CLOCK_MONOTONIC instants; the harness takes
// differences over windows. Each meter says whether it measures or models, how, and what it covers.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace etok::meters {

struct MeterDescription {
  std::string id;        // "nvml:0", "rapl", "model"
  std::string kind;      // "nvml" | "rapl" | "model"
  bool measured = false; // false only for the model meter
  std::string method;    // "energy-counter" | "power-sampling" | "model"
  std::string boundary;  // "board", "package", or the model's stated scope
  double updatePeriodMs = 0;
  double idleW = 0;      // filled by the harness's idle baseline
  std::string note;      // how the number is obtained, in words
};

struct EnergyReading {
  int64_t tNs = 0;    // steady_clock nanoseconds
  double joules = 0;  // cumulative since the meter was opened
};

/** A meter failure with a stable code (e.g. NVML_GPU_LOST, RAPL_PERMISSION) that reaches JS as `error.code`. */
class MeterError : public std::runtime_error {
 public:
  MeterError(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

class Meter {
 public:
  virtual ~Meter() = default;
  virtual MeterDescription describe() const = 0;
  virtual EnergyReading read() = 0;
  /** The harness marks when the device is busy; only the model meter uses it. */
  virtual void setBusy(bool /*busy*/) {}
};

struct MeterAvailability {
  std::string id;
  std::string kind;
  bool available = false;
  std::string reason;  // why not, when not
};

/** Coefficients of the stated power model (from the device table or from flags). */
struct PowerModel {
  std::string source;        // e.g. "table:AMD EPYC" or "flags"
  double idleW = 0;          // power with nothing running
  double busyW = 0;          // added at full utilization of the device
  std::string utilization;   // "proc-stat" (CPU busy time) or "harness" (busy while the kernel runs)
};

int64_t nowNs();

std::vector<MeterAvailability> listMeters();
/** Opens "nvml:N", "rapl" or "model" for `deviceId`; throws MeterError with a code when it cannot. */
std::unique_ptr<Meter> openMeter(const std::string& id, const std::string& deviceId, const PowerModel* overrideModel);
/** The model coefficients etok would use for a device (its table entry, or a generic one, stated). */
PowerModel defaultPowerModel(const std::string& deviceId, const std::string& deviceName);

std::unique_ptr<Meter> openModelMeter(const PowerModel& model);
std::unique_ptr<Meter> openNvmlMeter(unsigned index);
std::unique_ptr<Meter> openRaplMeter();
MeterAvailability nvmlAvailability();
MeterAvailability raplAvailability();

}  // namespace etok::meters
