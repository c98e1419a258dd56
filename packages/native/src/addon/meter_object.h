// `new Meter(id, device)`: one open meter for JS (tests, `etok measure`, power timelines). Thin over
// meters::Meter and meters::PowerTimeline; every failure is a coded JS error (NVML_GPU_LOST, RAPL_PERMISSION…).
// Included once, by addon.cc. Reads are synchronous: readAtUpdate() blocks for up to one counter update period.
#pragma once

#include <napi.h>

#include <cmath>
#include <memory>

#include "addon/convert.h"
#include "devices/devices.h"
#include "meters/meter.h"
#include "meters/power_timeline.h"

namespace etok::addon {

class MeterObject : public Napi::ObjectWrap<MeterObject> {
 public:
  static void Register(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "Meter",
                                      {
                                          InstanceMethod<&MeterObject::Describe>("describe"),
                                          InstanceMethod<&MeterObject::Read>("read"),
                                          InstanceMethod<&MeterObject::ReadAtUpdate>("readAtUpdate"),
                                          InstanceMethod<&MeterObject::PollUpdate>("pollUpdate"),
                                          InstanceMethod<&MeterObject::ReadPower>("readPower"),
                                          InstanceMethod<&MeterObject::Status>("status"),
                                          InstanceMethod<&MeterObject::StartTimeline>("startTimeline"),
                                          InstanceMethod<&MeterObject::StopTimeline>("stopTimeline"),
                                          InstanceMethod<&MeterObject::Timeline>("timeline"),
                                          InstanceMethod<&MeterObject::CrossCheck>("crossCheck"),
                                          InstanceMethod<&MeterObject::Close>("close"),
                                      });
    exports.Set("Meter", ctor);
  }

  explicit MeterObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MeterObject>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString())
      throw codedError(env, "BAD_USAGE", "new Meter(id, device?) needs a meter id: nvml:N, rapl or model");
    const std::string id = info[0].As<Napi::String>().Utf8Value();
    const std::string device = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "cpu";
    try {
      // A third argument picks the model meter's utilization source: "system-cpu" for commands etok wraps
      // (their CPU time is not etok's), "process-cpu" or "harness".
      if (id == "model" && info.Length() > 2 && info[2].IsString()) {
        meters::PowerModel model = meters::defaultPowerModel(device, devices::deviceName(device));
        model.utilization = info[2].As<Napi::String>().Utf8Value();
        meter_ = meters::openMeter(id, device, &model);
      } else {
        meter_ = meters::openMeter(id, device, nullptr);
      }
    } catch (...) {
      throw toJsError(env, std::current_exception());
    }
  }

 private:
  template <typename Fn>
  Napi::Value guarded(const Napi::CallbackInfo& info, Fn&& fn) {
    Napi::Env env = info.Env();
    if (!meter_) throw codedError(env, "METER_CLOSED", "this meter was closed");
    try {
      return fn(env);
    } catch (const Napi::Error&) {
      throw;
    } catch (...) {
      throw toJsError(env, std::current_exception());
    }
  }

  static Napi::Value number(Napi::Env env, double v) {
    return std::isnan(v) ? env.Null() : Napi::Value(Napi::Number::New(env, v));
  }

  static Napi::Object energy(Napi::Env env, const meters::EnergyReading& r) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("tNs", static_cast<double>(r.tNs));
    o.Set("joules", r.joules);
    return o;
  }

  Napi::Value Describe(const Napi::CallbackInfo& info) {
    return guarded(info, [&](Napi::Env env) -> Napi::Value {
      const auto d = meter_->describe();
      Napi::Object o = Napi::Object::New(env);
      o.Set("id", d.id);
      o.Set("kind", d.kind);
      o.Set("measured", d.measured);
      o.Set("method", d.method);
      o.Set("boundary", d.boundary);
      o.Set("updatePeriodMs", d.updatePeriodMs);
      o.Set("idleW", d.idleW);
      o.Set("note", d.note);
      o.Set("source", d.source);
      o.Set("averagingWindowMs", d.averagingWindowMs);
      return o;
    });
  }

  Napi::Value Read(const Napi::CallbackInfo& info) {
    return guarded(info, [&](Napi::Env env) -> Napi::Value { return energy(env, meter_->read()); });
  }

  Napi::Value ReadAtUpdate(const Napi::CallbackInfo& info) {
    return guarded(info, [&](Napi::Env env) -> Napi::Value { return energy(env, meter_->readAtUpdate()); });
  }

  Napi::Value PollUpdate(const Napi::CallbackInfo& info) {
    return guarded(info, [&](Napi::Env env) -> Napi::Value {
      meters::EnergyReading r;
      const double maxGapMs = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0.0;
      return meter_->pollUpdate(r, static_cast<int64_t>(maxGapMs * 1e6)) ? Napi::Value(energy(env, r)) : env.Null();
    });
  }

  Napi::Value ReadPower(const Napi::CallbackInfo& info) {
    return guarded(info, [&](Napi::Env env) -> Napi::Value {
      meters::PowerReading p;
      if (!meter_->readPower(p)) return env.Null();
      Napi::Object o = Napi::Object::New(env);
      o.Set("tNs", static_cast<double>(p.tNs));
      o.Set("watts", p.watts);
      return o;
    });
  }

  Napi::Value Status(const Napi::CallbackInfo& info) {
    return guarded(info, [&](Napi::Env env) -> Napi::Value {
      const auto s = meter_->status();
      auto strings = [&](const std::vector<std::string>& v) {
        Napi::Array a = Napi::Array::New(env, v.size());
        for (size_t i = 0; i < v.size(); i++) a.Set(static_cast<uint32_t>(i), v[i]);
        return a;
      };
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", s.name);
      o.Set("uuid", s.uuid);
      o.Set("driverVersion", s.driverVersion);
      o.Set("architecture", s.architecture);
      o.Set("powerLimitW", number(env, s.powerLimitW));
      o.Set("powerW", number(env, s.powerW));
      o.Set("smClockMHz", number(env, s.smClockMHz));
      o.Set("memClockMHz", number(env, s.memClockMHz));
      o.Set("temperatureC", number(env, s.temperatureC));
      o.Set("clockEventReasons", s.clockEventsKnown
                                     ? Napi::Value(Napi::Number::New(env, static_cast<double>(s.clockEventReasons)))
                                     : env.Null());
      o.Set("clockEvents", strings(s.clockEvents));
      o.Set("throttled", s.throttled);
      o.Set("domains", strings(s.domains));
      o.Set("unavailable", strings(s.unavailable));
      return o;
    });
  }

  Napi::Value StartTimeline(const Napi::CallbackInfo& info) {
    return guarded(info, [&](Napi::Env env) -> Napi::Value {
      const double periodMs = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 10.0;
      if (!(periodMs >= 1.0)) throw codedError(env, "BAD_USAGE", "startTimeline(periodMs) needs periodMs ≥ 1");
      timeline_.reset();
      timeline_ = std::make_unique<meters::PowerTimeline>(*meter_, periodMs);
      return env.Undefined();
    });
  }

  Napi::Value StopTimeline(const Napi::CallbackInfo& info) {
    return guarded(info, [&](Napi::Env env) -> Napi::Value {
      if (timeline_) timeline_->stop();
      return env.Undefined();
    });
  }

  Napi::Value Timeline(const Napi::CallbackInfo& info) {
    return guarded(info, [&](Napi::Env env) -> Napi::Value {
      if (!timeline_) throw codedError(env, "BAD_USAGE", "no timeline: call startTimeline(periodMs) first");
      const auto samples = timeline_->samples();
      Napi::Float64Array t = Napi::Float64Array::New(env, samples.size());
      Napi::Float64Array w = Napi::Float64Array::New(env, samples.size());
      Napi::Float64Array j = Napi::Float64Array::New(env, samples.size());
      for (size_t i = 0; i < samples.size(); i++) {
        t[i] = static_cast<double>(samples[i].tNs);
        w[i] = samples[i].watts;
        j[i] = samples[i].joules;
      }
      Napi::Object o = Napi::Object::New(env);
      o.Set("source", timeline_->source());
      o.Set("periodMs", timeline_->periodMs());
      o.Set("error", timeline_->error());
      o.Set("tNs", t);
      o.Set("watts", w);
      o.Set("joules", j);
      return o;
    });
  }

  Napi::Value CrossCheck(const Napi::CallbackInfo& info) {
    return guarded(info, [&](Napi::Env env) -> Napi::Value {
      if (!timeline_) throw codedError(env, "BAD_USAGE", "no timeline: call startTimeline(periodMs) first");
      if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber())
        throw codedError(env, "BAD_USAGE", "crossCheck(t0Ns, t1Ns, counterJ) needs three numbers");
      const auto c = timeline_->crossCheck(static_cast<int64_t>(info[0].As<Napi::Number>().DoubleValue()),
                                           static_cast<int64_t>(info[1].As<Napi::Number>().DoubleValue()),
                                           info[2].As<Napi::Number>().DoubleValue());
      Napi::Object o = Napi::Object::New(env);
      o.Set("t0Ns", static_cast<double>(c.t0Ns));
      o.Set("t1Ns", static_cast<double>(c.t1Ns));
      o.Set("counterJ", c.counterJ);
      o.Set("sampledJ", number(env, c.sampledJ));
      o.Set("samples", c.samples);
      o.Set("relativeGap", number(env, c.relativeGap()));
      return o;
    });
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    timeline_.reset();  // before the meter it samples
    meter_.reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<meters::Meter> meter_;
  std::unique_ptr<meters::PowerTimeline> timeline_;
};

}  // namespace etok::addon
