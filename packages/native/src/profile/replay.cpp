#include "profile/replay.h"

#include <cmath>
#include <cstdio>

#include "harness/harness.h"
#include "profile/driver_api.h"
#include "profile/replay_executor.h"
#include "profile/snapshot.h"

namespace etok::profile {

namespace {

using harness::json::Value;

Value num(double x) { return Value::number(x); }

Value windowJson(const harness::Window& w) {
  std::map<std::string, Value> f{
      {"t0Ns", num(static_cast<double>(w.t0Ns))},
      {"t1Ns", num(static_cast<double>(w.t1Ns))},
      {"joules", num(w.joules)},
      {"calls", num(w.calls)},
      {"throttled", Value::boolean(w.throttled)},
  };
  if (!std::isnan(w.sampledJ)) f["sampledJoules"] = num(w.sampledJ);
  if (!std::isnan(w.temperatureC[1])) f["temperatureC"] = num(w.temperatureC[1]);
  if (!std::isnan(w.smClockMHz[0]) && !std::isnan(w.smClockMHz[1]))
    f["smClockMHz"] = Value::array({num(w.smClockMHz[0]), num(w.smClockMHz[1])});
  if (!w.clockEvents.empty()) {
    std::vector<Value> ev;
    for (const auto& e : w.clockEvents) ev.push_back(Value::string(e));
    f["clockEvents"] = Value::array(std::move(ev));
  }
  return Value::object(std::move(f));
}

Value resultJson(const harness::MeasureResult& r) {
  std::vector<Value> samples, windows;
  for (double s : r.samplesS) samples.push_back(num(s));
  for (const auto& w : r.windows) windows.push_back(windowJson(w));
  std::map<std::string, Value> f{
      {"idleW", num(r.idleW)},
      {"samplesS", Value::array(std::move(samples))},
      {"windows", Value::array(std::move(windows))},
      {"stopReason", Value::string(r.stopReason)},
      {"timingStopReason", Value::string(r.timingStopReason)},
      {"windowTargetS", num(r.windowTargetS)},
      {"cancelled", Value::boolean(r.cancelled)},
      {"kernelPath", Value::string(r.kernelPath)},
      {"meter", Value::object({{"id", Value::string(r.meter.id)},
                               {"kind", Value::string(r.meter.kind)},
                               {"measured", Value::boolean(r.meter.measured)},
                               {"method", Value::string(r.meter.method)},
                               {"boundary", Value::string(r.meter.boundary)},
                               {"updatePeriodMs", num(r.meter.updatePeriodMs)}})},
  };
  if (!r.crossCheckSource.empty()) f["crossCheckSource"] = Value::string(r.crossCheckSource);
  if (r.failure)
    f["failure"] = Value::object(
        {{"code", Value::string(r.failure->code)}, {"message", Value::string(r.failure->message)}});
  if (r.groupFault)
    f["groupFault"] = Value::object(
        {{"code", Value::string(r.groupFault->code)}, {"message", Value::string(r.groupFault->message)}});
  return Value::object(std::move(f));
}

Value refused(const std::string& reason) { return Value::object({{"reason", Value::string(reason)}}); }

}  // namespace

std::string deviceUuid(int ordinal) {
  CUuuid u{};
  if (driver().deviceGetUuid(&u, static_cast<CUdevice>(ordinal)) != CUDA_SUCCESS) return {};
  const auto* b = reinterpret_cast<const unsigned char*>(u.bytes);
  char s[64];
  std::snprintf(s, sizeof s, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return s;
}

harness::json::Value Replayer::replay(CapturedLaunch& launch, int64_t launchIndex, const std::atomic<bool>& cancel) {
  DriverApi& d = driver();
  const int64_t paused0 = meters::nowNs();
  std::map<std::string, Value> out{{"key", Value::string(launch.key().text())},
                                   {"launchIndex", num(static_cast<double>(launchIndex))}};
  auto finish = [&](Value detail) {
    for (const auto& [k, v] : detail.fields()) out[k] = v;
    out["pausedS"] = num(static_cast<double>(meters::nowNs() - paused0) * 1e-9);
    return Value::object(out);
  };
  CUdevice device = 0;
  if (d.ctxGetDevice(&device) != CUDA_SUCCESS) return finish(refused("no current CUDA context at the launch"));
  const std::string uuid = deviceUuid(static_cast<int>(device));
  out["device"] = num(static_cast<double>(device));
  if (!settings_.boardUuid.empty() && !uuid.empty() && uuid != settings_.boardUuid)
    return finish(refused("ran on CUDA device " + std::to_string(device) + " (" + uuid +
                          "), not on the metered board " + settings_.meterId + " (" + settings_.boardUuid + ")"));
  // Everything the program queued before this launch finishes first: the replay starts from the state the launch
  // would see. An error here is the program's own (a fault of an earlier kernel), reported as the reason.
  const CUresult sync = d.ctxSynchronize();
  if (sync != CUDA_SUCCESS)
    return finish(refused("the device reported " + d.errorName(sync) + " before the launch; nothing was replayed"));

  // What to save: every allocation the driver reported, and any other allocation an argument points into (memory
  // made before tracking began or by calls it does not follow).
  std::vector<Range> ranges = allocations_.ranges();
  int untracked = 0;
  for (uint64_t w : launch.argumentWords()) {
    if (allocations_.contains(w)) continue;
    CUdeviceptr base = 0;
    size_t bytes = 0;
    if (d.memGetAddressRange(&base, &bytes, static_cast<CUdeviceptr>(w)) != CUDA_SUCCESS) continue;
    bool known = false;
    for (const auto& r : ranges) known = known || (r.base <= base && base + bytes <= r.base + r.bytes);
    if (!known) {
      ranges.push_back({base, bytes});
      untracked++;
    }
  }
  std::unique_ptr<DeviceSnapshot> snapshot;
  try {
    snapshot = std::make_unique<DeviceSnapshot>(ranges, settings_.memoryLimitBytes);
  } catch (const SnapshotRefused& e) {
    return finish(refused(e.what()));
  } catch (const std::exception& e) {
    return finish(refused(std::string("the program's device memory could not be saved: ") + e.what()));
  }
  out["memory"] = Value::object({{"bytes", num(static_cast<double>(snapshot->bytes()))},
                                 {"where", Value::string(snapshot->where())},
                                 {"ranges", num(static_cast<double>(ranges.size()))},
                                 {"untrackedRanges", num(untracked)}});

  Value detail;
  try {
    if (!meter_) meter_ = meters::openMeter(settings_.meterId, "cuda:" + std::to_string(device), nullptr);
    harness::MeasurePlan plan;
    plan.device = "cuda:" + std::to_string(device);
    plan.meter = settings_.meterId;
    plan.quality = false;
    plan.coldSamples = 0;  // the program's caches are what they are; a replay does not evict them
    plan.warmupS = 0.1;
    plan.minTimeS = 0.2;
    plan.maxTimeS = 1.0;
    plan.idleS = settings_.idleS;
    plan.energyBudgetS = settings_.energyBudgetS;
    std::vector<harness::Prepared> members(1);
    members[0].executor = std::make_unique<ReplayExecutor>(launch);
    auto results = harness::measurePrepared(std::move(members), *meter_, plan, nullptr, cancel);
    detail = resultJson(results.front());
  } catch (const meters::MeterError& e) {
    detail = refused("the meter failed: " + e.code() + ": " + e.what());
  } catch (const std::exception& e) {
    detail = refused(std::string("the replay failed: ") + e.what());
  }
  try {
    snapshot->restore();
  } catch (const std::exception& e) {
    // The program's state could not be put back: say so loudly; its later output cannot be trusted.
    out["restoreError"] = Value::string(e.what());
  }
  snapshot.reset();
  return finish(detail);
}

}  // namespace etok::profile
