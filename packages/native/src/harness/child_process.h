// A child process for an executor: started with two extra pipes (commands in on fd 3, replies out on fd 4), its
// stdout and stderr sent to ours (so what a user's code prints never mixes with etok's machine output), in its own
// process group (a terminal's Ctrl-C reaches etok, which decides), and killed with its parent (PR_SET_PDEATHSIG).
// Every read has a deadline: a child that hangs is killed, never waited on forever.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace etok::harness {

class ChildProcess {
 public:
  /** Starts `argv` with `env` added to this process's environment; throws ExecutorError EXECUTOR_START naming the
      program when it cannot be run. */
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int pid() const { return pid_; }

  /** Writes one line (a newline is added). Throws EXECUTOR_CRASHED when the child is gone. */
  void writeLine(const std::string& line);

  /** The next line the child wrote, waiting at most `timeoutS`; polls `cancel` every 50 ms. Throws
      EXECUTOR_TIMEOUT (the child is killed), EXECUTOR_CRASHED (it exited or was killed: the status says how) or
      CANCELLED. `what` names the awaited step in messages ("setup", "one call"). */
  std::string readLine(double timeoutS, const std::string& what, const std::atomic<bool>* cancel);

  /** True when a reply line (or the end of the stream) is waiting; does not block. */
  bool replyPending();

  /** Kills the whole process group and reaps it. */
  void kill();

  /** Waits up to `timeoutS` for the child to exit by itself, then kills it. */
  void finish(double timeoutS);

  /** "exited with status 3", "was killed by SIGSEGV", or empty while it runs. */
  std::string exitDescription();

 private:
  void reap(bool block);
  std::string program_;
  int pid_ = -1;
  int commandFd_ = -1, replyFd_ = -1;
  bool exited_ = false;
  int status_ = 0;
  std::string buffer_;
};

}  // namespace etok::harness
