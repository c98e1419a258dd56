// The two ways an NVML meter turns a board into joules, behind one face so the meter (nvml_meter.cpp) only chooses:
// the board's energy counter (nvml_energy_counter.cpp) or instant power integrated on a background thread
// (nvml_power_sampling.cpp).
#pragma once

#include <memory>
#include <string>

#include "meters/meter.h"
#include "meters/nvml_board.h"

namespace etok::meters {

/** Cumulative board energy by one method; each serialises its own state. See Meter for the reading contract. */
class EnergyMethod {
 public:
  virtual ~EnergyMethod() = default;
  /** Fixed once the method has started. */
  virtual const MeterDescription& description() const = 0;
  virtual EnergyReading read() = 0;
  virtual EnergyReading readAtUpdate() = 0;
  virtual bool pollUpdate(EnergyReading& out, int64_t maxGapNs) = 0;
};

/** nvmlDeviceGetTotalEnergyConsumption, its update period measured at start. The board must outlive the method. */
std::unique_ptr<EnergyMethod> startEnergyCounter(const NvmlBoard& board);

/** Instant power integrated by the trapezoid rule every ETOK_NVML_SAMPLE_MS (default 10); `counterReason` says why
    the counter is not used. Throws NVML_NOT_SUPPORTED when the board has no power source either. */
std::unique_ptr<EnergyMethod> startPowerSampling(const NvmlBoard& board, const std::string& counterReason);

}  // namespace etok::meters
