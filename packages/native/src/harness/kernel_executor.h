// In-process executors: etok's own kernels (CPU or CUDA) and users' C plugins, both behind
// kernels::PreparedAttention, driven call by call on the engine's thread.
#pragma once

#include <memory>
#include <string>

#include "etok/kernels/attention.h"
#include "harness/executor.h"

namespace etok::harness {

class KernelExecutor final : public Executor {
 public:
  /** `kind` is "etok" or "plugin"; `name` the plugin's name (empty for etok). */
  KernelExecutor(std::unique_ptr<kernels::PreparedAttention> kernel, std::string kind, std::string name);

  ExecutorInfo info() const override;
  bool inProcess() const override { return true; }
  std::optional<std::vector<float>> outputOfOneCall() override;
  std::vector<double> timedCalls(int n, bool cold) override;
  CallSpan runWhile(const std::function<bool(double calls)>& keepGoing, int64_t pollNs) override;
  CallSpan runSynchronisedWhile(const std::function<bool(double calls)>& keepGoing) override;

 private:
  std::unique_ptr<kernels::PreparedAttention> kernel_;
  std::string kind_, name_;
};

}  // namespace etok::harness
