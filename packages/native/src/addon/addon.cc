// The addon's export table. Each export is thin: convert arguments, call plain C++, convert the result.
#include <napi.h>

#include "addon/convert.h"
#include "addon/kernel_exports.h"
#include "addon/meter_object.h"
#include "addon/profile_exports.h"
#include "addon/workers.h"
#include "devices/devices.h"
#include "etok/kernels/attention.h"
#include "harness/harness.h"
#include "meters/meter.h"
#include "plugins/plugin.h"

namespace etok::addon {

namespace {

Napi::Value Capabilities(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto c = devices::capabilities();
  Napi::Object o = Napi::Object::New(env);
  o.Set("cpu", true);
  o.Set("cuda", c.cuda);
  o.Set("cudaVersion", c.cudaVersion);
  o.Set("cudaArchitectures", c.cudaArchitectures);
  o.Set("cudaReason", c.cudaReason);
  o.Set("cudaRuntimeReason", c.cudaRuntimeReason);
  o.Set("profile", c.profile);
  o.Set("profileReason", c.profileReason);
  return o;
}

Napi::Value ListDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  const auto cpu = devices::cpuInfo();
  Napi::Object c = Napi::Object::New(env);
  c.Set("id", "cpu");
  c.Set("kind", "cpu");
  c.Set("name", cpu.model);
  c.Set("cores", cpu.logicalCores);
  c.Set("simd", cpu.simd);
  out.Set(0u, c);
  uint32_t i = 1;
  for (const auto& d : devices::cudaDevices()) {
    Napi::Object g = Napi::Object::New(env);
    g.Set("id", "cuda:" + std::to_string(d.index));
    g.Set("kind", "cuda");
    g.Set("name", d.name);
    g.Set("multiprocessors", d.multiprocessors);
    g.Set("memoryBytes", static_cast<double>(d.memoryBytes));
    g.Set("computeCapability", std::to_string(d.computeMajor) + "." + std::to_string(d.computeMinor));
    g.Set("uuid", d.uuid);
    out.Set(i++, g);
  }
  return out;
}

Napi::Value ListMeters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto meters = meters::listMeters();
  Napi::Array out = Napi::Array::New(env, meters.size());
  for (size_t i = 0; i < meters.size(); i++) {
    Napi::Object m = Napi::Object::New(env);
    m.Set("id", meters[i].id);
    m.Set("kind", meters[i].kind);
    m.Set("available", meters[i].available);
    if (!meters[i].reason.empty()) m.Set("reason", meters[i].reason);
    out.Set(static_cast<uint32_t>(i), m);
  }
  return out;
}

/** runKernel(request, inputs) → Float32Array, synchronously (validation and tests). */
Napi::Value RunKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsObject())
    throw codedError(env, "BAD_USAGE", "runKernel(request, inputs) needs two objects");
  try {
    const Napi::Object request = info[0].As<Napi::Object>();
    const kernels::Problem p = toProblem(request);
    const kernels::HostTensors inputs = toInputs(p, info[1].As<Napi::Object>());
    const std::string device = request.Has("device") ? request.Get("device").ToString().Utf8Value() : "cpu";
    const int index = devices::parseDeviceId(device);
    const int threads = request.Has("threads") ? request.Get("threads").ToNumber().Int32Value() : 0;
    auto kernel = index < 0 ? kernels::prepareCpu(p, inputs, threads) : kernels::prepareCuda(p, inputs, index);
    kernel->run();
    kernel->synchronize();
    const auto out = kernel->output();
    Napi::Float32Array arr = Napi::Float32Array::New(env, out.size());
    std::copy(out.begin(), out.end(), arr.Data());
    return arr;
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw toJsError(env, std::current_exception());
  }
}

/** reference(request, inputs, "exact" | "dense") → Float64Array (the fp64 references, for tests). */
Napi::Value Reference(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const kernels::Problem p = toProblem(info[0].As<Napi::Object>());
    const kernels::HostTensors inputs = toInputs(p, info[1].As<Napi::Object>());
    const std::string which = info.Length() > 2 ? info[2].ToString().Utf8Value() : "exact";
    const auto ref = which == "dense" ? kernels::referenceDense(p, inputs) : kernels::referenceExact(p, inputs);
    Napi::Float64Array arr = Napi::Float64Array::New(env, ref.size());
    std::copy(ref.begin(), ref.end(), arr.Data());
    return arr;
  } catch (...) {
    throw toJsError(env, std::current_exception());
  }
}

/** syntheticInputs(request, profile, seed) → { name: Float32Array } (the inputs the harness measures on). */
Napi::Value SyntheticInputs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const kernels::Problem p = toProblem(info[0].As<Napi::Object>());
    const std::string profile = info.Length() > 1 ? info[1].ToString().Utf8Value() : "uniform";
    const uint64_t seed = info.Length() > 2 ? static_cast<uint64_t>(info[2].ToNumber().Int64Value()) : 1;
    const auto tensors = kernels::syntheticInputs(p, profile, seed);
    Napi::Object out = Napi::Object::New(env);
    for (const auto& [name, data] : tensors) {
      Napi::Float32Array arr = Napi::Float32Array::New(env, data.size());
      std::copy(data.begin(), data.end(), arr.Data());
      out.Set(name, arr);
    }
    return out;
  } catch (...) {
    throw toJsError(env, std::current_exception());
  }
}

}  // namespace

/** inspectPlugin(path) → { path, name, description, referenceVariant, abiVersion, cpu, cuda }. */
Napi::Value InspectPlugin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    if (info.Length() < 1 || !info[0].IsString()) throw std::invalid_argument("inspectPlugin(path) needs a path");
    const auto plugin = plugins::Plugin::load(info[0].As<Napi::String>().Utf8Value());
    const auto& i = plugin->info();
    Napi::Object o = Napi::Object::New(env);
    o.Set("path", i.path);
    o.Set("name", i.name);
    o.Set("description", i.description);
    o.Set("referenceVariant", i.referenceVariant.empty() ? env.Null() : Napi::String::New(env, i.referenceVariant));
    o.Set("abiVersion", i.abiVersion);
    o.Set("cpu", i.cpu);
    o.Set("cuda", i.cuda);
    return o;
  } catch (...) {
    throw toJsError(env, std::current_exception());
  }
}

/** pluginCost(path, request) → { flops, bytes, tokens } for one call. */
Napi::Value PluginCost(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const auto plugin = plugins::Plugin::load(info[0].As<Napi::String>().Utf8Value());
    const kernels::Problem p = toProblem(info[1].As<Napi::Object>());
    const etok_cost c = plugin->cost(p);
    Napi::Object o = Napi::Object::New(env);
    o.Set("flops", c.flops);
    o.Set("bytes", c.bytes);
    o.Set("tokens", c.tokens);
    return o;
  } catch (...) {
    throw toJsError(env, std::current_exception());
  }
}

/** windowTargetS(timing, updatePeriodMs) → seconds: the engine's window rule, for windows it observes but does
    not drive (regions a process marks). */
Napi::Value WindowTargetS(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    Napi::Object request = Napi::Object::New(env);
    request.Set("timing", info.Length() > 0 && info[0].IsObject() ? info[0] : Napi::Object::New(env));
    const harness::MeasurePlan plan = toPlan(request);
    const double periodMs = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0.0;
    return Napi::Number::New(env, harness::windowTargetSeconds(plan, periodMs));
  } catch (...) {
    throw toJsError(env, std::current_exception());
  }
}

/** defaultTiming() → the engine's timing defaults (harness.h MeasurePlan), so TypeScript can check its own copy. */
Napi::Value DefaultTiming(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const harness::MeasurePlan d;
  Napi::Object o = Napi::Object::New(env);
  o.Set("warmupS", d.warmupS);
  o.Set("minTimeS", d.minTimeS);
  o.Set("maxTimeS", d.maxTimeS);
  o.Set("noiseTarget", d.noiseTarget);
  o.Set("minWindowS", d.minWindowS);
  o.Set("minWindowUpdates", d.minWindowUpdates);
  o.Set("minTrials", d.minTrials);
  o.Set("maxTrials", d.maxTrials);
  o.Set("energyCiTarget", d.energyCiTarget);
  o.Set("energyBudgetS", d.energyBudgetS);
  o.Set("idleS", d.idleS);
  o.Set("coldSamples", d.coldSamples);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("defaultTiming", Napi::Function::New(env, DefaultTiming, "defaultTiming"));
  exports.Set("windowTargetS", Napi::Function::New(env, WindowTargetS, "windowTargetS"));
  exports.Set("inspectPlugin", Napi::Function::New(env, InspectPlugin, "inspectPlugin"));
  exports.Set("pluginCost", Napi::Function::New(env, PluginCost, "pluginCost"));
  exports.Set("capabilities", Napi::Function::New(env, Capabilities, "capabilities"));
  exports.Set("profileSupport", Napi::Function::New(env, ProfileSupport, "profileSupport"));
  exports.Set("listDevices", Napi::Function::New(env, ListDevices, "listDevices"));
  exports.Set("listMeters", Napi::Function::New(env, ListMeters, "listMeters"));
  MeterObject::Register(env, exports);  // new Meter(id, device): open meters for tests and `etok measure`
  exports.Set("runKernel", Napi::Function::New(env, RunKernel, "runKernel"));
  exports.Set("reference", Napi::Function::New(env, Reference, "reference"));
  exports.Set("syntheticInputs", Napi::Function::New(env, SyntheticInputs, "syntheticInputs"));
  exports.Set("measure", Napi::Function::New(env, Measure, "measure"));
  registerKernelExports(env, exports);
  return exports;
}

}  // namespace etok::addon

static Napi::Object InitEtokNative(Napi::Env env, Napi::Object exports) { return etok::addon::Init(env, exports); }

NODE_API_MODULE(etok_native, InitEtokNative)
