#include "addon/profile_exports.h"

#include "profile/libraries.h"

namespace etok::addon {

namespace {

Napi::Object probeObject(Napi::Env env, const profile::LibraryProbe& p) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", p.ok);
  o.Set("path", p.path);
  o.Set("reason", p.reason);
  return o;
}

}  // namespace

Napi::Value ProfileSupport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("cudaDriver", probeObject(env, profile::probeCudaDriver()));
  o.Set("cupti", probeObject(env, profile::probeCupti()));
  return o;
}

}  // namespace etok::addon
