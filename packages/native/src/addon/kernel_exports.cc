// Kernel-level exports used by the kernels' tests and the CPU benchmark (bench/cpu-attention.mjs):
//   selectBlocks(request, inputs) → number[][]     the fp64 reference's NSA selection per (batch, group, row)
//   timeKernel(request, inputs, options?) → { samplesS: Float64Array, isa }   prepare once, then time run() calls
//   cpuRoofline(options?) → { readBytesPerS, fmaFlopsPerS, isa }          bandwidth and FMA probes (roofline.h)
//   cpuKernelIsa() → "avx512" | "avx2" | "portable"                        the vector path the CPU kernels run here
// Synchronous on purpose: they are test and benchmark tools, not the measurement path (that is measure()).
#include <chrono>
#include <cstdlib>

#include "addon/convert.h"
#include "addon/kernel_exports.h"
#include "devices/devices.h"
#include "etok/kernels/attention.h"
#include "etok/kernels/roofline.h"

namespace etok::addon {

namespace {

double optionNumber(const Napi::Object& o, const char* name, double fallback) {
  if (!o.Has(name) || o.Get(name).IsUndefined()) return fallback;
  return o.Get(name).ToNumber().DoubleValue();
}

Napi::Value SelectBlocks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const kernels::Problem p = toProblem(info[0].As<Napi::Object>());
    const kernels::HostTensors inputs = toInputs(p, info[1].As<Napi::Object>());
    const auto selection = kernels::referenceSelection(p, inputs);
    Napi::Array out = Napi::Array::New(env, selection.size());
    for (size_t i = 0; i < selection.size(); i++) {
      Napi::Array blocks = Napi::Array::New(env, selection[i].size());
      for (size_t j = 0; j < selection[i].size(); j++)
        blocks.Set(static_cast<uint32_t>(j), static_cast<double>(selection[i][j]));
      out.Set(static_cast<uint32_t>(i), blocks);
    }
    return out;
  } catch (...) {
    throw toJsError(env, std::current_exception());
  }
}

Napi::Value TimeKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const Napi::Object request = info[0].As<Napi::Object>();
    const kernels::Problem p = toProblem(request);
    const kernels::HostTensors inputs = toInputs(p, info[1].As<Napi::Object>());
    const Napi::Object options = info.Length() > 2 && info[2].IsObject() ? info[2].As<Napi::Object>()
                                                                         : Napi::Object::New(env);
    const int threads = static_cast<int>(optionNumber(request, "threads", 0));
    const int iterations = static_cast<int>(optionNumber(options, "iterations", 10));
    const double minTimeS = optionNumber(options, "minTimeS", 0);
    const std::string device = request.Has("device") ? request.Get("device").ToString().Utf8Value() : "cpu";
    const int index = devices::parseDeviceId(device);
    auto kernel = index < 0 ? kernels::prepareCpu(p, inputs, threads) : kernels::prepareCuda(p, inputs, index);
    kernel->run();  // warm-up: first touch, caches, thread start
    kernel->synchronize();
    std::vector<double> samples;
    double total = 0;
    while (static_cast<int>(samples.size()) < iterations || total < minTimeS) {
      const auto t0 = std::chrono::steady_clock::now();
      kernel->run();
      kernel->synchronize();
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      samples.push_back(dt);
      total += dt;
      if (samples.size() > 100000) break;
    }
    Napi::Object out = Napi::Object::New(env);
    Napi::Float64Array arr = Napi::Float64Array::New(env, samples.size());
    std::copy(samples.begin(), samples.end(), arr.Data());
    out.Set("samplesS", arr);
    if (index >= 0) {
      out.Set("isa", "cuda");
    } else {
      // The path that ran (not what the CPU could run), and the opt-in int8 path in integers (kernels README,
      // "Tolerances"; AVX2 only), which changes what int8 computes.
      const std::string cpuIsa = kernels::cpuKernelIsa();
      const char* int8Dot = std::getenv("ETOK_CPU_INT8_DOT");
      out.Set("isa", cpuIsa + (cpuIsa == "avx2" && int8Dot && std::string(int8Dot) == "1" ? "+int8dot" : ""));
    }
    return out;
  } catch (...) {
    throw toJsError(env, std::current_exception());
  }
}

Napi::Value CpuRoofline(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object options = info.Length() > 0 && info[0].IsObject() ? info[0].As<Napi::Object>()
                                                                       : Napi::Object::New(env);
  try {
    // Throws (BAD_USAGE) on an ETOK_CPU_ISA it cannot honour: the FMA probe runs the kernels' path.
    const auto r = kernels::measureCpuRoofline(static_cast<int>(optionNumber(options, "threads", 0)),
                                               optionNumber(options, "seconds", 2.0),
                                               optionNumber(options, "bufferBytes", 512.0 * 1024 * 1024));
    Napi::Object out = Napi::Object::New(env);
    out.Set("readBytesPerS", r.readBytesPerS);
    out.Set("fmaFlopsPerS", r.fmaFlopsPerS);
    out.Set("isa", r.isa);
    return out;
  } catch (...) {
    throw toJsError(env, std::current_exception());
  }
}

Napi::Value CpuKernelIsa(const Napi::CallbackInfo& info) {
  try {
    return Napi::String::New(info.Env(), kernels::cpuKernelIsa());
  } catch (...) {
    throw toJsError(info.Env(), std::current_exception());
  }
}

}  // namespace

void registerKernelExports(Napi::Env env, Napi::Object exports) {
  exports.Set("selectBlocks", Napi::Function::New(env, SelectBlocks, "selectBlocks"));
  exports.Set("timeKernel", Napi::Function::New(env, TimeKernel, "timeKernel"));
  exports.Set("cpuRoofline", Napi::Function::New(env, CpuRoofline, "cpuRoofline"));
  exports.Set("cpuKernelIsa", Napi::Function::New(env, CpuKernelIsa, "cpuKernelIsa"));
}

}  // namespace etok::addon
