// The CUPTI functions the injection library calls, resolved by name from the libcupti that libraries.cpp finds
// (the same file the CLI checked before the run), so the library links no CUPTI and loads wherever one exists.
#pragma once

#include <cupti.h>

#include <string>

namespace etok::profile {

struct CuptiApi {
  CUptiResult (*subscribe)(CUpti_SubscriberHandle*, CUpti_CallbackFunc, void*) = nullptr;
  CUptiResult (*enableCallback)(uint32_t, CUpti_SubscriberHandle, CUpti_CallbackDomain, CUpti_CallbackId) = nullptr;
  CUptiResult (*activityEnable)(CUpti_ActivityKind) = nullptr;
  CUptiResult (*activityRegisterCallbacks)(CUpti_BuffersCallbackRequestFunc,
                                           CUpti_BuffersCallbackCompleteFunc) = nullptr;
  CUptiResult (*activityGetNextRecord)(uint8_t*, size_t, CUpti_Activity**) = nullptr;
  CUptiResult (*activityFlushAll)(uint32_t) = nullptr;
  CUptiResult (*activityGetNumDroppedRecords)(CUcontext, uint32_t, size_t*) = nullptr;
  CUptiResult (*getTimestamp)(uint64_t*) = nullptr;
  CUptiResult (*getVersion)(uint32_t*) = nullptr;
  CUptiResult (*getResultString)(CUptiResult, const char**) = nullptr;

  std::string path;  // the file loaded

  /** Loads CUPTI and resolves every function; returns an empty string, or why it cannot (and what to do). */
  std::string load();

  /** "CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED (39)" */
  std::string errorName(CUptiResult rc) const;
};

CuptiApi& cupti();

}  // namespace etok::profile
