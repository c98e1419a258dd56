#include "harness/energy_window.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

namespace etok::harness {

namespace {

using meters::nowNs;

double secondsSince(int64_t t0) { return static_cast<double>(nowNs() - t0) * 1e-9; }

/** How long the engine keeps polling for a counter step at a window's end before it gives up: three update periods
    (a step is then certainly missed, e.g. by calls longer than the period) or 1 s. */
int64_t edgeDeadlineNs(const meters::MeterDescription& d) {
  return std::max<int64_t>(static_cast<int64_t>(3 * d.updatePeriodMs * 1e6), 1000000000);
}

Window inProcessWindow(Executor& executor, meters::Meter& meter, const WindowRequest& request,
                       const std::atomic<bool>& cancel) {
  const meters::EnergyReading e0 = meter.readAtUpdate();  // the window starts on a counter step
  // The calibrated calls, then more until the window is long enough whatever the calibration said (load, clocks
  // and caches change).
  const CallSpan main = executor.runWhile(
      [&](double calls) {
        return !cancel.load() &&
               (calls < static_cast<double>(request.callsPerWindow) || secondsSince(e0.tNs) < request.windowS);
      },
      0);
  Window w;
  if (main.calls == 0) return w;
  double calls = main.calls;
  // ...and ends on a step, with the device kept busy by synchronised calls until the counter moves.
  meters::EnergyReading e1;
  const int64_t maxGapNs = static_cast<int64_t>(1.5 * request.callS * 1e9) + 1000000;
  bool edge = meter.pollUpdate(e1, maxGapNs);
  if (!edge) {
    const int64_t deadline = nowNs() + edgeDeadlineNs(meter.describe());
    const CallSpan tail = executor.runSynchronisedWhile([&](double made) {
      if (made > 0 && meter.pollUpdate(e1, maxGapNs)) {
        edge = true;
        return false;
      }
      return nowNs() < deadline;
    });
    calls += tail.calls;
    if (!edge) e1 = meter.readAtUpdate();
  }
  w.t0Ns = e0.tNs;
  w.t1Ns = e1.tNs;
  w.joules = e1.joules - e0.joules;
  w.calls = calls;
  return w;
}

Window childWindow(Executor& executor, meters::Meter& meter, const WindowRequest& request,
                   const std::atomic<bool>& cancel) {
  const meters::MeterDescription d = meter.describe();
  // Polls near an edge every ~period/500 (as EdgeClock does), between 20 us and 0.5 ms.
  const int64_t pollNs = std::clamp<int64_t>(static_cast<int64_t>(d.updatePeriodMs * 1e6 / 500), 20000, 500000);
  const meters::EnergyReading e0 = meter.readAtUpdate();
  meters::EnergyReading e1;
  bool edge = false, tail = false;
  int64_t deadline = 0;
  const CallSpan span = executor.runWhile(
      [&](double) {
        if (cancel.load()) return false;
        const int64_t now = nowNs();
        if (!tail) {
          const double left = request.windowS - static_cast<double>(now - e0.tNs) * 1e-9;
          if (left > 0) {
            // Nothing to watch before the window is long enough: sleep (polling would spend CPU that a modeled
            // CPU meter counts as the work's).
            std::this_thread::sleep_for(std::chrono::duration<double>(std::min(left, 0.05)));
            return true;
          }
          tail = true;
          deadline = now + edgeDeadlineNs(d);
        }
        if (meter.pollUpdate(e1, 0)) {
          edge = true;
          return false;
        }
        return now < deadline;
      },
      pollNs);
  if (!edge) e1 = meter.readAtUpdate();
  Window w;
  w.t0Ns = e0.tNs;
  w.t1Ns = e1.tNs;
  w.joules = e1.joules - e0.joules;
  // The child's calls ran over [t0, t1] (its first call's start, its final synchronisation); the share of them
  // inside the window follows from the rate. The span starts after e0 (the run is asked for after the reading).
  const double spanS = static_cast<double>(span.t1Ns - span.t0Ns) * 1e-9;
  const double insideS = static_cast<double>(std::min(e1.tNs, span.t1Ns) - std::max(e0.tNs, span.t0Ns)) * 1e-9;
  w.calls = span.calls > 0 && spanS > 0 ? span.calls * std::clamp(insideS / spanS, 0.0, 1.0) : 0.0;
  return w;
}

}  // namespace

Window measureWindow(Executor& executor, meters::Meter& meter, const WindowRequest& request,
                     const std::atomic<bool>& cancel) {
  return executor.inProcess() ? inProcessWindow(executor, meter, request, cancel)
                              : childWindow(executor, meter, request, cancel);
}

}  // namespace etok::harness
