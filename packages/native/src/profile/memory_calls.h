// The driver and runtime calls that make or release device memory, read from CUPTI's callback data into the
// allocation table. Only successful calls are passed here (at their exit, when the new address is known).
#pragma once

#include <cupti.h>

#include "profile/allocations.h"

namespace etok::profile {

/** The callback ids to enable, per domain, for memory tracking. */
const CUpti_CallbackId* driverMemoryCallbacks(size_t& count);
const CUpti_CallbackId* runtimeMemoryCallbacks(size_t& count);

void trackDriverMemory(CUpti_CallbackId cbid, const void* params, AllocationTable& table);
void trackRuntimeMemory(CUpti_CallbackId cbid, const void* params, AllocationTable& table);

}  // namespace etok::profile
