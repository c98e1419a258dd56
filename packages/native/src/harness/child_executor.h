// An executor in a child process (Python callables, ONNX Runtime sessions), driven over the executor protocol:
// JSON lines on two pipes (docs/harness.md, "Executors in another process"):
//
//   etok → child                                             child → etok
//   (at start)                                               {"ok":true,"protocol":"etok-executor/1"}
//   {"op":"setup","payload":…,"problem":…,"inputs":[…]}      {"ok":true,"info":{…},"hasOutput":bool}
//   {"op":"output","file":PATH}                              {"ok":true,"written":bool,"reason"?}
//   {"op":"time","n":N,"cold":bool}                          {"ok":true,"samples":[seconds…]}
//   {"op":"run","seq":K}  … runs until the control word ≥ K  {"ok":true,"calls":C,"t0Ns":…,"t1Ns":…}
//   (end of commands: the child exits)
//
// A failure is {"ok":false,"error":{"code","type","message","traceback"}}. Inputs travel as raw float32 files in a
// private temporary directory; the stop signal of a run is a 64-bit word in a shared file the child maps, so the
// child only reads memory between calls.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "etok/kernels/attention.h"
#include "harness/child_process.h"
#include "harness/executor.h"
#include "harness/json_value.h"

namespace etok::harness {

/** How to start and set up a child executor (from the plan; the engine adds the problem and inputs). */
struct ChildSpec {
  std::string kind;                  // "python" | "onnx": the results' executor family
  std::vector<std::string> command;  // argv of the child
  std::vector<std::string> env;      // KEY=VALUE added to its environment
  std::string payloadJson = "{}";    // handed to the child's setup as it is
  bool sendInputs = true;            // etok's synthetic inputs of the problem go to the child
  double setupTimeoutS = 300;        // importing a framework and compiling a kernel can take minutes
  double callTimeoutS = 60;          // one call, or the end of a run after the stop signal
};

class ChildExecutor final : public Executor {
 public:
  /** Starts the child and sets it up; throws ExecutorError (the child's exception, a timeout, a crash). */
  ChildExecutor(const ChildSpec& spec, const kernels::Problem& problem, const std::string& device,
                const kernels::HostTensors* inputs, const std::atomic<bool>& cancel);
  ~ChildExecutor() override;

  ExecutorInfo info() const override { return info_; }
  bool inProcess() const override { return false; }
  std::optional<std::vector<float>> outputOfOneCall() override;
  std::vector<double> timedCalls(int n, bool cold) override;
  CallSpan runWhile(const std::function<bool(double calls)>& keepGoing, int64_t pollNs) override;
  CallSpan runSynchronisedWhile(const std::function<bool(double calls)>& keepGoing) override;
  std::vector<int> processIds() const override { return {process_->pid()}; }

  /** Why the child gave no output (when outputOfOneCall returned nullopt). */
  const std::string& noOutputReason() const { return noOutputReason_; }

 private:
  json::Value request(const std::string& line, double timeoutS, const std::string& what);
  json::Value reply(double timeoutS, const std::string& what);

  ChildSpec spec_;
  kernels::Problem problem_;
  const std::atomic<bool>& cancel_;
  std::string dir_;
  std::unique_ptr<ChildProcess> process_;
  int controlFd_ = -1;
  volatile uint64_t* control_ = nullptr;
  uint64_t seq_ = 0;
  ExecutorInfo info_;
  bool hasOutput_ = false;
  std::string noOutputReason_;
  double callEstimateS_ = 0;
};

}  // namespace etok::harness
