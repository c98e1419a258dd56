// Update edges of stepped energy counters (NVML's total-energy counter, RAPL's energy_uj). A counter that moves
// every P ms says nothing about the energy between its steps, so a window read at arbitrary instants is off by up
// to one step at each end. Polling until the value changes pins a reading to the step itself: the step happened
// between the last poll that saw the old value and the first that saw the new one, and we timestamp it at the
// midpoint, so the error is half the polling interval instead of a whole update period.
//
// A step counts as timed when the poll that saw it followed the previous poll closely. "Closely" must allow for
// the read itself: nvmlDeviceGetTotalEnergyConsumption took over a millisecond on a real H100 in a VM
// (2026-11-26), and a fixed 1.2 ms bound rejected every step there. So the bound is three typical poll gaps
// (the read's own cost included), never under 4 polling intervals + 1 ms; the edge error is half a gap.
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
  double pollGapMs = 0;  // median time between two polls at open: the read's own cost plus the sleep
  int64_t readNs = 0;    // the read's own cost: pollGap − the sleep between polls (≥ 0)
  int64_t lastEdgeNs = 0;
  RawSample last;  // the poll that saw the last edge
};

inline void sleepNs(int64_t ns) {
  if (ns > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
}

/** The longest gap between two polls that still times a step: 3 polls of `readNs` + `spacingNs` each, and never
    under 4 spacings + 1 ms (scheduler jitter on an idle machine). */
inline int64_t timedGapLimitNs(int64_t spacingNs, int64_t readNs) {
  return std::max<int64_t>(4 * spacingNs + 1000000, 3 * (spacingNs + readNs));
}

/** Polls `sample` every `spacingNs` until it has seen `edges - 1` intervals between well-timed steps (a step seen
    after a delayed poll is not timed, and the intervals on both sides of it are dropped), or throws METER_STALLED
    after `timeoutNs` without a single interval. The gaps between polls that saw no step measure what one read
    costs on this machine; the limit of a timed step follows it (timedGapLimitNs). */
inline PeriodEstimate measureUpdatePeriod(const std::function<RawSample()>& sample, const std::string& meterId,
                                          int edges, int64_t timeoutNs, int64_t spacingNs) {
  PeriodEstimate est;
  RawSample prev = sample();
  const int64_t deadline = prev.tNs + timeoutNs;
  std::vector<double> intervalsMs;
  std::vector<int64_t> quietGapsNs;  // gaps between polls that saw no step
  auto typicalGapNs = [&] {
    if (quietGapsNs.empty()) return spacingNs;
    std::vector<int64_t> g = quietGapsNs;
    std::nth_element(g.begin(), g.begin() + g.size() / 2, g.end());
    return g[g.size() / 2];
  };
  int64_t lastTimedEdge = -1;  // -1: the previous step was not timed (or none yet)
  int steps = 0;
  while (static_cast<int>(intervalsMs.size()) < edges - 1) {
    sleepNs(spacingNs);
    const RawSample s = sample();
    if (s.value == prev.value) {
      if (quietGapsNs.size() < 4096) quietGapsNs.push_back(s.tNs - prev.tNs);
    } else {
      steps++;
      const int64_t readNs = std::max<int64_t>(0, typicalGapNs() - spacingNs);
      const bool timed = s.tNs - prev.tNs <= timedGapLimitNs(spacingNs, readNs);
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
  const int64_t gapNs = typicalGapNs();
  if (intervalsMs.empty())
    throw MeterError("METER_STALLED", meterId + ": the energy counter stepped " + std::to_string(steps) +
                                          " time(s) in " + std::to_string(timeoutNs / 1000000) +
                                          " ms without two well-timed steps in a row (one read took about " +
                                          std::to_string(gapNs / 1000) +
                                          " us); cannot measure its update period (is the device powered? is the "
                                          "machine overloaded?)");
  est.pollGapMs = static_cast<double>(gapNs) * 1e-6;
  est.readNs = std::max<int64_t>(0, gapNs - spacingNs);
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
    readNs_ = est.readNs;
    lastEdgeNs_ = est.lastEdgeNs;
    last_ = est.last;
    primed_ = true;
  }
  int64_t periodNs() const { return periodNs_; }
  /** What one read of the counter costs here (measured at open). */
  int64_t readNs() const { return readNs_; }
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
      return MeterError("METER_STALLED", meterId + ": no counter step could be timed in " +
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
          if (gap <= timedGapLimitNs(spacing, readNs_)) {
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
  int64_t readNs_ = 0;
  int64_t lastEdgeNs_ = 0;
  RawSample last_;
  bool primed_ = false;
};

}  // namespace etok::meters
