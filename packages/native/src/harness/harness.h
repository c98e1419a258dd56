// The measurement engine: pure C++ (no Node), shared by the addon and the standalone runner. Plan in, result out:
// timing samples per call, energy windows of many back-to-back calls, an idle baseline. What runs the calls is an
// executor (executor.h): etok's kernels, a C plugin, or a child process (Python callables, ONNX Runtime); the rules
// are the same for all of them.
#pragma once

#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "etok/kernels/problem.h"
#include "etok/kernels/sample.h"
#include "harness/child_executor.h"
#include "harness/executor.h"
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
  bool child = false;              // run by a child executor (`childSpec`) instead of in this process
  ChildSpec childSpec;             // `problem` then carries the reference variant the child implements
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
  // after minTrials, or until energyBudgetS or maxTrials. The budget is the group's (energyBudgetS per member):
  // a member whose target cannot be reached in what is left stops early and leaves its time to the others.
  int minTrials = 5, maxTrials = 40;
  double energyCiTarget = 0.03, energyBudgetS = 8.0;
  double idleS = 0.5;  // idle baseline before measuring (0 skips it)
  int coldSamples = 10;  // calls timed after flushing caches (0 skips them)
  double crossCheckPeriodMs = 10;  // instant-power sampling beside an energy counter (0 turns it off)
};

struct Window {
  int64_t t0Ns = 0, t1Ns = 0;
  double joules = 0;
  double calls = 0;  // whole calls for in-process executors; counted from the rate for child executors
  double sampledJ = NAN;  // instant power integrated over the window (the cross-check), NaN without one
  bool throttled = false;  // a power, thermal or hardware slowdown was active at either edge
  std::array<double, 2> temperatureC{NAN, NAN}, smClockMHz{NAN, NAN};  // at the start and the end
  std::vector<std::string> clockEvents;
};

struct ProgressEvent {
  std::string stage;  // "idle" | "warmup" | "timing" | "energy" | "quality"
  double fraction = 0;  // 0..1 of this measurement's planned work
  double callS = NAN;   // one call's time of the executor at work, once known (how long a stop may take)
};

/** Why a configuration ended without a measurement: an executor's or kernel's failure, with a stable code. */
struct Failure {
  std::string code, message, detail;
};

struct MeasureResult {
  meters::MeterDescription meter;
  ExecutorInfo executor;            // what ran
  std::optional<Failure> failure;   // set when this configuration failed; the rest of its group went on
  std::optional<Failure> groupFault;  // a meter fault ended the group's energy phase: finished windows are kept
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

/** The window rule: a window spans at least minWindowS and minWindowUpdates updates of the meter. */
double windowTargetSeconds(const MeasurePlan& plan, double updatePeriodMs);

/** Runs one plan. Throws a CodedError (BAD_SHAPE, a meter's code) or std::invalid_argument when the group cannot start;
    a configuration's own failure is reported in its result (`failure`); honours `cancel` between calls, returning
    what was measured with cancelled = true. */
MeasureResult measure(const MeasurePlan& plan, const ProgressFn& progress, const std::atomic<bool>& cancel);

/** A prepared executor and what is already known of its result (its quality, or its setup's failure). */
struct Prepared {
  std::unique_ptr<Executor> executor;  // null when its setup failed (result.failure says why)
  MeasureResult result;
};

/** The engine's rules on executors prepared elsewhere (measureGroup's own, or the replayed kernels of `etok profile`):
    one idle baseline, then timing and energy windows interleaved across them, with `settings`' timing rules (its
    problem is not used). The meter stays the caller's. */
std::vector<MeasureResult> measurePrepared(std::vector<Prepared> members, meters::Meter& meter,
                                           const MeasurePlan& settings, const ProgressFn& progress,
                                           const std::atomic<bool>& cancel);

/** Runs plans that are to be compared (same device and meter) together: one idle baseline, then energy trials
    interleaved in a fresh random order every round (ABAB…), so thermal drift cannot favour one of them. The
    harness settings of the first plan apply to all; the energy budget is per plan. */
std::vector<MeasureResult> measureGroup(const std::vector<MeasurePlan>& plans, const ProgressFn& progress,
                                        const std::atomic<bool>& cancel);

}  // namespace etok::harness
