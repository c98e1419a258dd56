// What the engine drives. An executor holds one configuration, prepared, and makes calls when the engine asks:
// one call with its output (the quality check), single synchronised calls each timed, and calls back to back
// until the engine says stop. Every rule of measurement (warm-up, stopping, windows sized to the meter and
// aligned to its steps, interleaving, idle split) lives in the engine (harness.cpp), once, for every executor.
//
// Two kinds exist. In-process executors (etok's kernels, C plugins) are driven call by call on the engine's own
// thread, so the engine counts their calls exactly. Child executors (Python callables, ONNX Runtime sessions) run
// in another process that speaks a line protocol (child_executor.h); they run back to back on their own until told
// to stop and report how many calls they made between two timestamps, and the engine counts the calls inside a
// window from that rate.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "etok/kernels/errors.h"

namespace etok::harness {

/** An executor's failure with a stable code (EXECUTOR_EXCEPTION, EXECUTOR_TIMEOUT, EXECUTOR_CRASHED, …), its one-line
    message, and the detail a results file keeps (a Python traceback, the child's last words). */
class ExecutorError : public CodedError {
 public:
  ExecutorError(std::string code, const std::string& message, std::string detail = {})
      : CodedError(std::move(code), message, std::move(detail)) {}
};

/** What ran, for results: the executor family and the implementation's own words. */
struct ExecutorInfo {
  std::string kind;         // "etok" | "plugin" | "python" | "onnx"
  std::string description;  // e.g. "cuda mma<d128, 64 rows>, grid 4x16x1, 1 KV split(s)" or "torch 2.11 sdpa (flash)"
  std::string name;  // the implementation's name (a plugin's or a registered callable's)
  std::string version;  // the runtime's version where it has one (torch, onnxruntime)
  std::string framework;  // python: the framework the callable used (torch, cupy, jax, numpy), when known
  std::string detailsJson;  // child executors: what else they report about themselves (JSON), for the results
};

/** Calls made back to back: how many, and the steady_clock instants before the first and after the final
    synchronisation. */
struct CallSpan {
  double calls = 0;
  int64_t t0Ns = 0, t1Ns = 0;
};

class Executor {
 public:
  virtual ~Executor() = default;

  virtual ExecutorInfo info() const = 0;

  /** True when calls run on the engine's thread (counted exactly); false for a child process (counted by rate). */
  virtual bool inProcess() const = 0;

  /** One synchronised call whose output is returned as host float32 in the layout of docs/spec.md §3, every element
      written by this call (poisoned before it where the executor can); nullopt when the executor cannot give its
      output. */
  virtual std::optional<std::vector<float>> outputOfOneCall() = 0;

  /** `n` synchronised calls, each timed (the device's own clock where the executor has one). `cold`: the device's
      caches are evicted before each call, outside its time (the engine evicts the host's). */
  virtual std::vector<double> timedCalls(int n, bool cold) = 0;

  /** Calls back to back, not synchronised between them, while `keepGoing(calls so far)` holds, then one
      synchronisation. In-process executors ask `keepGoing` after each call; child executors run on their own and the
      engine asks `keepGoing` on its thread every `pollNs` (calls so far unknown: it is passed as −1). */
  virtual CallSpan runWhile(const std::function<bool(double calls)>& keepGoing, int64_t pollNs) = 0;

  /** Synchronised calls while `keepGoing` holds, each followed by the question: how the engine keeps the device
      busy while it waits for a meter step at the end of a window. In-process executors only. */
  virtual CallSpan runSynchronisedWhile(const std::function<bool(double calls)>& keepGoing) = 0;

  /** Processes whose CPU time is this executor's work (children), for meters that model CPU power from it. */
  virtual std::vector<int> processIds() const { return {}; }
};

}  // namespace etok::harness
