// Energy meters (docs/spec.md §4). A meter reports cumulative joules at CLOCK_MONOTONIC instants; the harness takes
// differences over windows. Each meter says whether it measures or models, how, and what it covers.
//
// Counters move in steps: an NVML energy counter only changes every ~20-100 ms on H100-class boards, so a reading
// at an arbitrary instant lags the truth by up to one update. readAtUpdate() returns a reading taken right after
// an update edge, whose value is the energy *at* its timestamp; windows between two such readings span whole
// update intervals and carry no lag error. Meters without steps (power sampling, the model) read exactly anyway.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "etok/kernels/errors.h"

namespace etok::meters {

struct MeterDescription {
  std::string id;        // "nvml:0", "rapl", "model"
  std::string kind;      // "nvml" | "rapl" | "model"
  bool measured = false; // false only for the model meter
  std::string method;    // "energy-counter" | "power-sampling" | "model"
  std::string boundary;  // "board", "package", or the model's stated scope
  double updatePeriodMs = 0;    // measured at open (counter edges), or the sampling period
  double idleW = 0;             // filled by the harness's idle baseline
  std::string note;             // how the number is obtained, in words
  std::string source;           // the exact call or file read, e.g. "nvmlDeviceGetTotalEnergyConsumption"
  double averagingWindowMs = 0; // > 0 when the source is a trailing average (nvmlDeviceGetPowerUsage on Ampere+):
                                // energy windows should then be many times longer than this
};

struct EnergyReading {
  int64_t tNs = 0;    // steady_clock nanoseconds
  double joules = 0;  // cumulative since the meter was opened
};

struct PowerReading {
  int64_t tNs = 0;
  double watts = 0;
};

/** What the board or package says about itself and its state now; NaN / empty where the source cannot tell. */
struct DeviceStatus {
  std::string name, uuid, driverVersion, architecture;
  double powerLimitW = NAN;   // enforced power limit
  double powerW = NAN;        // current power from the meter's instant source
  double smClockMHz = NAN, memClockMHz = NAN;
  double temperatureC = NAN;
  bool clockEventsKnown = false;
  uint64_t clockEventReasons = 0;        // raw NVML clock-event (throttle) reason bits
  std::vector<std::string> clockEvents;  // names of the active reasons, e.g. "sw-power-cap"
  bool throttled = false;                // a power, thermal or hardware slowdown reason is active
  std::vector<std::string> domains;      // RAPL: the zones summed, e.g. "package-0 (intel-rapl:0)"
  std::vector<std::string> unavailable;  // "temperature: nvmlDeviceGetTemperature returned NVML_NOT_SUPPORTED"
};

/** A meter failure with a stable code (e.g. NVML_GPU_LOST, RAPL_PERMISSION) that reaches JS as `error.code`. */
class MeterError : public CodedError {
 public:
  MeterError(std::string code, const std::string& message) : CodedError(std::move(code), message) {}
};

/** All methods may be called from any thread; implementations serialise their own state. */
class Meter {
 public:
  virtual ~Meter() = default;
  virtual MeterDescription describe() const = 0;
  /** The cumulative energy now. For a stepped counter the value may lag tNs by up to one update period. */
  virtual EnergyReading read() = 0;
  /** Waits for the next update edge of the meter's counter and returns the reading right after it: its joules are
      the energy at its tNs (to within the polling interval). Throws METER_STALLED when no edge can be timed within
      max(2 s, 20 updates). Meters without steps return read(). */
  virtual EnergyReading readAtUpdate() { return read(); }
  /** Non-blocking: reads once and returns true (with `out`) when the counter stepped since this meter's previous
      read or poll; out.tNs is then the midpoint between that previous read and this one. A step seen after a gap
      longer than `maxGapNs` (0: max(1 ms, a tenth of the update period)) is too loosely timed and is not reported
      (returns false; the next step will be), so poll often, e.g. after each kernel call, and pass ~1.5× the call
      time as maxGapNs when calls are long. Meters without steps always return true. */
  virtual bool pollUpdate(EnergyReading& out, int64_t /*maxGapNs*/ = 0) {
    out = read();
    return true;
  }
  /** Instantaneous power, when the meter has a source for it (NVML instant power field or power usage). */
  virtual bool readPower(PowerReading& /*out*/) { return false; }
  /** Metadata and state of the measured device (name, UUID, driver, limits, clocks, temperature, throttling). */
  virtual DeviceStatus status() { return {}; }
  /** The harness marks when the device is busy; only the model meter uses it. */
  virtual void setBusy(bool /*busy*/) {}
  /** A child process that runs the measured work (a child executor): the model meter counts its CPU time beside
      this process's own. */
  virtual void addProcess(int /*pid*/) {}
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

/** Ends an energy window on a counter step while the device stays busy: runs `oneCall()` (one kernel call,
    synchronised) and polls the meter after each, until the counter steps; returns the reading at that step and adds
    the calls made to `calls`. `callS` is the time of one call (it bounds the poll gap). Where calls are too long to
    time a step by polling, it falls back to readAtUpdate() after them. Meters without steps return at once. */
EnergyReading finishWindowOnUpdate(Meter& meter, const std::function<void()>& oneCall, int64_t& calls, double callS);

std::vector<MeterAvailability> listMeters();
/** Opens "nvml:N", "rapl" or "model" for `deviceId`; throws MeterError with a code when it cannot. */
std::unique_ptr<Meter> openMeter(const std::string& id, const std::string& deviceId, const PowerModel* overrideModel);
/** The model coefficients etok would use for a device (its table entry, or a generic one, stated). */
PowerModel defaultPowerModel(const std::string& deviceId, const std::string& deviceName);

std::unique_ptr<Meter> openModelMeter(const PowerModel& model);
/** NVML board `index`. Method: the energy counter when supported, else instant-power sampling on a background
    thread (ETOK_NVML_METHOD=sampling forces sampling; ETOK_NVML_SAMPLE_MS sets its period, default 10). */
std::unique_ptr<Meter> openNvmlMeter(unsigned index);
std::unique_ptr<Meter> openRaplMeter();
MeterAvailability nvmlAvailability();
MeterAvailability raplAvailability();

}  // namespace etok::meters
