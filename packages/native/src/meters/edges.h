// Update edges of stepped energy counters (NVML's total-energy counter, RAPL's energy_uj). A counter that moves
// every P ms says nothing about the energy between its steps, so a window read at arbitrary instants is off by up
// to one step at each end. Polling until the value changes pins a reading to the step itself: the step happened
// between the last poll that saw the old value and the first that saw the new one, and we timestamp it at the
// midpoint, so the error is half the polling interval instead of a whole update period.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "meters/meter.h"

namespace etok::meters {

/** One poll of a raw counter: its value and the midpoint of the call on steady_clock. */
struct RawSample {
  int64_t tNs = 0;
  double value = 0;
};

struct PeriodEstimate {
  double medianMs = 0, minMs = 0, maxMs = 0;
  int intervals = 0;
  int64_t lastEdgeNs = 0;
  RawSample last;  // the poll that saw the last edge
};

inline void sleepNs(int64_t ns) {
  if (ns > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
}

/** Polls `sample` every `spacingNs` until it has seen `edges - 1` intervals between well-timed steps (a step seen
    after a delayed poll is not timed, and the intervals on both sides of it are dropped), or throws METER_STALLED
    after `timeoutNs` without a single interval. */
inline PeriodEstimate measureUpdatePeriod(const std::function<RawSample()>& sample, const std::string& meterId,
                                          int edges, int64_t timeoutNs, int64_t spacingNs) {
  PeriodEstimate est;
  RawSample prev = sample();
  const int64_t deadline = prev.tNs + timeoutNs;
  const int64_t maxGapNs = 4 * spacingNs + 1000000;
  std::vector<double> intervalsMs;
  int64_t lastTimedEdge = -1;  // -1: the previous step was not timed (or none yet)
  int steps = 0;
  while (static_cast<int>(intervalsMs.size()) < edges - 1) {
    sleepNs(spacingNs);
    const RawSample s = sample();
    if (s.value != prev.value) {
      steps++;
      const bool timed = s.tNs - prev.tNs <= maxGapNs;
      const int64_t edge = (prev.tNs + s.tNs) / 2;
      if (timed && lastTimedEdge >= 0) intervalsMs.push_back(static_cast<double>(edge - lastTimedEdge) * 1e-6);
      lastTimedEdge = timed ? edge : -1;
      if (timed) {
        est.lastEdgeNs = edge;
        est.last = s;
      }
    }
    prev = s;
    if (s.tNs > deadline) break;
  }
  if (intervalsMs.empty())
    throw MeterError("METER_STALLED", meterId + ": the energy counter stepped " + std::to_string(steps) + " time(s) in " +
                                          std::to_string(timeoutNs / 1000000) +
                                          " ms without two well-timed steps in a row; cannot measure its update "
                                          "period (is the device powered? is the machine overloaded?)");
  std::vector<double> sorted = intervalsMs;
  std::sort(sorted.begin(), sorted.end());
  est.medianMs = sorted[sorted.size() / 2];
  if (sorted.size() % 2 == 0) est.medianMs = 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
  est.minMs = sorted.front();
  est.maxMs = sorted.back();
  est.intervals = static_cast<int>(intervalsMs.size());
  if (est.last.tNs == 0) est.last = prev;
  return est;
}

/** Edge state of one counter: the last poll and the last known edge. The owning meter serialises access. */
class EdgeClock {
 public:
  void reset(const PeriodEstimate& est) {
    periodNs_ = static_cast<int64_t>(est.medianMs * 1e6);
    lastEdgeNs_ = est.lastEdgeNs;
    last_ = est.last;
    primed_ = true;
  }
  int64_t periodNs() const { return periodNs_; }
  bool primed() const { return primed_; }
  const RawSample& last() const { return last_; }

  /** Records a poll; returns true when the value moved since the previous one (then `edgeNs` is set). */
  bool feed(const RawSample& s, int64_t* edgeNs) {
    const bool changed = primed_ && s.value != last_.value;
    if (changed) {
      lastEdgeNs_ = (last_.tNs + s.tNs) / 2;
      if (edgeNs) *edgeNs = lastEdgeNs_;
    }
    last_ = s;
    primed_ = true;
    return changed;
  }

  /** Polling interval near an edge: fine enough that the midpoint error is ≪ the period. */
  int64_t spacingNs() const { return std::clamp<int64_t>(periodNs_ / 500, 20000, 500000); }

  /** How long one may sleep before the next predicted edge without risking to miss it. */
  int64_t sleepBeforeNextEdgeNs(int64_t nowNs) const {
    if (periodNs_ <= 0 || lastEdgeNs_ <= 0) return 0;
    const int64_t since = nowNs - lastEdgeNs_;
    if (since < 0) return 0;
    const int64_t next = lastEdgeNs_ + (since / periodNs_ + 1) * periodNs_;
    // Wake early by a quarter period (jitter of real counters and of sleep) plus 2% of the time since the last
    // seen edge (error of the measured period); a wrong guess only costs one more period of polling.
    const int64_t guard = std::max<int64_t>(2000000, periodNs_ / 4) + since / 50;
    return std::max<int64_t>(0, next - guard - nowNs);
  }

  /** Blocks until the next edge and returns the poll right after it, with its time replaced by the edge time.
      A change first seen after a long sleep cannot be timed, so it is skipped and the next edge is used. */
  RawSample waitForEdge(const std::function<RawSample()>& sample, const std::string& meterId) {
    if (!primed_) feed(sample(), nullptr);
    const int64_t timeoutNs = std::max<int64_t>(2000000000, 20 * periodNs_);
    const int64_t start = nowNs();
    const int64_t spacing = spacingNs();
    int untimed = 0;  // steps seen too late to time (late wake-up, descheduled poll)
    auto stalled = [&] {
      return MeterError("METER_STALLED",
                        meterId + ": no counter step could be timed in " +
                            std::to_string((nowNs() - start) / 1000000) + " ms (period " +
                            std::to_string(periodNs_ / 1000000) + " ms; " + std::to_string(untimed) +
                            " step(s) seen too late to time: is the machine overloaded?)");
    };
    while (true) {
      const int64_t nap = sleepBeforeNextEdgeNs(nowNs());
      // The first poll after a nap re-bases: if the value moved during the nap, the edge time is unknown.
      if (nap > 0) {
        sleepNs(nap);
        if (feed(sample(), nullptr)) untimed++;
      }
      while (true) {
        sleepNs(spacing);
        RawSample s = sample();
        int64_t edge = 0;
        const int64_t gap = s.tNs - last_.tNs;
        if (feed(s, &edge)) {
          if (gap <= 4 * spacing + 1000000) {
            s.tNs = edge;
            return s;
          }
          untimed++;
          break;  // the poll was delayed (descheduled): time the next edge instead
        }
        if (nowNs() - start > timeoutNs) throw stalled();
      }
      if (nowNs() - start > timeoutNs) throw stalled();
    }
  }

 private:
  int64_t periodNs_ = 0;
  int64_t lastEdgeNs_ = 0;
  RawSample last_;
  bool primed_ = false;
};

}  // namespace etok::meters
