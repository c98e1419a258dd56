// The one base of every error etok's C++ throws on purpose: a stable code that reaches JavaScript as `error.code`
// (and a results file as a failure's code), the one-line message, and the detail worth keeping beside it (a field
// name, a Python traceback). Callers catch `CodedError` and read code(); nothing parses a message for its code.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace etok {

class CodedError : public std::runtime_error {
 public:
  CodedError(std::string code, const std::string& message, std::string detail = {})
      : std::runtime_error(message), code_(std::move(code)), detail_(std::move(detail)) {}
  /** Upper-case and stable across releases, e.g. BAD_SHAPE, CUDA_ERROR, NVML_GPU_LOST. */
  const std::string& code() const noexcept { return code_; }
  /** What a results file keeps beside the message; empty when there is nothing more to say. */
  const std::string& detail() const noexcept { return detail_; }

 private:
  std::string code_;
  std::string detail_;
};

}  // namespace etok
