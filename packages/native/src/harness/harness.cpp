// The measurement engine's front: for a group of plans on one device and meter, prepare each executor (etok's
// kernels, a plugin, a child process) on seeded inputs and check its quality against the fp64 references (of the
// whole output or of an affordable part), then hand the prepared executors to the engine's rules (engine.cpp:
// idle baseline, timing, interleaved energy windows).
// A configuration whose executor fails (an exception in a user's callable, a hang, a crash) ends with a failure
// and the rest of the group goes on; a meter fault ends the energy phase and keeps every finished window.
#include "harness/harness.h"

#include <algorithm>
#include <memory>

#include "devices/devices.h"
#include "etok/kernels/attention.h"
#include "harness/engine_detail.h"
#include "harness/kernel_executor.h"
#include "plugins/plugin.h"

namespace etok::harness {

namespace {

using detail::attempt;
using detail::failureOf;
using detail::isCancel;
using detail::Subject;

/** A plugin without a reference variant makes its own inputs and cannot be checked against a reference; a child
    that is sent no inputs (a user's own model) likewise. */
bool takesInputs(const MeasurePlan& plan) {
  if (plan.child) return plan.childSpec.sendInputs;
  return plan.pluginPath.empty() || !plugins::Plugin::load(plan.pluginPath)->info().referenceVariant.empty();
}

std::unique_ptr<Executor> prepare(const MeasurePlan& plan, const kernels::HostTensors* inputs,
                                  const std::atomic<bool>& cancel) {
  if (plan.child) return std::make_unique<ChildExecutor>(plan.childSpec, plan.problem, plan.device, inputs, cancel);
  const int index = devices::parseDeviceId(plan.device);
  if (!plan.pluginPath.empty()) {
    auto plugin = plugins::Plugin::load(plan.pluginPath);
    return std::make_unique<KernelExecutor>(plugin->prepare(plan.problem, index, inputs), "plugin",
                                            plugin->info().name);
  }
  if (index < 0)
    return std::make_unique<KernelExecutor>(kernels::prepareCpu(plan.problem, *inputs, plan.threads), "etok", "");
  return std::make_unique<KernelExecutor>(kernels::prepareCuda(plan.problem, *inputs, index), "etok", "");
}

/** Quality against the fp64 references: of the whole output when the references fit the budget, else of the
    largest part that does (kernels/sample.h), which the note names. */
void checkQuality(Subject& s, const kernels::HostTensors& inputs) {
  const MeasurePlan& plan = *s.plan;
  if (!plan.quality) return;
  const auto output = s.executor->outputOfOneCall();
  if (!output) {
    const auto* child = dynamic_cast<const ChildExecutor*>(s.executor.get());
    s.result.qualityNote = "no quality check: " + (child ? child->noOutputReason() : std::string("no output"));
    return;
  }
  const kernels::ProblemSample sample = kernels::chooseSample(plan.problem, plan.maxReferenceFlops);
  try {
    const kernels::Problem part = kernels::sampleProblem(plan.problem, sample);
    const kernels::HostTensors partInputs = kernels::sampleInputs(plan.problem, inputs, sample);
    const auto out = kernels::sampleOutput(plan.problem, *output, sample);
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
    try {
      if (takesInputs(plans[i])) {
        const kernels::HostTensors inputs = kernels::syntheticInputs(plans[i].problem, plans[i].profile, plans[i].seed);
        s.executor = prepare(plans[i], &inputs, cancel);
        attempt(s, [&] { checkQuality(s, inputs); });
      } else {
        s.executor = prepare(plans[i], nullptr, cancel);
        s.result.qualityNote = plans[i].child
                                   ? "the executor makes its own inputs: no quality check"
                                   : "plugin makes its own inputs and names no reference variant: no quality check";
      }
    } catch (...) {
      Failure f = failureOf(std::current_exception());
      if (!isCancel(f)) s.result.failure = f;
      s.executor.reset();
    }
    if (cancel.load()) break;
  }
  std::vector<Prepared> members;
  for (auto& s : subjects) members.push_back({std::move(s.executor), std::move(s.result)});
  return measurePrepared(std::move(members), *meter, lead, progress, cancel);
}

MeasureResult measure(const MeasurePlan& plan, const ProgressFn& progress, const std::atomic<bool>& cancel) {
  return measureGroup({plan}, progress, cancel).front();
}

}  // namespace etok::harness
