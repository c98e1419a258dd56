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

namespace etok::harness {

namespace {

using meters::nowNs;

double secondsSince(int64_t t0) { return static_cast<double>(nowNs() - t0) * 1e-9; }

/** Relative half-width of the 95% interval of the mean (normal approximation; the analysis bootstraps). */
double relativeHalfWidth(const std::vector<double>& xs) {
  if (xs.size() < 2) return INFINITY;
  const double m = std::accumulate(xs.begin(), xs.end(), 0.0) / xs.size();
  double s = 0;
  for (double x : xs) s += (x - m) * (x - m);
  const double se = std::sqrt(s / (xs.size() - 1) / xs.size());
  return m != 0 ? 1.96 * se / std::fabs(m) : INFINITY;
}

std::unique_ptr<kernels::PreparedAttention> prepare(const MeasurePlan& plan, const kernels::HostTensors& inputs) {
  const int index = devices::parseDeviceId(plan.device);
  if (index < 0) return kernels::prepareCpu(plan.problem, inputs, plan.threads);
  return kernels::prepareCuda(plan.problem, inputs, index);
}

double referenceFlops(const kernels::Problem& p) {
  const auto& s = p.shape;
  const double dim = p.variant.mla ? 2.0 * s.rank + s.ropeDim : 2.0 * s.headDim;
  return 2.0 * dim * s.batch * s.heads * kernels::queryRows(p) * s.kvLen;
}

}  // namespace

MeasureResult measure(const MeasurePlan& plan, const ProgressFn& progress, const std::atomic<bool>& cancel) {
  kernels::validate(plan.problem);
  MeasureResult result;
  auto report = [&](const char* stage, double fraction) {
    if (progress) progress({stage, std::clamp(fraction, 0.0, 1.0)});
  };

  auto meter = meters::openMeter(plan.meter, plan.device, plan.hasPowerModel ? &plan.powerModel : nullptr);
  result.meter = meter->describe();

  const kernels::HostTensors inputs = kernels::syntheticInputs(plan.problem, plan.profile, plan.seed);
  auto kernel = prepare(plan, inputs);

  // Quality first, on the same inputs: one call against the fp64 references, when affordable.
  if (plan.quality) {
    report("quality", 0);
    if (referenceFlops(plan.problem) <= plan.maxReferenceFlops) {
      kernel->run();
      kernel->synchronize();
      const auto out = kernel->output();
      try {
        result.relErrorVsExact = kernels::relativeL2(out, kernels::referenceExact(plan.problem, inputs));
        result.relErrorVsDense = kernels::relativeL2(out, kernels::referenceDense(plan.problem, inputs));
      } catch (const kernels::BadShape& e) {
        result.qualityNote = e.what();
      }
    } else {
      result.qualityNote = "fp64 reference skipped: problem above the reference budget";
    }
  }

  // Idle baseline: the device doing nothing, measured before any load so it is not warmed by the run.
  if (plan.idleS > 0) {
    report("idle", 0);
    const auto a = meter->read();
    while (secondsSince(a.tNs) < plan.idleS && !cancel.load()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const auto b = meter->read();
    const double dt = static_cast<double>(b.tNs - a.tNs) * 1e-9;
    result.idleW = dt > 0 ? (b.joules - a.joules) / dt : 0;
  }
  result.meter.idleW = result.idleW;

  // Warm-up.
  report("warmup", 0);
  const int64_t warm0 = nowNs();
  int64_t warmCalls = 0;
  while ((secondsSince(warm0) < plan.warmupS || warmCalls < 2) && !cancel.load()) {
    kernel->run();
    kernel->synchronize();
    warmCalls++;
  }

  // Timing: one sample per call, synchronised, until the mean is known to noiseTarget or maxTimeS passes.
  const int64_t timing0 = nowNs();
  while (!cancel.load()) {
    const int64_t c0 = nowNs();
    kernel->run();
    kernel->synchronize();
    result.samplesS.push_back(static_cast<double>(nowNs() - c0) * 1e-9);
    const double elapsed = secondsSince(timing0);
    report("timing", elapsed / plan.maxTimeS);
    if (elapsed >= plan.maxTimeS) break;
    if (elapsed >= plan.minTimeS && result.samplesS.size() >= 10 && relativeHalfWidth(result.samplesS) < plan.noiseTarget)
      break;
  }
  if (cancel.load()) {
    result.cancelled = true;
    return result;
  }

  // Energy windows: back-to-back calls spanning many meter updates; trials until the J/call interval is tight.
  std::vector<double> sorted = result.samplesS;
  std::sort(sorted.begin(), sorted.end());
  const double medianS = sorted[sorted.size() / 2];
  result.windowTargetS = std::max(plan.minWindowS, plan.minWindowUpdates * result.meter.updatePeriodMs * 1e-3);
  const int64_t callsPerWindow = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(result.windowTargetS / medianS)));
  std::mt19937_64 rng(plan.seed ^ 0x9e3779b97f4a7c15ull);
  std::uniform_real_distribution<double> phase(0.0, std::max(1.0, result.meter.updatePeriodMs));
  std::vector<double> joulesPerCall;
  const int64_t energy0 = nowNs();
  while (!cancel.load()) {
    // Phase-shift each trial's start against the meter's update clock so periodic sampling cannot alias.
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(phase(rng) * 1000)));
    meter->setBusy(true);
    const auto e0 = meter->read();
    int64_t calls = 0;
    for (; calls < callsPerWindow && !cancel.load(); calls++) kernel->run();
    kernel->synchronize();
    const auto e1 = meter->read();
    meter->setBusy(false);
    if (calls == 0) break;
    result.windows.push_back({e0.tNs, e1.tNs, e1.joules - e0.joules, calls});
    joulesPerCall.push_back((e1.joules - e0.joules) / static_cast<double>(calls));
    const double elapsed = secondsSince(energy0);
    const int trials = static_cast<int>(result.windows.size());
    report("energy", std::max(elapsed / plan.energyBudgetS, static_cast<double>(trials) / plan.maxTrials));
    if (trials >= plan.minTrials && relativeHalfWidth(joulesPerCall) <= plan.energyCiTarget) {
      result.stopReason = "ci-target";
      break;
    }
    if (trials >= plan.maxTrials) {
      result.stopReason = "max-trials";
      break;
    }
    if (elapsed >= plan.energyBudgetS && trials >= 2) {
      result.stopReason = "time-budget";
      break;
    }
  }
  if (cancel.load()) {
    result.cancelled = true;
    result.stopReason = "cancelled";
  }
  return result;
}

}  // namespace etok::harness
