// The few NVML types and entry points etok uses, written from NVIDIA's public NVML API reference so the build
// needs no CUDA toolkit. The library itself is loaded at run time with dlopen (never linked).
#pragma once

namespace etok::nvml {

using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;

constexpr nvmlReturn_t NVML_SUCCESS = 0;
constexpr nvmlReturn_t NVML_ERROR_UNINITIALIZED = 1;
constexpr nvmlReturn_t NVML_ERROR_INVALID_ARGUMENT = 2;
constexpr nvmlReturn_t NVML_ERROR_NOT_SUPPORTED = 3;
constexpr nvmlReturn_t NVML_ERROR_NO_PERMISSION = 4;
constexpr nvmlReturn_t NVML_ERROR_NOT_FOUND = 6;
constexpr nvmlReturn_t NVML_ERROR_DRIVER_NOT_LOADED = 9;
constexpr nvmlReturn_t NVML_ERROR_GPU_IS_LOST = 15;
constexpr nvmlReturn_t NVML_ERROR_UNKNOWN = 999;

constexpr unsigned NVML_DEVICE_NAME_V2_BUFFER_SIZE = 96;

/** Stable names for NVML return codes, used as JS error codes (NVML_<name>). */
inline const char* returnName(nvmlReturn_t r) {
  switch (r) {
    case NVML_SUCCESS: return "SUCCESS";
    case NVML_ERROR_UNINITIALIZED: return "UNINITIALIZED";
    case NVML_ERROR_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case NVML_ERROR_NOT_SUPPORTED: return "NOT_SUPPORTED";
    case NVML_ERROR_NO_PERMISSION: return "NO_PERMISSION";
    case NVML_ERROR_NOT_FOUND: return "NOT_FOUND";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "DRIVER_NOT_LOADED";
    case NVML_ERROR_GPU_IS_LOST: return "GPU_LOST";
    default: return "UNKNOWN";
  }
}

}  // namespace etok::nvml
