// The engine's rules, on executors already prepared: idle baseline → per executor: warm-up, cold samples, hot
// samples → energy windows interleaved across executors in a fresh random order each round, until every J/call
// interval is tight or the budget ends. measureGroup (harness.cpp) prepares etok's kernels, plugins and child
// executors and hands them here; `etok profile` hands replayed kernels of a running program. This file needs no
// kernel library, so the profiler's injection library links it without etok's kernels.
// Rules borrowed and why: nvbench's noise-driven stop (0.5% after a minimum time, capped), Zeus's warm-up and
// repeated windows, Yang et al. (SC'24) on NVML: windows span many counter updates and start at shifted phases.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>
#include <random>
#include <thread>

#include "etok/kernels/errors.h"
#include "harness/energy_window.h"
#include "harness/engine_detail.h"
#include "harness/harness.h"
#include "meters/power_timeline.h"
#include "plugins/plugin.h"

namespace etok::harness {

using detail::attempt;
using detail::Subject;

namespace {

using meters::nowNs;

double secondsSince(int64_t t0) { return static_cast<double>(nowNs() - t0) * 1e-9; }

/** Relative half-width of the 95% interval of the mean (normal approximation; the analysis bootstraps). */
double relativeHalfWidth(const std::vector<double>& xs) {
  if (xs.size() < 2) return INFINITY;
  const double m = std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
  double s = 0;
  for (double x : xs) s += (x - m) * (x - m);
  const double se = std::sqrt(s / static_cast<double>(xs.size() - 1) / static_cast<double>(xs.size()));
  return m != 0 ? 1.96 * se / std::fabs(m) : INFINITY;
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs.empty() ? 0.0 : xs[xs.size() / 2];
}

/** Evicts the CPU caches by streaming through a buffer larger than any last-level cache (cold samples). The
    caches are shared, so this serves executors in child processes too. */
class CacheFlusher {
 public:
  CacheFlusher() : buffer_(64u << 20, 1) {}
  void flush() {
    volatile unsigned char sink = 0;
    for (size_t i = 0; i < buffer_.size(); i += 64) {
      buffer_[i] = static_cast<unsigned char>(buffer_[i] + 1);
      sink = static_cast<unsigned char>(sink + buffer_[i]);
    }
    (void)sink;
  }

 private:
  std::vector<unsigned char> buffer_;
};

/** Calls per request to a child executor: enough to make its round trip small against the calls (about 20 ms of
    them), few enough that the stopping rules still look often. In-process executors take one call at a time. */
int chunkFor(const Executor& e, double callS) {
  if (e.inProcess() || callS <= 0) return 1;
  return static_cast<int>(std::clamp(0.02 / callS, 1.0, 256.0));
}

/** Warm-up, cold samples, then hot synchronised samples until the mean is known to noiseTarget, the noise stops
    improving (a plateau: no 10% gain over the last third of the elapsed time), or maxTimeS passes. */
void timeCalls(Subject& s, CacheFlusher& flusher, const std::atomic<bool>& cancel,
               const std::function<void(double)>& report) {
  const MeasurePlan& plan = *s.plan;
  Executor& e = *s.executor;
  const int64_t warm0 = nowNs();
  double lastCallS = 0;
  for (int64_t calls = 0; (secondsSince(warm0) < plan.warmupS || calls < 2) && !cancel.load();) {
    const auto samples = e.timedCalls(chunkFor(e, lastCallS), false);
    // A measurement needs tens of calls; one that alone outlasts the timing limit would run for hours.
    if (calls == 0 && samples.front() > plan.maxTimeS)
      throw CodedError("CALL_TOO_SLOW", "one call took " + std::to_string(samples.front()) +
                                            " s, more than the timing limit of " + std::to_string(plan.maxTimeS) +
                                            " s; a measurement needs tens of calls: lower --ctx, --batch or --q-len");
    calls += static_cast<int64_t>(samples.size());
    lastCallS = median(samples);
  }
  const bool cpu = plan.device == "cpu";
  for (int i = 0; i < plan.coldSamples && !cancel.load(); i++) {
    if (cpu) flusher.flush();
    const auto cold = e.timedCalls(1, !cpu);  // a device executor evicts its own caches, outside the call's time
    s.result.coldSamplesS.push_back(cold.front());
  }
  const int64_t timing0 = nowNs();
  double bestNoise = INFINITY, bestNoiseAtS = 0;
  s.result.timingStopReason = "time-limit";
  while (!cancel.load()) {
    for (double x : e.timedCalls(chunkFor(e, lastCallS), false)) s.result.samplesS.push_back(x);
    const double elapsed = secondsSince(timing0);
    report(elapsed / plan.maxTimeS);
    if (elapsed >= plan.maxTimeS) break;
    if (s.result.samplesS.size() < 10 || elapsed < plan.minTimeS) continue;
    const double noise = relativeHalfWidth(s.result.samplesS);
    if (noise < plan.noiseTarget) {
      s.result.timingStopReason = "noise-target";
      break;
    }
    if (noise < 0.9 * bestNoise) {
      bestNoise = noise;
      bestNoiseAtS = elapsed;
    } else if (elapsed > 1.5 * bestNoiseAtS && elapsed >= 2 * plan.minTimeS) {
      s.result.timingStopReason = "plateau";
      break;
    }
  }
}

}  // namespace

namespace detail {

/** What a failure of one configuration says; rethrows what is not a configuration's own failure (a meter fault,
    an out-of-range request, a bug). */
Failure failureOf(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const meters::MeterError&) {
    throw;  // the board or counter failed: the whole group stops
  } catch (const CodedError& e) {
    return {e.code(), e.what(), e.detail()};
  } catch (const std::bad_alloc&) {
    return {"OUT_OF_MEMORY", "out of host memory while preparing the measurement", ""};
  }
}

bool isCancel(const Failure& f) { return f.code == "CANCELLED"; }

/** Whether a member's J/call interval can still reach the target in the group's remaining budget. An interval
    narrows as 1/√windows, so reaching the target from `noise` takes windows·(noise/target)² in all; the rounds left
    are the remaining budget over one round of every member still at work. A member needing more than four times
    the windows it can get is not going to make it. */
bool reachable(const Subject& s, double noise, const std::vector<Subject>& all, double elapsedS, double budgetS,
               const MeasurePlan& lead) {
  if (!std::isfinite(noise)) return true;
  double roundS = 0;
  for (const auto& o : all)
    if (o.active() && !o.energyDone && !o.result.windows.empty()) {
      const auto& w = o.result.windows.back();
      roundS += static_cast<double>(w.t1Ns - w.t0Ns) * 1e-9;
    }
  if (roundS <= 0) return true;
  const double roundsLeft = std::max(0.0, budgetS - elapsedS) / roundS;
  const double windows = static_cast<double>(s.result.windows.size());
  const double needed = windows * (noise / lead.energyCiTarget) * (noise / lead.energyCiTarget) - windows;
  return needed <= 4.0 * roundsLeft;
}

/** Runs one step of a subject; its own failure ends it alone (recorded, its executor released) and the rest of the
    group goes on. A cancellation is not a failure: the engine stops at its next check. */
void attempt(Subject& s, const std::function<void()>& step) {
  if (!s.active()) return;
  try {
    step();
  } catch (...) {
    Failure f = failureOf(std::current_exception());
    if (isCancel(f)) return;
    s.result.failure = f;
    s.executor.reset();  // its process, device memory and files go now
  }
}

}  // namespace detail

double windowTargetSeconds(const MeasurePlan& plan, double updatePeriodMs) {
  return std::max(plan.minWindowS, plan.minWindowUpdates * updatePeriodMs * 1e-3);
}

std::vector<MeasureResult> measurePrepared(std::vector<Prepared> members, meters::Meter& meterRef,
                                           const MeasurePlan& lead, const ProgressFn& progress,
                                           const std::atomic<bool>& cancel) {
  meters::Meter* meter = &meterRef;
  const meters::MeterDescription description = meter->describe();
  const double n = static_cast<double>(members.size());
  double callS = NAN;  // the executor at work: its median call so far (how long a stop may have to wait)
  auto report = [&](const char* stage, double fraction) {
    if (progress) progress({stage, std::clamp(fraction, 0.0, 1.0), callS});
  };
  std::vector<Subject> subjects(members.size());
  for (size_t i = 0; i < members.size(); i++) {
    Subject& s = subjects[i];
    s.plan = &lead;
    s.executor = std::move(members[i].executor);
    s.result = std::move(members[i].result);
    s.result.meter = description;
    if (s.executor) {
      s.result.executor = s.executor->info();
      s.result.kernelPath = s.result.executor.description;
      for (int pid : s.executor->processIds()) meter->addProcess(pid);
    }
  }

  // Idle baseline: the device doing nothing, before any load warms it.
  double idleW = 0;
  if (lead.idleS > 0 && !cancel.load()) {
    report("idle", 0.05);
    const auto a = meter->readAtUpdate();  // on a counter step: no lag at either end
    while (secondsSince(a.tNs) < lead.idleS && !cancel.load())
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const auto b = meter->readAtUpdate();
    const double dt = static_cast<double>(b.tNs - a.tNs) * 1e-9;
    idleW = dt > 0 ? (b.joules - a.joules) / dt : 0;
  }

  CacheFlusher flusher;
  for (size_t i = 0; i < subjects.size() && !cancel.load(); i++) {
    // Said before the first call is timed, so a watcher of progress knows calls are running from here on.
    report("timing", 0.05 + 0.35 * static_cast<double>(i) / n);
    attempt(subjects[i], [&] {
      timeCalls(subjects[i], flusher, cancel, [&](double f) {
        if (!subjects[i].result.samplesS.empty()) callS = subjects[i].result.samplesS.back();
        report("timing", 0.05 + 0.35 * (static_cast<double>(i) + std::min(1.0, f)) / n);
      });
    });
  }

  // Energy: windows of back-to-back calls spanning ≥ minWindowUpdates meter updates and ≥ minWindowS.
  const double windowS = windowTargetSeconds(lead, description.updatePeriodMs);
  for (auto& s : subjects) {
    s.result.windowTargetS = windowS;
    if (!s.active() || cancel.load() || !s.executor->inProcess()) continue;
    // Calibrate calls per window on back-to-back calls (synchronised samples include per-call overhead that
    // back-to-back calls do not pay), then pad 10% so windows do not fall short of the target.
    attempt(s, [&] {
      const double m = median(s.result.samplesS);
      const int64_t probe = m > 0 ? std::max<int64_t>(1, static_cast<int64_t>(windowS / 4 / m)) : 1;
      const CallSpan span =
          s.executor->runWhile([&](double calls) { return calls < static_cast<double>(probe) && !cancel.load(); }, 0);
      const double perCall = span.calls > 0 ? static_cast<double>(span.t1Ns - span.t0Ns) * 1e-9 / span.calls : m;
      s.callsPerWindow = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(1.1 * windowS / std::max(perCall, 1e-9))));
    });
  }
  std::mt19937_64 rng(lead.seed ^ 0x9e3779b97f4a7c15ull);
  std::uniform_real_distribution<double> phase(0.0, std::max(1.0, description.updatePeriodMs));
  const double budgetS = lead.energyBudgetS * n;
  // Cross-check: beside an energy counter, integrate the meter's instant power over the same windows, so each
  // result says how far the two disagree. Only where the meter has an instant source. Without one the timeline
  // still records power (from energy differences) for reports, and the windows carry no cross-check.
  std::unique_ptr<meters::PowerTimeline> timeline;
  std::optional<Failure> groupFault;
  bool crossCheck = false;
  try {
    meters::PowerReading probePower;
    const bool instant = meter->readPower(probePower);
    if (lead.crossCheckPeriodMs > 0)
      timeline = std::make_unique<meters::PowerTimeline>(
          *meter, std::max(lead.crossCheckPeriodMs, instant ? 0.0 : description.updatePeriodMs), 200000);
    crossCheck = timeline && instant && description.method == "energy-counter";
  } catch (const meters::MeterError& e) {
    groupFault = Failure{e.code(), e.what(), ""};
  }
  const int64_t energy0 = nowNs();
  // Progress moves with every window, not only with every round.
  auto reportEnergy = [&] {
    double doneShare = 0;
    for (const auto& s : subjects)
      doneShare += s.energyDone || !s.active()
                       ? 1.0
                       : std::min(1.0, static_cast<double>(s.result.windows.size()) / lead.maxTrials);
    report("energy", 0.4 + 0.6 * std::max(doneShare / n, secondsSince(energy0) / budgetS));
  };
  std::vector<size_t> order(subjects.size());
  std::iota(order.begin(), order.end(), 0);
  while (!cancel.load() && !groupFault) {
    std::shuffle(order.begin(), order.end(), rng);
    bool any = false;
    for (size_t idx : order) {
      Subject& s = subjects[idx];
      if (s.energyDone || !s.active() || cancel.load() || groupFault) continue;
      any = true;
      callS = median(s.result.samplesS);
      // Shift each window's start against the meter's update clock so periodic sampling cannot alias.
      std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(phase(rng) * 1000)));
      try {
        const meters::DeviceStatus before = meter->status();
        meter->setBusy(true);
        Window w;
        attempt(s, [&] {
          w = measureWindow(*s.executor, *meter, {windowS, s.callsPerWindow, median(s.result.samplesS)}, cancel);
        });
        meter->setBusy(false);
        if (!s.active() || w.calls <= 0) continue;
        const meters::DeviceStatus after = meter->status();
        w.throttled = before.throttled || after.throttled;
        w.temperatureC = {before.temperatureC, after.temperatureC};
        w.smClockMHz = {before.smClockMHz, after.smClockMHz};
        for (const auto* st : {&before, &after})
          for (const auto& reason : st->clockEvents)
            if (std::find(w.clockEvents.begin(), w.clockEvents.end(), reason) == w.clockEvents.end())
              w.clockEvents.push_back(reason);
        s.result.windows.push_back(w);
        // Keep later windows at the target when calls turn out slower than the probe measured (load, throttling).
        const double windowSeconds = static_cast<double>(w.t1Ns - w.t0Ns) * 1e-9;
        if (windowSeconds > 0 && windowSeconds < windowS)
          s.callsPerWindow = static_cast<int64_t>(
              std::ceil(static_cast<double>(s.callsPerWindow) * 1.1 * windowS / windowSeconds));
        s.joulesPerCall.push_back(w.joules / w.calls);
      } catch (const meters::MeterError& e) {
        // The board or counter failed: no later window can be trusted, every finished one is kept.
        meter->setBusy(false);
        groupFault = Failure{e.code(), e.what(), ""};
        break;
      }
      const int trials = static_cast<int>(s.result.windows.size());
      const double noise = relativeHalfWidth(s.joulesPerCall);
      if (trials >= lead.minTrials && noise <= lead.energyCiTarget) {
        s.result.stopReason = "ci-target";
        s.energyDone = true;
      } else if (trials >= lead.maxTrials) {
        s.result.stopReason = "max-trials";
        s.energyDone = true;
      } else if (trials >= lead.minTrials && !reachable(s, noise, subjects, secondsSince(energy0), budgetS, lead)) {
        // Its interval would need many more windows than the budget can give it: its time goes to those that can
        // still reach the target, and its interval says how precise it is.
        s.result.stopReason = "precision-limit";
        s.energyDone = true;
      }
      reportEnergy();
    }
    const double elapsed = secondsSince(energy0);
    reportEnergy();
    if (!any) break;
    bool everyoneHasTwo = true;
    for (const auto& s : subjects)
      everyoneHasTwo = everyoneHasTwo && (s.energyDone || !s.active() || s.result.windows.size() >= 2);
    if (elapsed >= budgetS && everyoneHasTwo) {
      for (auto& s : subjects)
        if (!s.energyDone) s.result.stopReason = "time-budget";
      break;
    }
  }

  if (timeline) {
    timeline->stop();  // its last sample now covers the last window's end
    if (crossCheck)
      for (auto& s : subjects)
        for (auto& w : s.result.windows) w.sampledJ = timeline->integrateJoules(w.t0Ns, w.t1Ns);
  }
  std::vector<MeasureResult> results;
  for (auto& s : subjects) {
    if (crossCheck) {
      s.result.crossCheckSource = timeline->source();
      if (!timeline->error().empty()) s.result.crossCheckError = timeline->error();
    }
    s.result.idleW = idleW;
    s.result.meter.idleW = idleW;
    if (groupFault) {
      s.result.groupFault = groupFault;
      if (s.result.stopReason.empty()) s.result.stopReason = "meter-fault";
    }
    if (cancel.load()) {
      s.result.cancelled = true;
      if (s.result.stopReason.empty()) s.result.stopReason = "cancelled";
    }
    results.push_back(std::move(s.result));
  }
  if (timeline && !results.empty()) {
    for (const auto& t : timeline->samples())
      if (!std::isnan(t.watts)) results.front().timeline.push_back({t.tNs, t.watts});
  }
  return results;
}

}  // namespace etok::harness
