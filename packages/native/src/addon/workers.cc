#include "addon/workers.h"

#include <atomic>
#include <cmath>
#include <memory>
#include <thread>

#include "addon/convert.h"
#include "harness/harness.h"

namespace etok::addon {

namespace {

struct ProgressMessage {
  std::string stage;
  double fraction;
  double callS;
};

class MeasureWorker final : public Napi::AsyncWorker {
 public:
  MeasureWorker(Napi::Env env, std::vector<harness::MeasurePlan> plans, bool group, Napi::Function onProgress,
                Napi::Int32Array cancelToken)
      : Napi::AsyncWorker(env, "etok.measure"),
        plans_(std::move(plans)),
        group_(group),
        deferred_(Napi::Promise::Deferred::New(env)) {
    if (!onProgress.IsEmpty()) {
      progress_ = Napi::ThreadSafeFunction::New(env, onProgress, "etok.progress", 0, 1);
      progress_.Unref(env);  // progress never keeps the process alive
      hasProgress_ = true;
    }
    if (!cancelToken.IsEmpty()) {
      cancelRef_ = Napi::Persistent(cancelToken);
      cancelWord_ = cancelToken.Data();
    }
  }

  ~MeasureWorker() override {
    if (hasProgress_) progress_.Release();
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    // Cancellation: the JS side writes 1 with Atomics.store; a watcher mirrors it into the harness's flag.
    std::atomic<bool> cancel{false};
    std::atomic<bool> done{false};
    std::thread watcher;
    if (cancelWord_) {
      watcher = std::thread([&] {
        while (!done.load()) {
          if (__atomic_load_n(cancelWord_, __ATOMIC_SEQ_CST) != 0) cancel.store(true);
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      });
    }
    try {
      results_ = harness::measureGroup(
          plans_,
          [this](const harness::ProgressEvent& e) {
            if (!hasProgress_) return;
            auto* msg = new ProgressMessage{e.stage, e.fraction, e.callS};
            const napi_status s = progress_.NonBlockingCall(msg, [](Napi::Env env, Napi::Function fn,
                                                                    ProgressMessage* m) {
              fn.Call({Napi::String::New(env, m->stage), Napi::Number::New(env, m->fraction),
                       std::isnan(m->callS) ? env.Undefined() : Napi::Number::New(env, m->callS)});
              delete m;
            });
            if (s != napi_ok) delete msg;
          },
          cancel);
    } catch (...) {
      error_ = std::current_exception();
    }
    done.store(true);
    if (watcher.joinable()) watcher.join();
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (error_) {
      deferred_.Reject(toJsError(env, error_).Value());
      return;
    }
    if (!group_) {
      deferred_.Resolve(fromResult(env, results_.front()));
      return;
    }
    Napi::Array out = Napi::Array::New(env, results_.size());
    for (size_t i = 0; i < results_.size(); i++) out.Set(static_cast<uint32_t>(i), fromResult(env, results_[i]));
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::vector<harness::MeasurePlan> plans_;
  bool group_;
  std::vector<harness::MeasureResult> results_;
  std::exception_ptr error_;
  Napi::Promise::Deferred deferred_;
  Napi::ThreadSafeFunction progress_;
  bool hasProgress_ = false;
  Napi::Reference<Napi::Int32Array> cancelRef_;
  int32_t* cancelWord_ = nullptr;
};

}  // namespace

Napi::Value Measure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject())
    throw codedError(env, "BAD_USAGE", "measure(plan | plans[]) needs a plan object or an array of them");
  std::vector<harness::MeasurePlan> plans;
  const bool group = info[0].IsArray();
  try {
    if (group) {
      const Napi::Array list = info[0].As<Napi::Array>();
      for (uint32_t i = 0; i < list.Length(); i++) plans.push_back(toPlan(list.Get(i).As<Napi::Object>()));
      if (plans.empty()) throw std::invalid_argument("measure([]) needs at least one plan");
    } else {
      plans.push_back(toPlan(info[0].As<Napi::Object>()));
    }
  } catch (...) {
    throw toJsError(env, std::current_exception());
  }
  Napi::Function onProgress = info.Length() > 1 && info[1].IsFunction() ? info[1].As<Napi::Function>()
                                                                        : Napi::Function();
  Napi::Int32Array cancelToken;
  if (info.Length() > 2 && info[2].IsTypedArray() &&
      info[2].As<Napi::TypedArray>().TypedArrayType() == napi_int32_array)
    cancelToken = info[2].As<Napi::Int32Array>();
  auto* worker = new MeasureWorker(env, std::move(plans), group, onProgress, cancelToken);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace etok::addon
