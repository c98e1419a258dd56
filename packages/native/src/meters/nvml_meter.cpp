// `nvml:N`: GPU board energy through libnvidia-ml (see nvml_library.h for loading). The meter chooses one of two
// methods (nvml_methods.h) and reads through it: the board's energy counter (nvml_energy_counter.cpp) where it is
// supported, else instant power integrated on a background thread (nvml_power_sampling.cpp); describe().method says
// which, describe().note says from what. What both share (calls, the power source, status) is the board,
// nvml_board.h.
// No error becomes a zero: every failing call throws MeterError(NVML_<name>), including one seen by the sampler,
// and faults that return success with a wrong value (a counter going backwards, 0 W) throw their own codes.
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

#include "meters/meter.h"
#include "meters/nvml_board.h"
#include "meters/nvml_library.h"
#include "meters/nvml_methods.h"

namespace etok::meters {

namespace {

using namespace etok::nvml;

std::string envString(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

class NvmlMeter final : public Meter {
 public:
  NvmlMeter(unsigned index, std::shared_ptr<Session> session, nvmlDevice_t device)
      : board_(index, std::move(session), device) {}

  /** Decides the method and starts it; throws when the board gives neither energy nor power. */
  void start() {
    const std::string method = envString("ETOK_NVML_METHOD", "auto");
    if (method != "auto" && method != "counter" && method != "sampling")
      throw MeterError("BAD_USAGE", "ETOK_NVML_METHOD must be auto, counter or sampling, not '" + method + "'");
    board_.probePowerSource();
    std::string counterReason;
    if (method != "sampling") {
      const Library& lib = Library::get();
      if (!lib.api().deviceGetTotalEnergyConsumption) {
        counterReason = "nvmlDeviceGetTotalEnergyConsumption is missing from " + lib.path();
      } else {
        unsigned long long mj = 0;
        const nvmlReturn_t r = board_.call(lib.api().deviceGetTotalEnergyConsumption, board_.device(), &mj);
        if (r == NVML_SUCCESS) {
          method_ = startEnergyCounter(board_);
          return;
        }
        if (r != NVML_ERROR_NOT_SUPPORTED) throw callError("nvmlDeviceGetTotalEnergyConsumption", r, board_.id());
        counterReason = "nvmlDeviceGetTotalEnergyConsumption returned NVML_NOT_SUPPORTED";
      }
      if (method == "counter")
        throw MeterError("NVML_NOT_SUPPORTED", board_.id() + ": ETOK_NVML_METHOD=counter but " + counterReason);
    } else {
      counterReason = "ETOK_NVML_METHOD=sampling";
    }
    method_ = startPowerSampling(board_, counterReason);
  }

  MeterDescription describe() const override { return method_->description(); }
  EnergyReading read() override { return method_->read(); }
  EnergyReading readAtUpdate() override { return method_->readAtUpdate(); }
  bool pollUpdate(EnergyReading& out, int64_t maxGapNs) override { return method_->pollUpdate(out, maxGapNs); }

  bool readPower(PowerReading& out) override {
    if (board_.powerSource() == PowerSource::None) return false;
    out = board_.powerSample();
    return true;
  }

  DeviceStatus status() override { return board_.status(); }

 private:
  NvmlBoard board_;
  std::unique_ptr<EnergyMethod> method_;  // declared after the board it reads, so it stops first
};

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
