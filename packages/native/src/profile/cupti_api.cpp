#include "profile/cupti_api.h"

#include <dlfcn.h>

#include "profile/libraries.h"

namespace etok::profile {

namespace {

template <typename Fn>
void resolve(void* h, Fn& slot, const char* name, std::string& missing) {
  slot = reinterpret_cast<Fn>(dlsym(h, name));
  if (!slot) missing += (missing.empty() ? "" : ", ") + std::string(name);
}

}  // namespace

std::string CuptiApi::load() {
  const LibraryProbe probe = probeCupti();
  if (!probe.ok) return probe.reason;
  void* h = dlopen(probe.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) return probe.path + " stopped loading: " + std::string(dlerror());
  path = probe.path;
  std::string missing;
  resolve(h, subscribe, "cuptiSubscribe", missing);
  resolve(h, enableCallback, "cuptiEnableCallback", missing);
  resolve(h, activityEnable, "cuptiActivityEnable", missing);
  resolve(h, activityRegisterCallbacks, "cuptiActivityRegisterCallbacks", missing);
  resolve(h, activityGetNextRecord, "cuptiActivityGetNextRecord", missing);
  resolve(h, activityFlushAll, "cuptiActivityFlushAll", missing);
  resolve(h, activityGetNumDroppedRecords, "cuptiActivityGetNumDroppedRecords", missing);
  resolve(h, getTimestamp, "cuptiGetTimestamp", missing);
  resolve(h, getVersion, "cuptiGetVersion", missing);
  resolve(h, getResultString, "cuptiGetResultString", missing);
  if (!missing.empty()) return path + " lacks " + missing + ": it is not a CUPTI this build can use";
  return {};
}

std::string CuptiApi::errorName(CUptiResult rc) const {
  const char* s = nullptr;
  if (getResultString && getResultString(rc, &s) == CUPTI_SUCCESS && s)
    return std::string(s) + " (" + std::to_string(static_cast<int>(rc)) + ")";
  return "CUptiResult " + std::to_string(static_cast<int>(rc));
}

CuptiApi& cupti() {
  static CuptiApi api;
  return api;
}

}  // namespace etok::profile
