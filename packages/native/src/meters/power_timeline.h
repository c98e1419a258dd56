// A power timeline: a thread that samples a meter every `periodMs` and keeps (t, W, J) on the steady_clock
// (CLOCK_MONOTONIC) timeline of the energy windows, for reports (power over time) and for the counter-vs-power
// cross-check. Watts come from the meter's instant source when it has one (NVML), else from the energy
// difference between consecutive samples (RAPL, model).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "meters/meter.h"

namespace etok::meters {

struct TimelineSample {
  int64_t tNs = 0;
  double watts = NAN;   // NaN for the first energy-difference sample
  double joules = NAN;  // the meter's cumulative energy (NaN when the timeline samples instant power only)
};

/** Counter energy against integrated instant power over one window: which number is right, answered with data. */
struct CrossCheck {
  int64_t t0Ns = 0, t1Ns = 0;
  double counterJ = NAN;  // what the energy counter says for the window
  double sampledJ = NAN;  // trapezoid integral of the timeline's instant power over the same window
  int samples = 0;        // timeline samples inside the window
  /** (counter − sampled) / sampled; NaN when the timeline cannot cover the window. */
  double relativeGap() const { return samples >= 2 && sampledJ > 0 ? (counterJ - sampledJ) / sampledJ : NAN; }
};

class PowerTimeline {
 public:
  /** Starts sampling `meter` (which must outlive the timeline) every `periodMs` (≥ 1). */
  PowerTimeline(Meter& meter, double periodMs, size_t maxSamples = 1u << 20);
  ~PowerTimeline();
  PowerTimeline(const PowerTimeline&) = delete;
  PowerTimeline& operator=(const PowerTimeline&) = delete;

  /** Stops the thread and takes a last sample (idempotent); samples stay readable. */
  void stop();
  std::vector<TimelineSample> samples() const;
  /** "instant-power" (the meter's power source) or "energy-difference". */
  const std::string& source() const { return source_; }
  double periodMs() const { return periodMs_; }
  /** The error that stopped sampling early ("CODE: message"), empty when none. */
  std::string error() const;
  /** Trapezoid integral of the sampled power over [t0Ns, t1Ns] (interpolated at the ends); NaN when the samples
      do not cover the window. `count` receives the number of samples strictly inside. */
  double integrateJoules(int64_t t0Ns, int64_t t1Ns, int* count = nullptr) const;
  CrossCheck crossCheck(int64_t t0Ns, int64_t t1Ns, double counterJ) const;

 private:
  void loop();
  TimelineSample take();

  Meter& meter_;
  double periodMs_;
  size_t maxSamples_;
  std::string source_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::vector<TimelineSample> samples_;
  std::string error_;
  EnergyReading lastEnergy_;
  bool haveEnergy_ = false;
  std::thread thread_;
};

}  // namespace etok::meters
