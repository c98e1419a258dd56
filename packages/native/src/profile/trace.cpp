#include "profile/trace.h"

#include <cupti.h>
#include <cxxabi.h>

#include <cstdlib>
#include <cstring>
#include <ctime>

#include "meters/meter.h"
#include "profile/cupti_api.h"
#include "profile/launch.h"

namespace etok::profile {

namespace {

using harness::json::Value;

ActivityTrace* active = nullptr;  // the buffer callbacks are plain functions

constexpr size_t kBufferBytes = 4u << 20;

void CUPTIAPI bufferRequested(uint8_t** buffer, size_t* size, size_t* maxRecords) {
  // CUPTI wants 8-byte aligned buffers.
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, kBufferBytes));
  *size = *buffer ? kBufferBytes : 0;
  *maxRecords = 0;
}

void CUPTIAPI bufferCompleted(CUcontext ctx, uint32_t streamId, uint8_t* buffer, size_t /*size*/, size_t validSize) {
  if (active) {
    active->addRecords(buffer, validSize);
    size_t dropped = 0;
    if (cupti().activityGetNumDroppedRecords(ctx, streamId, &dropped) == CUPTI_SUCCESS && dropped > 0)
      active->addDropped(dropped);
  }
  std::free(buffer);
}

Value num(double x) { return Value::number(x); }

Value triple(const unsigned v[3]) { return Value::array({num(v[0]), num(v[1]), num(v[2])}); }

}  // namespace

std::string demangle(const std::string& symbol) {
  int status = 0;
  char* out = abi::__cxa_demangle(symbol.c_str(), nullptr, nullptr, &status);
  if (status != 0 || !out) return symbol;
  std::string s(out);
  std::free(out);
  return s;
}

std::string ActivityTrace::start(const std::string& intervalsPath, uint64_t maxIntervals) {
  CuptiApi& c = cupti();
  active = this;
  intervalsPath_ = intervalsPath;
  maxIntervals_ = maxIntervals;
  intervals_ = std::fopen(intervalsPath.c_str(), "wb");
  if (!intervals_) return "cannot write " + intervalsPath + ": " + std::strerror(errno);
  CUptiResult rc = c.activityRegisterCallbacks(bufferRequested, bufferCompleted);
  if (rc != CUPTI_SUCCESS) return "cuptiActivityRegisterCallbacks returned " + c.errorName(rc);
  rc = c.activityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
  if (rc != CUPTI_SUCCESS) return "cuptiActivityEnable(CONCURRENT_KERNEL) returned " + c.errorName(rc);
  calibrate();
  return {};
}

void ActivityTrace::calibrate() {
  // A CUPTI timestamp read between two monotonic readings is paired with their midpoint.
  uint64_t t = 0;
  const int64_t a = meters::nowNs();
  if (cupti().getTimestamp(&t) != CUPTI_SUCCESS) return;
  const int64_t b = meters::nowNs();
  std::lock_guard<std::mutex> lock(mutex_);
  calibration_.push_back({t, a + (b - a) / 2});
}

void ActivityTrace::flush(bool forced) {
  cupti().activityFlushAll(forced ? CUPTI_ACTIVITY_FLAG_FLUSH_FORCED : 0);
  calibrate();
  std::lock_guard<std::mutex> lock(mutex_);
  if (intervals_) std::fflush(intervals_);
}

void ActivityTrace::addDropped(uint64_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  dropped_ += n;
}

void ActivityTrace::addRecords(uint8_t* buffer, size_t validSize) {
  CUpti_Activity* record = nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  while (cupti().activityGetNextRecord(buffer, validSize, &record) == CUPTI_SUCCESS) {
    if (record->kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL && record->kind != CUPTI_ACTIVITY_KIND_KERNEL) continue;
    // The fields read here lead the record in every version of the kernel record, so a CUPTI newer than the
    // headers reads the same.
    const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(record);
    LaunchKey key;
    key.symbol = k->name ? k->name : "(unnamed)";
    key.grid = {static_cast<unsigned>(k->gridX), static_cast<unsigned>(k->gridY), static_cast<unsigned>(k->gridZ)};
    key.block = {static_cast<unsigned>(k->blockX), static_cast<unsigned>(k->blockY), static_cast<unsigned>(k->blockZ)};
    key.sharedMemBytes = static_cast<unsigned>(k->dynamicSharedMemory);
    KernelStats& s = kernels_[key.text()];
    if (s.calls == 0) {
      s.symbol = key.symbol;
      s.name = demangle(key.symbol);
      for (int i = 0; i < 3; i++) {
        s.grid[i] = key.grid[i];
        s.block[i] = key.block[i];
      }
      s.sharedMemBytes = key.sharedMemBytes;
      s.device = k->deviceId;
    }
    const uint64_t ns = k->end > k->start ? k->end - k->start : 0;
    s.calls++;
    if (k->graphId != 0) s.graphCalls++;
    s.totalNs += ns;
    s.minNs = std::min(s.minNs, ns);
    s.maxNs = std::max(s.maxNs, ns);
    if (intervals_ && intervalCount_ < maxIntervals_) {
      const uint64_t pair[2] = {k->start, k->end};
      std::fwrite(pair, sizeof pair, 1, intervals_);
      intervalCount_++;
    } else {
      intervalsTruncated_ = true;
    }
  }
}

harness::json::Value ActivityTrace::summary() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Value> kernels;
  for (const auto& [key, s] : kernels_) {
    kernels.push_back(Value::object({
        {"key", Value::string(key)},
        {"symbol", Value::string(s.symbol)},
        {"name", Value::string(s.name)},
        {"grid", triple(s.grid)},
        {"block", triple(s.block)},
        {"sharedMemBytes", num(s.sharedMemBytes)},
        {"device", num(s.device)},
        {"calls", num(static_cast<double>(s.calls))},
        {"graphCalls", num(static_cast<double>(s.graphCalls))},
        {"totalNs", num(static_cast<double>(s.totalNs))},
        {"minNs", num(s.calls ? static_cast<double>(s.minNs) : 0)},
        {"maxNs", num(static_cast<double>(s.maxNs))},
    }));
  }
  std::vector<Value> cupti, mono;
  for (const auto& [c, m] : calibration_) {
    cupti.push_back(Value::string(std::to_string(c)));  // exact: CUPTI timestamps may exceed 2^53
    mono.push_back(num(static_cast<double>(m)));
  }
  return Value::object({
      {"kernels", Value::array(std::move(kernels))},
      {"calibration",
       Value::object({{"cuptiNs", Value::array(std::move(cupti))}, {"monoNs", Value::array(std::move(mono))}})},
      {"intervals", Value::object({{"file", Value::string(intervalsPath_)},
                                   {"count", num(static_cast<double>(intervalCount_))},
                                   {"truncated", Value::boolean(intervalsTruncated_)}})},
      {"droppedRecords", num(static_cast<double>(dropped_))},
  });
}

}  // namespace etok::profile
