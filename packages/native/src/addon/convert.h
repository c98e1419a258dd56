// JS values ⇄ the plain C++ structs of the harness. Runs on the JS thread only; workers see the structs.
#pragma once

#include <napi.h>

#include "etok/kernels/attention.h"
#include "harness/harness.h"

namespace etok::addon {

/** { variant, phase, dtype?, shape: {...}, params: {...} } → Problem. Throws BadShape naming the field. */
kernels::Problem toProblem(const Napi::Object& request);
harness::MeasurePlan toPlan(const Napi::Object& plan);
kernels::HostTensors toInputs(const kernels::Problem& p, const Napi::Object& inputs);
Napi::Object fromResult(Napi::Env env, const harness::MeasureResult& r);

/** A JS Error with a stable `code`, for errors thrown by C++ code. */
Napi::Error codedError(Napi::Env env, const std::string& code, const std::string& message);
/** Maps a C++ exception to a coded JS error (BAD_SHAPE, NVML_*, RAPL_*, CUDA_*, INTERNAL). */
Napi::Error toJsError(Napi::Env env, const std::exception_ptr& error);

}  // namespace etok::addon
