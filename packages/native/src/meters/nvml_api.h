// The few NVML types and entry points etok uses, written from NVIDIA's public NVML API reference so the build
// needs no CUDA toolkit. The library itself is loaded at run time with dlopen (never linked): see nvml_library.h.
#pragma once

#include <cstdint>

namespace etok::nvml {

using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;

constexpr nvmlReturn_t NVML_SUCCESS = 0;
constexpr nvmlReturn_t NVML_ERROR_UNINITIALIZED = 1;
constexpr nvmlReturn_t NVML_ERROR_INVALID_ARGUMENT = 2;
constexpr nvmlReturn_t NVML_ERROR_NOT_SUPPORTED = 3;
constexpr nvmlReturn_t NVML_ERROR_NO_PERMISSION = 4;
constexpr nvmlReturn_t NVML_ERROR_ALREADY_INITIALIZED = 5;
constexpr nvmlReturn_t NVML_ERROR_NOT_FOUND = 6;
constexpr nvmlReturn_t NVML_ERROR_INSUFFICIENT_SIZE = 7;
constexpr nvmlReturn_t NVML_ERROR_INSUFFICIENT_POWER = 8;
constexpr nvmlReturn_t NVML_ERROR_DRIVER_NOT_LOADED = 9;
constexpr nvmlReturn_t NVML_ERROR_TIMEOUT = 10;
constexpr nvmlReturn_t NVML_ERROR_IRQ_ISSUE = 11;
constexpr nvmlReturn_t NVML_ERROR_LIBRARY_NOT_FOUND = 12;
constexpr nvmlReturn_t NVML_ERROR_FUNCTION_NOT_FOUND = 13;
constexpr nvmlReturn_t NVML_ERROR_CORRUPTED_INFOROM = 14;
constexpr nvmlReturn_t NVML_ERROR_GPU_IS_LOST = 15;
constexpr nvmlReturn_t NVML_ERROR_RESET_REQUIRED = 16;
constexpr nvmlReturn_t NVML_ERROR_OPERATING_SYSTEM = 17;
constexpr nvmlReturn_t NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18;
constexpr nvmlReturn_t NVML_ERROR_IN_USE = 19;
constexpr nvmlReturn_t NVML_ERROR_MEMORY = 20;
constexpr nvmlReturn_t NVML_ERROR_NO_DATA = 21;
constexpr nvmlReturn_t NVML_ERROR_UNKNOWN = 999;

constexpr unsigned NVML_DEVICE_NAME_V2_BUFFER_SIZE = 96;
constexpr unsigned NVML_DEVICE_UUID_V2_BUFFER_SIZE = 96;
constexpr unsigned NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE = 80;

// nvmlClockType_t and nvmlTemperatureSensors_t values.
constexpr int NVML_CLOCK_SM = 1;
constexpr int NVML_CLOCK_MEM = 2;
constexpr int NVML_TEMPERATURE_GPU = 0;

// nvmlDeviceArchitecture_t values (pre-Ampere boards report nvmlDeviceGetPowerUsage as a near-instant reading).
constexpr unsigned NVML_DEVICE_ARCH_AMPERE = 7;
constexpr unsigned NVML_DEVICE_ARCH_UNKNOWN = 0xffffffffu;

// Field values (nvmlDeviceGetFieldValues): instant board power in mW, supported on all architectures by recent
// drivers; older drivers answer NOT_SUPPORTED in the per-field return.
constexpr unsigned NVML_FI_DEV_POWER_INSTANT = 186;

enum nvmlValueType_t : int {
  NVML_VALUE_TYPE_DOUBLE = 0,
  NVML_VALUE_TYPE_UNSIGNED_INT = 1,
  NVML_VALUE_TYPE_UNSIGNED_LONG = 2,
  NVML_VALUE_TYPE_UNSIGNED_LONG_LONG = 3,
  NVML_VALUE_TYPE_SIGNED_LONG_LONG = 4,
  NVML_VALUE_TYPE_SIGNED_INT = 5,
  NVML_VALUE_TYPE_UNSIGNED_SHORT = 6,
};

union nvmlValue_t {
  double dVal;
  unsigned int uiVal;
  unsigned long ulVal;
  unsigned long long ullVal;
  long long sllVal;
  int siVal;
  unsigned short usVal;
};

struct nvmlFieldValue_t {
  unsigned int fieldId;
  unsigned int scopeId;   // 0: the GPU (for power fields; 1 would be the module)
  long long timestamp;    // CPU time of the value, µs since 1970
  long long latencyUsec;
  nvmlValueType_t valueType;
  nvmlReturn_t nvmlReturn;
  nvmlValue_t value;
};

/** The value of a field as a double, whatever its declared type. */
inline double fieldAsDouble(const nvmlFieldValue_t& f) {
  switch (f.valueType) {
    case NVML_VALUE_TYPE_DOUBLE: return f.value.dVal;
    case NVML_VALUE_TYPE_UNSIGNED_INT: return static_cast<double>(f.value.uiVal);
    case NVML_VALUE_TYPE_UNSIGNED_LONG: return static_cast<double>(f.value.ulVal);
    case NVML_VALUE_TYPE_UNSIGNED_LONG_LONG: return static_cast<double>(f.value.ullVal);
    case NVML_VALUE_TYPE_SIGNED_LONG_LONG: return static_cast<double>(f.value.sllVal);
    case NVML_VALUE_TYPE_SIGNED_INT: return static_cast<double>(f.value.siVal);
    case NVML_VALUE_TYPE_UNSIGNED_SHORT: return static_cast<double>(f.value.usVal);
  }
  return static_cast<double>(f.value.uiVal);
}

// nvmlClocksEventReasons (formerly "throttle reasons") bits.
struct ClockEventReason {
  unsigned long long bit;
  const char* name;
  bool slowdown;  // lowers clocks below what the workload asked for (power, thermal, hardware brake)
};
constexpr ClockEventReason kClockEventReasons[] = {
    {0x1ull, "gpu-idle", false},
    {0x2ull, "applications-clocks-setting", false},
    {0x4ull, "sw-power-cap", true},
    {0x8ull, "hw-slowdown", true},
    {0x10ull, "sync-boost", false},
    {0x20ull, "sw-thermal-slowdown", true},
    {0x40ull, "hw-thermal-slowdown", true},
    {0x80ull, "hw-power-brake-slowdown", true},
    {0x100ull, "display-clock-setting", false},
};

/** Stable names for NVML return codes, used as JS error codes (NVML_<name>). */
inline const char* returnName(nvmlReturn_t r) {
  switch (r) {
    case NVML_SUCCESS: return "SUCCESS";
    case NVML_ERROR_UNINITIALIZED: return "UNINITIALIZED";
    case NVML_ERROR_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case NVML_ERROR_NOT_SUPPORTED: return "NOT_SUPPORTED";
    case NVML_ERROR_NO_PERMISSION: return "NO_PERMISSION";
    case NVML_ERROR_ALREADY_INITIALIZED: return "ALREADY_INITIALIZED";
    case NVML_ERROR_NOT_FOUND: return "NOT_FOUND";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "INSUFFICIENT_SIZE";
    case NVML_ERROR_INSUFFICIENT_POWER: return "INSUFFICIENT_POWER";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "DRIVER_NOT_LOADED";
    case NVML_ERROR_TIMEOUT: return "TIMEOUT";
    case NVML_ERROR_IRQ_ISSUE: return "IRQ_ISSUE";
    case NVML_ERROR_LIBRARY_NOT_FOUND: return "LIBRARY_NOT_FOUND";
    case NVML_ERROR_FUNCTION_NOT_FOUND: return "FUNCTION_NOT_FOUND";
    case NVML_ERROR_CORRUPTED_INFOROM: return "CORRUPTED_INFOROM";
    case NVML_ERROR_GPU_IS_LOST: return "GPU_LOST";
    case NVML_ERROR_RESET_REQUIRED: return "RESET_REQUIRED";
    case NVML_ERROR_OPERATING_SYSTEM: return "OPERATING_SYSTEM";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH: return "LIB_RM_VERSION_MISMATCH";
    case NVML_ERROR_IN_USE: return "IN_USE";
    case NVML_ERROR_MEMORY: return "MEMORY";
    case NVML_ERROR_NO_DATA: return "NO_DATA";
    default: return "UNKNOWN";
  }
}

}  // namespace etok::nvml
