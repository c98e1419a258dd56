#include "plugins/plugin.h"

#include <dlfcn.h>

#include <cctype>
#include <map>
#include <mutex>
#include <vector>

namespace etok::plugins {

namespace {

constexpr size_t kErrorSize = 512;

std::string describeFailure(const PluginInfo& info, const char* call, int status, const char* error) {
  std::string msg = "plugin '" + info.name + "' (" + info.path + "): " + call + " failed (status " +
                    std::to_string(status) + ")";
  if (error && *error) msg += ": " + std::string(error);
  return msg;
}

bool validName(const char* name) {
  if (!name || !*name) return false;
  for (const char* c = name; *c; c++)
    if (!std::isalnum(static_cast<unsigned char>(*c)) && *c != '-' && *c != '_') return false;
  return true;
}

class PluginKernel final : public kernels::PreparedAttention {
 public:
  PluginKernel(const etok_plugin* d, const PluginInfo& info, void* instance, size_t outputCount)
      : d_(d), info_(info), instance_(instance), outputCount_(outputCount) {}
  ~PluginKernel() override {
    if (d_->teardown) d_->teardown(instance_);
  }

  void run() override {
    char error[kErrorSize] = {0};
    const int status = d_->run(instance_, nullptr, error, sizeof error);
    if (status != 0) throw PluginError("PLUGIN_RUN", describeFailure(info_, "run", status, error));
  }

  std::vector<float> output() override {
    if (!d_->output || outputCount_ == 0)
      throw PluginError("PLUGIN_OUTPUT", "plugin '" + info_.name + "' does not return its output");
    std::vector<float> out(outputCount_);
    char error[kErrorSize] = {0};
    const int status = d_->output(instance_, out.data(), out.size(), error, sizeof error);
    if (status != 0) throw PluginError("PLUGIN_OUTPUT", describeFailure(info_, "output", status, error));
    return out;
  }

 private:
  const etok_plugin* d_;
  const PluginInfo& info_;
  void* instance_;
  size_t outputCount_;
};

}  // namespace

etok_problem toPluginProblem(const kernels::Problem& p) {
  etok_problem q{};
  q.phase = p.phase == kernels::Phase::Decode ? ETOK_PHASE_DECODE : ETOK_PHASE_PREFILL;
  q.dtype = p.dtype == kernels::Dtype::F32    ? ETOK_DTYPE_F32
            : p.dtype == kernels::Dtype::BF16 ? ETOK_DTYPE_BF16
                                              : ETOK_DTYPE_F16;
  q.batch = p.shape.batch;
  q.heads = p.shape.heads;
  q.kv_heads = p.shape.kvHeads;
  q.head_dim = p.shape.headDim;
  q.q_len = p.shape.qLen;
  q.kv_len = p.shape.kvLen;
  q.rank = p.shape.rank;
  q.rope_dim = p.shape.ropeDim;
  q.scale = p.params.scale;
  q.block_size = p.params.blockSize;
  q.top_k = p.params.topK;
  q.window = p.params.window;
  return q;
}

std::shared_ptr<Plugin> Plugin::load(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<Plugin>> loaded;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = loaded.find(path); it != loaded.end()) return it->second;

  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    throw PluginError("PLUGIN_LOAD", "cannot load plugin " + path + ": " + (err ? err : "unknown error"));
  }
  auto fn = reinterpret_cast<etok_plugin_descriptor_fn>(dlsym(handle, ETOK_PLUGIN_DESCRIPTOR_SYMBOL));
  if (!fn) {
    dlclose(handle);
    throw PluginError("PLUGIN_NO_DESCRIPTOR", "plugin " + path + " does not export " + ETOK_PLUGIN_DESCRIPTOR_SYMBOL +
                                                  "(); see include/etok/plugin.h");
  }
  const etok_plugin* d = fn();
  if (!d) throw PluginError("PLUGIN_BAD_DESCRIPTOR", "plugin " + path + ": etok_plugin_descriptor() returned NULL");
  if (d->abi_version != ETOK_PLUGIN_ABI_VERSION)
    throw PluginError("PLUGIN_ABI", "plugin " + path + " was built for etok plugin ABI " +
                                        std::to_string(d->abi_version) + "; this etok speaks ABI " +
                                        std::to_string(ETOK_PLUGIN_ABI_VERSION) +
                                        ". Rebuild it against this etok's include/etok/plugin.h");
  if (d->struct_size < sizeof(etok_plugin))
    throw PluginError("PLUGIN_ABI", "plugin " + path + ": descriptor is " + std::to_string(d->struct_size) +
                                        " bytes, expected " + std::to_string(sizeof(etok_plugin)));
  if (!validName(d->name))
    throw PluginError("PLUGIN_BAD_DESCRIPTOR", "plugin " + path + ": name must be letters, digits, '-' or '_'");
  if (!d->setup || !d->run || !d->cost)
    throw PluginError("PLUGIN_BAD_DESCRIPTOR", "plugin " + path + ": setup, run and cost are required");

  PluginInfo info;
  info.path = path;
  info.name = d->name;
  info.description = d->description ? d->description : "";
  info.referenceVariant = d->reference_variant ? d->reference_variant : "";
  info.abiVersion = d->abi_version;
  info.cpu = (d->devices & ETOK_DEVICE_CPU) != 0;
  info.cuda = (d->devices & ETOK_DEVICE_CUDA) != 0;
  if (!info.referenceVariant.empty()) {
    try {
      kernels::parseVariant(info.referenceVariant);
    } catch (const kernels::BadShape&) {
      throw PluginError("PLUGIN_BAD_DESCRIPTOR", "plugin " + path + ": reference_variant '" + info.referenceVariant +
                                                     "' is not a built-in lever set");
    }
  }
  auto plugin = std::make_shared<Plugin>(handle, d, std::move(info));
  loaded.emplace(path, plugin);
  return plugin;
}

etok_cost Plugin::cost(const kernels::Problem& p) const {
  const etok_problem q = toPluginProblem(p);
  etok_cost c{};
  char error[kErrorSize] = {0};
  const int status = d_->cost(&q, &c, error, sizeof error);
  if (status != 0) throw PluginError("PLUGIN_COST", describeFailure(info_, "cost", status, error));
  return c;
}

std::unique_ptr<kernels::PreparedAttention> Plugin::prepare(const kernels::Problem& p, int device,
                                                            const kernels::HostTensors* inputs) const {
  if ((device < 0 && !info_.cpu) || (device >= 0 && !info_.cuda))
    throw PluginError("PLUGIN_DEVICE", "plugin '" + info_.name + "' does not run on " +
                                           (device < 0 ? std::string("the CPU") : "CUDA devices"));
  const etok_problem q = toPluginProblem(p);
  std::vector<etok_tensor> tensors;
  if (inputs)
    for (const auto& spec : kernels::inputSpecs(p)) {
      const auto& data = inputs->at(spec.name);
      tensors.push_back({spec.name.c_str(), data.data(), data.size()});
    }
  // inputSpecs returns temporaries: keep the names alive for the call.
  std::vector<std::string> names;
  if (inputs)
    for (const auto& spec : kernels::inputSpecs(p)) names.push_back(spec.name);
  for (size_t i = 0; i < tensors.size(); i++) tensors[i].name = names[i].c_str();

  void* instance = nullptr;
  char error[kErrorSize] = {0};
  const int status = d_->setup(&q, device, tensors.empty() ? nullptr : tensors.data(), tensors.size(), &instance, error,
                               sizeof error);
  if (status != 0) throw PluginError("PLUGIN_SETUP", describeFailure(info_, "setup", status, error));
  const size_t outputCount = inputs ? static_cast<size_t>(kernels::outputSpec(p).elements()) : 0;
  return std::make_unique<PluginKernel>(d_, info_, instance, outputCount);
}

}  // namespace etok::plugins
