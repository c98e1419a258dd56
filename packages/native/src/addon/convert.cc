#include "addon/convert.h"

#include <cmath>

#include "etok/kernels/errors.h"
#include "plugins/plugin.h"

namespace etok::addon {

namespace {

int64_t intField(const Napi::Object& o, const char* name, int64_t fallback) {
  if (!o.Has(name) || o.Get(name).IsUndefined() || o.Get(name).IsNull()) return fallback;
  const Napi::Value v = o.Get(name);
  if (!v.IsNumber()) throw kernels::BadShape(name, std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.0e15)
    throw kernels::BadShape(name, std::string(name) + " must be an integer, got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

double numberField(const Napi::Object& o, const char* name, double fallback) {
  if (!o.Has(name) || o.Get(name).IsUndefined() || o.Get(name).IsNull()) return fallback;
  const Napi::Value v = o.Get(name);
  if (!v.IsNumber()) throw kernels::BadShape(name, std::string(name) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

std::string stringField(const Napi::Object& o, const char* name, const std::string& fallback) {
  if (!o.Has(name) || o.Get(name).IsUndefined()) return fallback;
  const Napi::Value v = o.Get(name);
  if (!v.IsString()) throw kernels::BadShape(name, std::string(name) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

Napi::Object objectField(const Napi::Object& o, const char* name) {
  if (!o.Has(name) || o.Get(name).IsUndefined()) return Napi::Object::New(o.Env());
  if (!o.Get(name).IsObject()) throw kernels::BadShape(name, std::string(name) + " must be an object");
  return o.Get(name).As<Napi::Object>();
}

}  // namespace

kernels::Problem toProblem(const Napi::Object& request) {
  kernels::Problem p;
  p.variant = kernels::parseVariant(stringField(request, "variant", "dense"));
  p.phase = kernels::parsePhase(stringField(request, "phase", "decode"));
  p.dtype = kernels::parseDtype(stringField(request, "dtype", "f32"));
  const Napi::Object s = objectField(request, "shape");
  p.shape.batch = intField(s, "batch", p.shape.batch);
  p.shape.heads = intField(s, "heads", p.shape.heads);
  p.shape.kvHeads = intField(s, "kvHeads", p.shape.kvHeads);
  p.shape.headDim = intField(s, "headDim", p.shape.headDim);
  p.shape.qLen = intField(s, "qLen", p.phase == kernels::Phase::Decode ? 1 : p.shape.qLen);
  p.shape.kvLen = intField(s, "kvLen", p.shape.kvLen);
  p.shape.rank = intField(s, "rank", p.shape.rank);
  p.shape.ropeDim = intField(s, "ropeDim", p.shape.ropeDim);
  const Napi::Object params = objectField(request, "params");
  p.params.scale = numberField(params, "scale", 0.0);
  p.params.blockSize = intField(params, "blockSize", p.params.blockSize);
  p.params.topK = intField(params, "topK", p.params.topK);
  p.params.window = intField(params, "window", p.params.window);
  kernels::validate(p);
  return p;
}

harness::MeasurePlan toPlan(const Napi::Object& o) {
  harness::MeasurePlan plan;
  plan.problem = toProblem(o);
  plan.device = stringField(o, "device", plan.device);
  plan.meter = stringField(o, "meter", plan.meter);
  plan.profile = stringField(o, "profile", plan.profile);
  plan.pluginPath = stringField(o, "plugin", "");
  if (o.Has("executor") && o.Get("executor").IsObject()) {
    // A child executor (Python, ONNX Runtime): how to start it and what to hand its setup.
    const Napi::Object e = o.Get("executor").As<Napi::Object>();
    plan.child = true;
    harness::ChildSpec& c = plan.childSpec;
    c.kind = stringField(e, "kind", "python");
    const Napi::Value command = e.Get("command");
    if (!command.IsArray() || command.As<Napi::Array>().Length() == 0)
      throw std::invalid_argument("executor.command must be a non-empty array of strings");
    for (uint32_t i = 0; i < command.As<Napi::Array>().Length(); i++)
      c.command.push_back(command.As<Napi::Array>().Get(i).ToString().Utf8Value());
    const Napi::Object env = objectField(e, "env");
    const Napi::Array keys = env.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); i++) {
      const std::string key = keys.Get(i).ToString().Utf8Value();
      c.env.push_back(key + "=" + env.Get(key).ToString().Utf8Value());
    }
    c.payloadJson = stringField(e, "payloadJson", "{}");
    if (e.Has("sendInputs")) c.sendInputs = e.Get("sendInputs").ToBoolean();
    c.setupTimeoutS = numberField(e, "setupTimeoutS", c.setupTimeoutS);
    c.callTimeoutS = numberField(e, "callTimeoutS", c.callTimeoutS);
  }
  plan.seed = static_cast<uint64_t>(intField(o, "seed", 1));
  plan.threads = static_cast<int>(intField(o, "threads", 0));
  if (o.Has("quality")) plan.quality = o.Get("quality").ToBoolean();
  plan.maxReferenceFlops = numberField(o, "maxReferenceFlops", plan.maxReferenceFlops);
  if (o.Has("powerModel") && o.Get("powerModel").IsObject()) {
    const Napi::Object m = o.Get("powerModel").As<Napi::Object>();
    plan.hasPowerModel = true;
    plan.powerModel.source = stringField(m, "source", "flags");
    plan.powerModel.idleW = numberField(m, "idleW", 0);
    plan.powerModel.busyW = numberField(m, "busyW", 0);
    plan.powerModel.utilization = stringField(m, "utilization", plan.device == "cpu" ? "process-cpu" : "harness");
  }
  const Napi::Object t = objectField(o, "timing");
  plan.warmupS = numberField(t, "warmupS", plan.warmupS);
  plan.minTimeS = numberField(t, "minTimeS", plan.minTimeS);
  plan.maxTimeS = numberField(t, "maxTimeS", plan.maxTimeS);
  plan.noiseTarget = numberField(t, "noiseTarget", plan.noiseTarget);
  plan.minWindowS = numberField(t, "minWindowS", plan.minWindowS);
  plan.minWindowUpdates = static_cast<int>(intField(t, "minWindowUpdates", plan.minWindowUpdates));
  plan.minTrials = static_cast<int>(intField(t, "minTrials", plan.minTrials));
  plan.maxTrials = static_cast<int>(intField(t, "maxTrials", plan.maxTrials));
  plan.energyCiTarget = numberField(t, "energyCiTarget", plan.energyCiTarget);
  plan.energyBudgetS = numberField(t, "energyBudgetS", plan.energyBudgetS);
  plan.idleS = numberField(t, "idleS", plan.idleS);
  plan.coldSamples = static_cast<int>(intField(t, "coldSamples", plan.coldSamples));
  plan.crossCheckPeriodMs = numberField(t, "crossCheckPeriodMs", plan.crossCheckPeriodMs);
  return plan;
}

kernels::HostTensors toInputs(const kernels::Problem& p, const Napi::Object& inputs) {
  kernels::HostTensors out;
  const Napi::Array names = inputs.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); i++) {
    const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    const Napi::Value v = inputs.Get(name);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw kernels::BadShape(name, "input '" + name + "' must be a Float32Array");
    const auto arr = v.As<Napi::Float32Array>();
    out.emplace(name, std::vector<float>(arr.Data(), arr.Data() + arr.ElementLength()));
  }
  kernels::checkInputs(p, out);
  return out;
}

Napi::Object fromResult(Napi::Env env, const harness::MeasureResult& r) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Object meter = Napi::Object::New(env);
  meter.Set("id", r.meter.id);
  meter.Set("kind", r.meter.kind);
  meter.Set("measured", r.meter.measured);
  meter.Set("method", r.meter.method);
  meter.Set("boundary", r.meter.boundary);
  meter.Set("updatePeriodMs", r.meter.updatePeriodMs);
  meter.Set("idleW", r.meter.idleW);
  meter.Set("note", r.meter.note);
  meter.Set("source", r.meter.source);
  if (r.meter.averagingWindowMs > 0) meter.Set("averagingWindowMs", r.meter.averagingWindowMs);
  o.Set("meter", meter);
  o.Set("idleW", r.idleW);
  Napi::Float64Array samples = Napi::Float64Array::New(env, r.samplesS.size());
  std::copy(r.samplesS.begin(), r.samplesS.end(), samples.Data());
  o.Set("samplesS", samples);
  Napi::Float64Array cold = Napi::Float64Array::New(env, r.coldSamplesS.size());
  std::copy(r.coldSamplesS.begin(), r.coldSamplesS.end(), cold.Data());
  o.Set("coldSamplesS", cold);
  o.Set("timingStopReason", r.timingStopReason);
  Napi::Array windows = Napi::Array::New(env, r.windows.size());
  for (size_t i = 0; i < r.windows.size(); i++) {
    Napi::Object w = Napi::Object::New(env);
    w.Set("t0Ns", static_cast<double>(r.windows[i].t0Ns));
    w.Set("t1Ns", static_cast<double>(r.windows[i].t1Ns));
    w.Set("joules", r.windows[i].joules);
    w.Set("calls", r.windows[i].calls);
    const auto& win = r.windows[i];
    if (!std::isnan(win.sampledJ)) w.Set("sampledJoules", win.sampledJ);
    w.Set("throttled", win.throttled);
    if (!std::isnan(win.temperatureC[0])) w.Set("temperatureC", Napi::Number::New(env, win.temperatureC[1]));
    if (!std::isnan(win.smClockMHz[0])) {
      Napi::Array clocks = Napi::Array::New(env, 2);
      clocks.Set(0u, win.smClockMHz[0]);
      clocks.Set(1u, win.smClockMHz[1]);
      w.Set("smClockMHz", clocks);
    }
    if (!win.clockEvents.empty()) {
      Napi::Array events = Napi::Array::New(env, win.clockEvents.size());
      for (size_t k = 0; k < win.clockEvents.size(); k++) events.Set(static_cast<uint32_t>(k), win.clockEvents[k]);
      w.Set("clockEvents", events);
    }
    windows.Set(static_cast<uint32_t>(i), w);
  }
  o.Set("windows", windows);
  o.Set("relErrorVsDense",
        r.relErrorVsDense >= 0 ? Napi::Value(Napi::Number::New(env, r.relErrorVsDense)) : env.Null());
  o.Set("relErrorVsExact",
        r.relErrorVsExact >= 0 ? Napi::Value(Napi::Number::New(env, r.relErrorVsExact)) : env.Null());
  o.Set("qualityNote", r.qualityNote);
  if (r.qualitySample) {
    const kernels::ProblemSample& q = *r.qualitySample;
    Napi::Object part = Napi::Object::New(env);
    part.Set("batchIndex", static_cast<double>(q.batchIndex));
    part.Set("unit", q.unit);
    part.Set("units", static_cast<double>(q.units));
    part.Set("firstUnit", static_cast<double>(q.firstUnit));
    part.Set("unitCount", static_cast<double>(q.unitCount));
    part.Set("rows", static_cast<double>(q.rows));
    part.Set("firstRow", static_cast<double>(q.firstRow));
    part.Set("rowCount", static_cast<double>(q.rowCount));
    part.Set("outputShare", q.outputShare);
    o.Set("qualitySample", part);
  }
  if (!r.kernelPath.empty()) o.Set("kernelPath", r.kernelPath);
  if (!r.crossCheckSource.empty()) o.Set("crossCheckSource", r.crossCheckSource);
  if (!r.timeline.empty()) {
    Napi::Array timeline = Napi::Array::New(env, r.timeline.size());
    for (size_t i = 0; i < r.timeline.size(); i++) {
      Napi::Object sample = Napi::Object::New(env);
      sample.Set("tNs", static_cast<double>(r.timeline[i].first));
      sample.Set("watts", r.timeline[i].second);
      timeline.Set(static_cast<uint32_t>(i), sample);
    }
    o.Set("timeline", timeline);
  }
  if (!r.crossCheckError.empty()) o.Set("crossCheckError", r.crossCheckError);
  Napi::Object executor = Napi::Object::New(env);
  executor.Set("kind", r.executor.kind);
  if (!r.executor.name.empty()) executor.Set("name", r.executor.name);
  if (!r.executor.description.empty()) executor.Set("description", r.executor.description);
  if (!r.executor.version.empty()) executor.Set("version", r.executor.version);
  if (!r.executor.framework.empty()) executor.Set("framework", r.executor.framework);
  if (!r.executor.detailsJson.empty()) executor.Set("detailsJson", r.executor.detailsJson);
  o.Set("executor", executor);
  auto failure = [&](const harness::Failure& f) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("code", f.code);
    x.Set("message", f.message);
    if (!f.detail.empty()) x.Set("detail", f.detail);
    return x;
  };
  if (r.failure) o.Set("failure", failure(*r.failure));
  if (r.groupFault) o.Set("groupFault", failure(*r.groupFault));
  o.Set("stopReason", r.stopReason);
  o.Set("windowTargetS", r.windowTargetS);
  o.Set("cancelled", r.cancelled);
  return o;
}

Napi::Error codedError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

Napi::Error toJsError(Napi::Env env, const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const kernels::BadShape& e) {
    Napi::Error js = codedError(env, e.code(), e.what());
    js.Set("field", Napi::String::New(env, e.field()));
    return js;
  } catch (const CodedError& e) {
    Napi::Error js = codedError(env, e.code(), e.what());
    if (!e.detail().empty()) js.Set("detail", Napi::String::New(env, e.detail()));
    return js;
  } catch (const std::invalid_argument& e) {
    return codedError(env, "BAD_USAGE", e.what());
  } catch (const std::bad_alloc&) {
    return codedError(env, "OUT_OF_MEMORY", "out of host memory while preparing the measurement");
  } catch (const std::exception& e) {
    return codedError(env, "INTERNAL", e.what());
  } catch (...) {
    return codedError(env, "INTERNAL", "unknown native error");
  }
}

}  // namespace etok::addon
