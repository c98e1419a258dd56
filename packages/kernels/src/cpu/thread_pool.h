// A small persistent pool: parallelFor hands out indices through one atomic counter (dynamic scheduling, so
// uneven units such as causal prefill rows balance themselves). Workers live as long as the prepared kernel,
// so a timed call does not pay for thread creation.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace etok::kernels::cpu {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  /** Calls fn(index, worker) for index in [0, count); worker in [0, size()). The caller's thread is worker 0. */
  void parallelFor(int64_t count, const std::function<void(int64_t, int)>& fn);

 private:
  void work(int worker);
  void drain(int worker);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t, int)>* job_ = nullptr;
  int64_t count_ = 0;
  std::atomic<int64_t> next_{0};
  uint64_t generation_ = 0;
  int busy_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

}  // namespace etok::kernels::cpu
