// Method "energy-counter": nvmlDeviceGetTotalEnergyConsumption (mJ since driver load). Its real update period is
// measured at start by polling until it steps several times (H100-class boards step every ~20-100 ms), and
// readAtUpdate() pins readings to its steps so that windows span whole update intervals. A counter that goes
// backwards (a driver reset, a wrapped or corrupted counter) throws NVML_COUNTER_BACKWARDS instead of becoming a
// wrong window.
#include <algorithm>
#include <mutex>
#include <string>

#include "meters/edges.h"
#include "meters/nvml_methods.h"

namespace etok::meters {

namespace {

using namespace etok::nvml;

class EnergyCounter final : public EnergyMethod {
 public:
  explicit EnergyCounter(const NvmlBoard& board) : board_(board) {}

  void start() {
    const int edges = static_cast<int>(envNumber("ETOK_NVML_PERIOD_EDGES", 5));
    const PeriodEstimate est = measureUpdatePeriod([this] { return counterSample(); }, board_.id(), std::max(2, edges),
                                                   3000000000LL, 50000);
    std::lock_guard<std::mutex> lock(mu_);
    edges_.reset(est);
    baseMj_ = est.last.value;
    description_.id = board_.id();
    description_.kind = "nvml";
    description_.measured = true;
    description_.method = "energy-counter";
    description_.boundary = "board";
    description_.updatePeriodMs = est.medianMs;
    description_.source = "nvmlDeviceGetTotalEnergyConsumption";
    description_.note = "nvmlDeviceGetTotalEnergyConsumption (mJ), whole GPU board; the counter steps every " +
                        formatSignificant(est.medianMs) + " ms (median of " + std::to_string(est.intervals) +
                        " steps measured at open, range " + formatSignificant(est.minMs) + "-" +
                        formatSignificant(est.maxMs) + " ms); one read takes about " +
                        formatSignificant(static_cast<double>(est.readNs) * 1e-3) +
                        " us here, so window edges are timed to about ±" + formatSignificant(est.pollGapMs / 2) + " ms";
  }

  const MeterDescription& description() const override { return description_; }

  EnergyReading read() override {
    std::lock_guard<std::mutex> lock(mu_);
    const RawSample s = counterSample();
    edges_.feed(s, nullptr);
    return {s.tNs, joulesOf(s)};
  }

  EnergyReading readAtUpdate() override {
    std::lock_guard<std::mutex> lock(mu_);
    const RawSample s = edges_.waitForEdge([this] { return counterSample(); }, board_.id());
    return {s.tNs, joulesOf(s)};
  }

  bool pollUpdate(EnergyReading& out, int64_t maxGapNs) override {
    std::lock_guard<std::mutex> lock(mu_);
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

 private:
  double joulesOf(const RawSample& s) const { return (s.value - baseMj_) * 1e-3; }

  RawSample counterSample() {
    unsigned long long mj = 0;
    const int64_t t0 = nowNs();
    const nvmlReturn_t r = board_.call(Library::get().api().deviceGetTotalEnergyConsumption, board_.device(), &mj);
    const int64_t t1 = nowNs();
    if (r != NVML_SUCCESS) throw callError("nvmlDeviceGetTotalEnergyConsumption", r, board_.id());
    // The counter is monotonic (mJ since the driver loaded): a smaller value means it was reset or is corrupt, and
    // any window across the drop would be wrong by an unknown amount.
    if (haveLastMj_ && mj < lastMj_)
      throw MeterError("NVML_COUNTER_BACKWARDS",
                       board_.id() + ": nvmlDeviceGetTotalEnergyConsumption went backwards from " +
                           std::to_string(lastMj_) + " to " + std::to_string(mj) +
                           " mJ (driver reloaded or counter reset?); the energy of this window is unknown");
    lastMj_ = mj;
    haveLastMj_ = true;
    return {t0 + (t1 - t0) / 2, static_cast<double>(mj)};
  }

  const NvmlBoard& board_;
  std::mutex mu_;
  MeterDescription description_;
  EdgeClock edges_;
  double baseMj_ = 0;
  unsigned long long lastMj_ = 0;  // the last counter value read, to catch a counter going backwards
  bool haveLastMj_ = false;
};

}  // namespace

std::unique_ptr<EnergyMethod> startEnergyCounter(const NvmlBoard& board) {
  auto counter = std::make_unique<EnergyCounter>(board);
  counter->start();
  return counter;
}

}  // namespace etok::meters
