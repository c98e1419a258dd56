// The measurement harness. For a group of plans on one device and meter:
//   quality (fp64 references, of the whole output or of an affordable part) → idle baseline → per plan:
//   warm-up, cold samples, hot samples → energy windows interleaved across plans in a fresh random order each
//   round, until every plan's J/call interval is tight or the budget ends.
// Rules borrowed and why: nvbench's noise-driven stop (0.5% after a minimum time, capped), Zeus's warm-up and
// repeated windows, Yang et al. (SC'24) on NVML: windows span many counter updates and start at shifted phases.
#include "harness/harness.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>
#include <random>
#include <thread>

#include "devices/devices.h"
#include "etok/kernels/attention.h"
#include "meters/edges.h"
#include "meters/power_timeline.h"
#include "plugins/plugin.h"

namespace etok::harness {

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

/** Evicts the CPU caches by streaming through a buffer larger than any last-level cache (cold samples). */
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

struct Subject {
  const MeasurePlan* plan;
  std::unique_ptr<kernels::PreparedAttention> kernel;
  MeasureResult result;
  std::vector<double> joulesPerCall;
  int64_t callsPerWindow = 1;
  bool energyDone = false;
};

std::unique_ptr<kernels::PreparedAttention> prepare(const MeasurePlan& plan, const kernels::HostTensors* inputs) {
  const int index = devices::parseDeviceId(plan.device);
  if (!plan.pluginPath.empty()) return plugins::Plugin::load(plan.pluginPath)->prepare(plan.problem, index, inputs);
  if (index < 0) return kernels::prepareCpu(plan.problem, *inputs, plan.threads);
  return kernels::prepareCuda(plan.problem, *inputs, index);
}

/** A plugin without a reference variant makes its own inputs and cannot be checked against a reference. */
bool takesInputs(const MeasurePlan& plan) {
  return plan.pluginPath.empty() || !plugins::Plugin::load(plan.pluginPath)->info().referenceVariant.empty();
}

/** Quality against the fp64 references: of the whole output when the references fit the budget, else of the
    largest part that does (kernels/sample.h), which the note names. */
void checkQuality(Subject& s, const kernels::HostTensors& inputs) {
  const MeasurePlan& plan = *s.plan;
  if (!plan.quality) return;
  s.kernel->poisonOutput();  // a kernel that writes nothing must not pass on stale or zeroed memory
  s.kernel->run();
  s.kernel->synchronize();
  const kernels::ProblemSample sample = kernels::chooseSample(plan.problem, plan.maxReferenceFlops);
  try {
    const kernels::Problem part = kernels::sampleProblem(plan.problem, sample);
    const kernels::HostTensors partInputs = kernels::sampleInputs(plan.problem, inputs, sample);
    const auto out = kernels::sampleOutput(plan.problem, s.kernel->output(), sample);
    s.result.relErrorVsExact = kernels::relativeL2(out, kernels::referenceExact(part, partInputs));
    s.result.relErrorVsDense = kernels::relativeL2(out, kernels::referenceDense(part, partInputs));
    if (!sample.whole) {
      s.result.qualitySample = sample;
      s.result.qualityNote = "fp64 references on a part (the whole is above the " +
                             std::to_string(static_cast<int64_t>(plan.maxReferenceFlops / 1e6)) +
                             " MFLOP reference budget): " + kernels::describeSample(plan.problem, sample);
    }
  } catch (const kernels::BadShape& e) {
    s.result.qualityNote = e.what();
  }
}

/** Warm-up, cold samples, then hot synchronised samples until the mean is known to noiseTarget, the noise stops
    improving (a plateau: no 10% gain over the last third of the elapsed time), or maxTimeS passes. */
void timeCalls(Subject& s, CacheFlusher& flusher, const std::atomic<bool>& cancel, const std::function<void(double)>& report) {
  const MeasurePlan& plan = *s.plan;
  kernels::PreparedAttention& k = *s.kernel;
  const int64_t warm0 = nowNs();
  for (int64_t calls = 0; (secondsSince(warm0) < plan.warmupS || calls < 2) && !cancel.load(); calls++) {
    k.run();
    k.synchronize();
    // A measurement needs tens of calls; one that alone outlasts the timing limit would run for hours.
    if (calls == 0 && secondsSince(warm0) > plan.maxTimeS)
      throw meters::MeterError("CALL_TOO_SLOW", "one call took " + std::to_string(secondsSince(warm0)) +
                                                    " s, more than the timing limit of " + std::to_string(plan.maxTimeS) +
                                                    " s; a measurement needs tens of calls: lower --ctx, --batch or --q-len");
  }
  // Per-call time: the device's own clock (CUDA events) where the kernel has one, else steady_clock around
  // run() + synchronize().
  auto timedCall = [&k]() {
    const int64_t c0 = nowNs();
    k.run();
    k.synchronize();
    const double host = static_cast<double>(nowNs() - c0) * 1e-9;
    const double device = k.lastRunDeviceSeconds();
    return device >= 0 ? device : host;
  };
  const bool cpu = plan.device == "cpu";
  for (int i = 0; i < plan.coldSamples && !cancel.load(); i++) {
    if (cpu) flusher.flush();
    else k.flushDeviceCaches();  // L2 eviction queued on the kernel's stream, outside its timed events
    s.result.coldSamplesS.push_back(timedCall());
  }
  const int64_t timing0 = nowNs();
  double bestNoise = INFINITY, bestNoiseAtS = 0;
  s.result.timingStopReason = "time-limit";
  while (!cancel.load()) {
    s.result.samplesS.push_back(timedCall());
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

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs.empty() ? 0.0 : xs[xs.size() / 2];
}

}  // namespace

std::vector<MeasureResult> measureGroup(const std::vector<MeasurePlan>& plans, const ProgressFn& progress,
                                        const std::atomic<bool>& cancel) {
  if (plans.empty()) return {};
  const MeasurePlan& lead = plans.front();
  for (const auto& p : plans) {
    kernels::validate(p.problem);
    if (p.device != lead.device || p.meter != lead.meter)
      throw std::invalid_argument("a measurement group shares one device and one meter");
  }
  const double n = static_cast<double>(plans.size());
  auto report = [&](const char* stage, double fraction) {
    if (progress) progress({stage, std::clamp(fraction, 0.0, 1.0)});
  };

  auto meter = meters::openMeter(lead.meter, lead.device, lead.hasPowerModel ? &lead.powerModel : nullptr);
  const meters::MeterDescription description = meter->describe();

  std::vector<Subject> subjects(plans.size());
  for (size_t i = 0; i < plans.size(); i++) {
    report("quality", 0.05 * static_cast<double>(i) / n);
    Subject& s = subjects[i];
    s.plan = &plans[i];
    s.result.meter = description;
    if (takesInputs(plans[i])) {
      const kernels::HostTensors inputs = kernels::syntheticInputs(plans[i].problem, plans[i].profile, plans[i].seed);
      s.kernel = prepare(plans[i], &inputs);
      checkQuality(s, inputs);
    } else {
      s.kernel = prepare(plans[i], nullptr);
      s.result.qualityNote = "plugin makes its own inputs and names no reference variant: no quality check";
    }
    s.result.kernelPath = s.kernel->describe();
    if (cancel.load()) break;
  }

  // Idle baseline: the device doing nothing, before any load warms it.
  double idleW = 0;
  if (lead.idleS > 0 && !cancel.load()) {
    report("idle", 0.05);
    const auto a = meter->readAtUpdate();  // on a counter step: no lag at either end
    while (secondsSince(a.tNs) < lead.idleS && !cancel.load()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const auto b = meter->readAtUpdate();
    const double dt = static_cast<double>(b.tNs - a.tNs) * 1e-9;
    idleW = dt > 0 ? (b.joules - a.joules) / dt : 0;
  }

  CacheFlusher flusher;
  for (size_t i = 0; i < subjects.size() && !cancel.load(); i++) {
    if (!subjects[i].kernel) continue;
    timeCalls(subjects[i], flusher, cancel, [&](double f) { report("timing", 0.05 + 0.35 * (static_cast<double>(i) + std::min(1.0, f)) / n); });
  }

  // Energy: windows of back-to-back calls spanning ≥ minWindowUpdates meter updates and ≥ minWindowS.
  const double windowS = std::max(lead.minWindowS, lead.minWindowUpdates * description.updatePeriodMs * 1e-3);
  for (auto& s : subjects) {
    s.result.windowTargetS = windowS;
    if (!s.kernel || cancel.load()) continue;
    // Calibrate calls per window on back-to-back calls (synchronised samples include per-call overhead that
    // back-to-back calls do not pay), then pad 10% so windows do not fall short of the target.
    const double m = median(s.result.samplesS);
    int64_t probe = m > 0 ? std::max<int64_t>(1, static_cast<int64_t>(windowS / 4 / m)) : 1;
    const int64_t p0 = nowNs();
    for (int64_t c = 0; c < probe && !cancel.load(); c++) s.kernel->run();
    s.kernel->synchronize();
    const double perCall = secondsSince(p0) / static_cast<double>(probe);
    s.callsPerWindow = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(1.1 * windowS / std::max(perCall, 1e-9))));
  }
  std::mt19937_64 rng(lead.seed ^ 0x9e3779b97f4a7c15ull);
  std::uniform_real_distribution<double> phase(0.0, std::max(1.0, description.updatePeriodMs));
  const double budgetS = lead.energyBudgetS * n;
  // Cross-check (meters issue): beside an energy counter, integrate the meter's instant power over the same
  // windows, so each result says how far the two disagree. Only where the meter has an instant source.
  // Without an instant source the timeline still records power (from energy differences) for reports, and the
  // windows carry no cross-check.
  std::unique_ptr<meters::PowerTimeline> timeline;
  meters::PowerReading probePower;
  const bool instant = meter->readPower(probePower);
  if (lead.crossCheckPeriodMs > 0)
    timeline = std::make_unique<meters::PowerTimeline>(
        *meter, std::max(lead.crossCheckPeriodMs, instant ? 0.0 : description.updatePeriodMs), 200000);
  const bool crossCheck = timeline && instant && description.method == "energy-counter";
  const int64_t energy0 = nowNs();
  std::vector<size_t> order(subjects.size());
  std::iota(order.begin(), order.end(), 0);
  while (!cancel.load()) {
    std::shuffle(order.begin(), order.end(), rng);
    bool any = false;
    for (size_t idx : order) {
      Subject& s = subjects[idx];
      if (s.energyDone || !s.kernel || cancel.load()) continue;
      any = true;
      // Shift each window's start against the meter's update clock so periodic sampling cannot alias.
      std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(phase(rng) * 1000)));
      const meters::DeviceStatus before = meter->status();
      meter->setBusy(true);
      const auto e0 = meter->readAtUpdate();  // the window starts on a counter step
      int64_t calls = 0;
      for (; calls < s.callsPerWindow && !cancel.load(); calls++) s.kernel->run();
      // Never shorter than the target, whatever the calibration said (load, clocks and caches change).
      while (secondsSince(e0.tNs) < windowS && !cancel.load()) {
        s.kernel->run();
        calls++;
      }
      s.kernel->synchronize();
      // ...and ends on one, with the device kept busy until the counter steps.
      const auto e1 = calls == 0 ? e0
                                 : meters::finishWindowOnUpdate(
                                       *meter, [&] {
                                         s.kernel->run();
                                         s.kernel->synchronize();
                                       },
                                       calls, median(s.result.samplesS));
      meter->setBusy(false);
      const meters::DeviceStatus after = meter->status();
      if (calls == 0) break;
      Window w{e0.tNs, e1.tNs, e1.joules - e0.joules, calls};
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
        s.callsPerWindow = static_cast<int64_t>(std::ceil(static_cast<double>(s.callsPerWindow) * 1.1 * windowS / windowSeconds));
      s.joulesPerCall.push_back((e1.joules - e0.joules) / static_cast<double>(calls));
      const int trials = static_cast<int>(s.result.windows.size());
      if (trials >= lead.minTrials && relativeHalfWidth(s.joulesPerCall) <= lead.energyCiTarget) {
        s.result.stopReason = "ci-target";
        s.energyDone = true;
      } else if (trials >= lead.maxTrials) {
        s.result.stopReason = "max-trials";
        s.energyDone = true;
      }
    }
    const double elapsed = secondsSince(energy0);
    double doneShare = 0;
    for (const auto& s : subjects)
      doneShare += s.energyDone ? 1.0 : std::min(1.0, static_cast<double>(s.result.windows.size()) / lead.maxTrials);
    report("energy", 0.4 + 0.6 * std::max(doneShare / n, elapsed / budgetS));
    if (!any) break;
    bool everyoneHasTwo = true;
    for (const auto& s : subjects) everyoneHasTwo = everyoneHasTwo && (s.energyDone || s.result.windows.size() >= 2);
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

MeasureResult measure(const MeasurePlan& plan, const ProgressFn& progress, const std::atomic<bool>& cancel) {
  return measureGroup({plan}, progress, cancel).front();
}

}  // namespace etok::harness
