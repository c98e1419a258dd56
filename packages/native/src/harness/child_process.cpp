#include "harness/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "harness/executor.h"
#include "meters/meter.h"

extern char** environ;

namespace etok::harness {

namespace {

// The child's end of the protocol pipes: fixed numbers, so the child finds them without parsing anything.
constexpr int kChildCommandFd = 3;
constexpr int kChildReplyFd = 4;

std::string signalName(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGKILL: return "SIGKILL";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    default: return "signal " + std::to_string(sig);
  }
}

void closeFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env)
    : program_(argv.empty() ? std::string() : argv.front()) {
  if (argv.empty()) throw ExecutorError("EXECUTOR_START", "an executor needs a command to start");
  // Everything the child needs is built before fork: only async-signal-safe calls may follow it.
  std::vector<std::string> envStrings;
  for (char** e = environ; e && *e; e++) envStrings.emplace_back(*e);
  for (const auto& kv : env) {
    const std::string key = kv.substr(0, kv.find('=') + 1);
    for (auto& s : envStrings)
      if (s.compare(0, key.size(), key) == 0) s.clear();
    envStrings.push_back(kv);
  }
  envStrings.push_back("ETOK_EXECUTOR_FDS=" + std::to_string(kChildCommandFd) + "," + std::to_string(kChildReplyFd));
  std::vector<char*> envp, args;
  for (auto& s : envStrings)
    if (!s.empty()) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argvCopy = argv;
  for (auto& a : argvCopy) args.push_back(a.data());
  args.push_back(nullptr);

  int commands[2], replies[2], execError[2];
  if (pipe2(commands, O_CLOEXEC) != 0 || pipe2(replies, O_CLOEXEC) != 0 || pipe2(execError, O_CLOEXEC) != 0)
    throw ExecutorError("EXECUTOR_START", std::string("cannot create pipes for the executor: ") + std::strerror(errno));
  const int devNull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    for (int fd : {commands[0], commands[1], replies[0], replies[1], execError[0], execError[1], devNull}) ::close(fd);
    throw ExecutorError("EXECUTOR_START", std::string("cannot fork an executor process: ") + std::strerror(err));
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died between fork and prctl
    // Out of the way first (numbers >= 10), so placing them on 3 and 4 cannot overwrite one with the other.
    const int c = fcntl(commands[0], F_DUPFD, 10), r = fcntl(replies[1], F_DUPFD, 10);
    if (devNull >= 0) dup2(devNull, 0);
    dup2(2, 1);  // what the user's code prints goes to etok's stderr, never to its stdout
    dup2(c, kChildCommandFd);
    dup2(r, kChildReplyFd);
    signal(SIGINT, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    execve(args[0], args.data(), envp.data());
    // execve does not search PATH: try each PATH entry, as execvp would, without allocating.
    const char* path = nullptr;
    for (char** e = envp.data(); *e; e++)
      if (std::strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
    if (std::strchr(args[0], '/') == nullptr && path) {
      char candidate[4096];
      const char* p = path;
      while (*p) {
        const char* end = std::strchr(p, ':');
        const size_t len = end ? static_cast<size_t>(end - p) : std::strlen(p);
        const size_t name = std::strlen(args[0]);
        if (len + 1 + name + 1 < sizeof candidate) {
          std::memcpy(candidate, p, len);
          candidate[len] = '/';
          std::memcpy(candidate + len + 1, args[0], name + 1);
          execve(candidate, args.data(), envp.data());
        }
        p = end ? end + 1 : p + len;
      }
    }
    const int err = errno;
    (void)!write(execError[1], &err, sizeof err);
    _exit(127);
  }
  pid_ = pid;
  for (int fd : {commands[0], replies[1], execError[1], devNull})
    if (fd >= 0) ::close(fd);
  commandFd_ = commands[1];
  replyFd_ = replies[0];
  int err = 0;
  const ssize_t n = ::read(execError[0], &err, sizeof err);  // EOF (0 bytes) once exec succeeded (CLOEXEC)
  ::close(execError[0]);
  if (n == static_cast<ssize_t>(sizeof err)) {
    reap(true);
    closeFd(commandFd_);
    closeFd(replyFd_);
    throw ExecutorError("EXECUTOR_START", "cannot run '" + program_ + "': " + std::strerror(err));
  }
  signal(SIGPIPE, SIG_IGN);  // a child that died mid-write surfaces as EPIPE, not as our death
}

ChildProcess::~ChildProcess() {
  kill();
  closeFd(commandFd_);
  closeFd(replyFd_);
}

void ChildProcess::writeLine(const std::string& line) {
  const std::string data = line + "\n";
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(commandFd_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      reap(false);
      throw ExecutorError("EXECUTOR_CRASHED",
                          "the executor process " +
                              (exitDescription().empty() ? std::string("closed its command pipe") : exitDescription()));
    }
    done += static_cast<size_t>(n);
  }
}

bool ChildProcess::replyPending() {
  if (buffer_.find('\n') != std::string::npos) return true;
  pollfd p{replyFd_, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

std::string ChildProcess::readLine(double timeoutS, const std::string& what, const std::atomic<bool>* cancel) {
  const int64_t deadline = meters::nowNs() + static_cast<int64_t>(timeoutS * 1e9);
  while (true) {
    const auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (cancel && cancel->load()) {
      kill();
      throw ExecutorError("CANCELLED", "cancelled while the executor ran its " + what);
    }
    const int64_t left = deadline - meters::nowNs();
    if (left <= 0) {
      kill();
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%g", timeoutS);
      throw ExecutorError("EXECUTOR_TIMEOUT", "the executor's " + what + " did not return within " + seconds +
                                                  " s; it was stopped (raise the limit with --call-timeout)");
    }
    pollfd p{replyFd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left / 1000000 + 1, 50)));
    if (ready < 0 && errno != EINTR)
      throw ExecutorError("EXECUTOR_CRASHED", std::string("poll: ") + std::strerror(errno));
    if (ready <= 0) continue;
    char chunk[65536];
    const ssize_t n = ::read(replyFd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // The reply pipe closed: the child exited or was killed. Give it a moment to be reaped for its status.
      for (int i = 0; i < 100 && !exited_; i++) {
        reap(false);
        if (!exited_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      const std::string how = exitDescription();
      throw ExecutorError("EXECUTOR_CRASHED",
                          "the executor process " + (how.empty() ? "closed its reply pipe" : how) + " during its " +
                              what,
                          how);
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

void ChildProcess::reap(bool block) {
  if (exited_ || pid_ <= 0) return;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r == pid_) {
    exited_ = true;
    status_ = status;
  }
}

void ChildProcess::kill() {
  if (pid_ <= 0) return;
  reap(false);
  if (!exited_) {
    ::kill(-pid_, SIGKILL);  // the child's group: what it started goes too
    ::kill(pid_, SIGKILL);
    reap(true);
  }
}

void ChildProcess::finish(double timeoutS) {
  closeFd(commandFd_);  // end of commands: a well-behaved child exits
  const int64_t deadline = meters::nowNs() + static_cast<int64_t>(timeoutS * 1e9);
  while (!exited_ && meters::nowNs() < deadline) {
    reap(false);
    if (!exited_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill();
}

std::string ChildProcess::exitDescription() {
  reap(false);
  if (!exited_) return {};
  if (WIFSIGNALED(status_)) {
    const int sig = WTERMSIG(status_);
    const char* hint = sig == SIGKILL ? " (out of memory?)" : (sig == SIGSEGV || sig == SIGBUS) ? " (a crash)" : "";
    return "was killed by " + signalName(sig) + hint;
  }
  return "exited with status " + std::to_string(WEXITSTATUS(status_));
}

}  // namespace etok::harness
