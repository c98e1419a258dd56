// The measurement harness: pure C++ (no Node), shared by the addon, the standalone runner and the C++ tests.
// Plan in, result out: timing samples per call, energy windows of many back-to-back calls, an idle baseline.
#pragma once

#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "etok/kernels/problem.h"
#include "etok/kernels/sample.h"
#include "meters/meter.h"

namespace etok::harness {

struct MeasurePlan {
  kernels::Problem problem;
  std::string device = "cpu";      // "cpu" | "cuda:N"
  std::string meter = "model";     // "nvml:N" | "rapl" | "model"
  bool hasPowerModel = false;      // use `powerModel` instead of the device table (model meter only)
  meters::PowerModel powerModel;
  std::string pluginPath;          // a user's kernel (include/etok/plugin.h) instead of a built-in one; `problem`
                                   // then carries the plugin's reference variant (dense when it has none)
  std::string profile = "uniform"; // synthetic input profile
  uint64_t seed = 1;
  int threads = 0;                 // CPU threads; 0 = all
  bool quality = true;             // compare against fp64 references when affordable
  double maxReferenceFlops = 4e9;  // above this, the fp64 references check a part of the output (sample.h)

  double warmupS = 0.1;
  // Timing stops when the relative standard error of the mean is under noiseTarget after minTimeS, or at maxTimeS.
  double minTimeS = 0.3, maxTimeS = 3.0, noiseTarget = 0.005;
  // Energy windows span at least minWindowS and minWindowUpdates meter updates.
  double minWindowS = 0.2;
  int minWindowUpdates = 20;
  // Trials (windows) repeat until the 95% CI half-width of J/call is under energyCiTarget (relative),
  // after minTrials, or until energyBudgetS or maxTrials.
  int minTrials = 5, maxTrials = 40;
  double energyCiTarget = 0.03, energyBudgetS = 8.0;
  double idleS = 0.5;  // idle baseline before measuring (0 skips it)
  int coldSamples = 10;  // calls timed after flushing caches (0 skips them)
  double crossCheckPeriodMs = 10;  // instant-power sampling beside an energy counter (0 turns it off)
};

struct Window {
  int64_t t0Ns = 0, t1Ns = 0;
  double joules = 0;
  int64_t calls = 0;
  double sampledJ = NAN;  // instant power integrated over the window (the cross-check), NaN without one
  bool throttled = false;  // a power, thermal or hardware slowdown was active at either edge
  std::array<double, 2> temperatureC{NAN, NAN}, smClockMHz{NAN, NAN};  // at the start and the end
  std::vector<std::string> clockEvents;
};

struct ProgressEvent {
  std::string stage;  // "idle" | "warmup" | "timing" | "energy" | "quality"
  double fraction = 0;  // 0..1 of this measurement's planned work
};

struct MeasureResult {
  meters::MeterDescription meter;
  double idleW = 0;
  std::vector<double> samplesS;     // seconds per call, one per timed (hot, synchronised) call
  std::vector<double> coldSamplesS; // seconds per call right after a cache flush
  std::vector<Window> windows;
  double relErrorVsDense = -1;      // < 0: not computed
  double relErrorVsExact = -1;
  std::string qualityNote;
  std::optional<kernels::ProblemSample> qualitySample;  // set when the errors are of a part of the output
  std::string kernelPath;           // the backend's own description of what ran (kernel, grid, splits)
  std::string crossCheckSource;     // "instant-power" when windows carry sampledJ
  std::vector<std::pair<int64_t, double>> timeline;  // (tNs, W) over the group's energy phase (first result only)
  std::string crossCheckError;
  std::string timingStopReason;     // why timing stopped: noise-target | plateau | time-limit
  std::string stopReason;           // why the energy trials stopped: ci-target | max-trials | time-budget
  double windowTargetS = 0;
  bool cancelled = false;
};

using ProgressFn = std::function<void(const ProgressEvent&)>;

/** Runs one plan. Throws kernels::BadShape, meters::MeterError or std::runtime_error; honours `cancel` between
    calls, returning what was measured with cancelled = true. */
MeasureResult measure(const MeasurePlan& plan, const ProgressFn& progress, const std::atomic<bool>& cancel);

/** Runs plans that are to be compared (same device and meter) together: one idle baseline, then energy trials
    interleaved in a fresh random order every round (ABAB…), so thermal drift cannot favour one of them. The
    harness settings of the first plan apply to all; the energy budget is per plan. */
std::vector<MeasureResult> measureGroup(const std::vector<MeasurePlan>& plans, const ProgressFn& progress,
                                        const std::atomic<bool>& cancel);

}  // namespace etok::harness
