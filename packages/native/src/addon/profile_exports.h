// The addon's exports for `etok profile`: whether the CUDA driver and CUPTI load here, asked before a program is
// run so a missing library is named up front.
#pragma once

#include <napi.h>

namespace etok::addon {

Napi::Value ProfileSupport(const Napi::CallbackInfo& info);

}  // namespace etok::addon
