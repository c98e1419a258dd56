// Users' kernels as plugins (include/etok/plugin.h): loading with dlopen, ABI checks, and an adapter that lets
// the harness time and meter a plugin exactly like a built-in kernel.
#pragma once

#include <memory>
#include <string>

#include "etok/kernels/attention.h"
#include "etok/kernels/errors.h"
#include "etok/plugin.h"

namespace etok::plugins {

/** A plugin failure with a stable code: PLUGIN_LOAD, PLUGIN_NO_DESCRIPTOR, PLUGIN_ABI, PLUGIN_BAD_DESCRIPTOR,
    PLUGIN_DEVICE, PLUGIN_SETUP, PLUGIN_RUN, PLUGIN_COST, PLUGIN_OUTPUT. */
class PluginError : public CodedError {
 public:
  PluginError(std::string code, const std::string& message) : CodedError(std::move(code), message) {}
};

struct PluginInfo {
  std::string path;
  std::string name;
  std::string description;
  std::string referenceVariant;  // empty: the plugin makes its own inputs, no quality check
  uint32_t abiVersion = 0;
  bool cpu = false, cuda = false;
};

class Plugin {
 public:
  /** Loads (once per path, kept for the process's life) and checks the descriptor. */
  static std::shared_ptr<Plugin> load(const std::string& path);

  const PluginInfo& info() const { return info_; }
  etok_cost cost(const kernels::Problem& p) const;
  /** `p` carries the reference variant's layout when the plugin has one; `inputs` are then etok's inputs. */
  std::unique_ptr<kernels::PreparedAttention> prepare(const kernels::Problem& p, int device,
                                                      const kernels::HostTensors* inputs) const;

  Plugin(void* handle, const etok_plugin* descriptor, PluginInfo info)
      : handle_(handle), d_(descriptor), info_(std::move(info)) {}

 private:
  void* handle_;
  const etok_plugin* d_;
  PluginInfo info_;
};

etok_problem toPluginProblem(const kernels::Problem& p);

}  // namespace etok::plugins
