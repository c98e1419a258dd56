#include "harness/kernel_executor.h"

#include "meters/meter.h"

namespace etok::harness {

KernelExecutor::KernelExecutor(std::unique_ptr<kernels::PreparedAttention> kernel, std::string kind, std::string name)
    : kernel_(std::move(kernel)), kind_(std::move(kind)), name_(std::move(name)) {}

ExecutorInfo KernelExecutor::info() const {
  ExecutorInfo i;
  i.kind = kind_;
  i.name = name_;
  i.description = kernel_->describe();
  return i;
}

std::optional<std::vector<float>> KernelExecutor::outputOfOneCall() {
  kernel_->poisonOutput();  // a kernel that writes nothing must not pass on stale or zeroed memory
  kernel_->run();
  kernel_->synchronize();
  return kernel_->output();
}

std::vector<double> KernelExecutor::timedCalls(int n, bool cold) {
  std::vector<double> out;
  out.reserve(static_cast<size_t>(std::max(n, 0)));
  for (int i = 0; i < n; i++) {
    if (cold) kernel_->flushDeviceCaches();  // queued on the kernel's stream, outside its timed events
    const int64_t c0 = meters::nowNs();
    kernel_->run();
    kernel_->synchronize();
    const double host = static_cast<double>(meters::nowNs() - c0) * 1e-9;
    // The device's own clock (CUDA events around the launches) where the kernel has one.
    const double device = kernel_->lastRunDeviceSeconds();
    out.push_back(device >= 0 ? device : host);
  }
  return out;
}

CallSpan KernelExecutor::runWhile(const std::function<bool(double calls)>& keepGoing, int64_t /*pollNs*/) {
  CallSpan span;
  span.t0Ns = meters::nowNs();
  int64_t calls = 0;
  while (keepGoing(static_cast<double>(calls))) {
    kernel_->run();
    calls++;
  }
  kernel_->synchronize();
  span.t1Ns = meters::nowNs();
  span.calls = static_cast<double>(calls);
  return span;
}

CallSpan KernelExecutor::runSynchronisedWhile(const std::function<bool(double calls)>& keepGoing) {
  CallSpan span;
  span.t0Ns = meters::nowNs();
  int64_t calls = 0;
  while (keepGoing(static_cast<double>(calls))) {
    kernel_->run();
    kernel_->synchronize();
    calls++;
  }
  span.t1Ns = meters::nowNs();
  span.calls = static_cast<double>(calls);
  return span;
}

}  // namespace etok::harness
