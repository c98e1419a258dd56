// CUDA attention, foundation scope: dense / GQA f32 decode and causal prefill, one block per (batch, head, row),
// online softmax over the visible tokens. Correct rather than fast; the tuned kernels replace it.
#include <cuda_runtime.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "etok/kernels/attention.h"

namespace etok::kernels {

namespace {

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw std::runtime_error(std::string("CUDA_ERROR: ") + what + ": " + cudaGetErrorString(err));
}

constexpr int kThreads = 128;

__global__ void denseAttentionKernel(const float* q, const float* k, const float* v, float* out, int64_t heads,
                                     int64_t kvHeads, int64_t rows, int64_t kvLen, int64_t qLen, int64_t headDim,
                                     float scale, bool prefill) {
  const int64_t row = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const int64_t kvh = h / (heads / kvHeads);
  const int64_t visible = prefill ? kvLen - qLen + row + 1 : kvLen;
  const float* qr = q + ((b * heads + h) * rows + row) * headDim;
  const float* kb = k + (b * kvHeads + kvh) * kvLen * headDim;
  const float* vb = v + (b * kvHeads + kvh) * kvLen * headDim;
  __shared__ float partial[kThreads];
  __shared__ float weight;
  __shared__ float correction;
  float m = -INFINITY, l = 0.f;
  // Each thread owns output dims d = threadIdx.x, threadIdx.x + kThreads, ... (up to 4 × kThreads).
  float acc[4] = {0.f, 0.f, 0.f, 0.f};
  for (int64_t t = 0; t < visible; t++) {
    float dot = 0.f;
    for (int64_t d = threadIdx.x; d < headDim; d += kThreads) dot += qr[d] * kb[t * headDim + d];
    partial[threadIdx.x] = dot;
    __syncthreads();
    for (int stride = kThreads / 2; stride > 0; stride >>= 1) {
      if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      const float score = partial[0] * scale;
      const float mNew = fmaxf(m, score);
      correction = __expf(m - mNew);
      weight = __expf(score - mNew);
    }
    __syncthreads();
    const float c = correction, w = weight;
    m = fmaxf(m, partial[0] * scale);
    l = l * c + w;
    for (int i = 0; i < 4; i++) {
      const int64_t d = threadIdx.x + i * kThreads;
      if (d < headDim) acc[i] = acc[i] * c + w * vb[t * headDim + d];
    }
    __syncthreads();
  }
  float* o = out + ((b * heads + h) * rows + row) * headDim;
  for (int i = 0; i < 4; i++) {
    const int64_t d = threadIdx.x + i * kThreads;
    if (d < headDim) o[d] = acc[i] / l;
  }
}

class DenseCuda final : public PreparedAttention {
 public:
  DenseCuda(const Problem& p, const HostTensors& in, int device) : p_(p), device_(device) {
    check(cudaSetDevice(device_), "cudaSetDevice");
    q_ = upload(in.at("q"));
    k_ = upload(in.at("k"));
    v_ = upload(in.at("v"));
    outElems_ = static_cast<size_t>(outputSpec(p).elements());
    check(cudaMalloc(&out_, outElems_ * sizeof(float)), "cudaMalloc output");
  }
  ~DenseCuda() override {
    cudaFree(q_);
    cudaFree(k_);
    cudaFree(v_);
    cudaFree(out_);
  }

  void run() override {
    check(cudaSetDevice(device_), "cudaSetDevice");
    const Shape& s = p_.shape;
    const dim3 grid(static_cast<unsigned>(queryRows(p_)), static_cast<unsigned>(s.heads), static_cast<unsigned>(s.batch));
    denseAttentionKernel<<<grid, kThreads>>>(q_, k_, v_, out_, s.heads, s.kvHeads, queryRows(p_), s.kvLen, s.qLen,
                                             s.headDim, static_cast<float>(effectiveScale(p_)),
                                             p_.phase == Phase::Prefill);
    check(cudaGetLastError(), "attention launch");
  }

  void synchronize() override { check(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }

  std::vector<float> output() override {
    std::vector<float> host(outElems_);
    check(cudaMemcpy(host.data(), out_, outElems_ * sizeof(float), cudaMemcpyDeviceToHost), "copy output");
    return host;
  }

 private:
  float* upload(const std::vector<float>& host) {
    float* dev = nullptr;
    check(cudaMalloc(&dev, host.size() * sizeof(float)), "cudaMalloc input");
    check(cudaMemcpy(dev, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice), "copy input");
    return dev;
  }

  Problem p_;
  int device_;
  float *q_ = nullptr, *k_ = nullptr, *v_ = nullptr, *out_ = nullptr;
  size_t outElems_ = 0;
};

}  // namespace

std::unique_ptr<PreparedAttention> prepareCuda(const Problem& p, const HostTensors& inputs, int device) {
  validate(p);
  checkInputs(p, inputs);
  if (p.variant.mla || p.variant.sparse || p.variant.kv != KvQuant::None || p.dtype != Dtype::F32)
    throw BadShape("variant", "the CUDA backend does not run " + formatVariant(p.variant) + " at " +
                                  dtypeName(p.dtype) + " yet");
  if (p.shape.headDim > 4 * kThreads) throw BadShape("headDim", "the CUDA backend supports headDim ≤ 512");
  return std::make_unique<DenseCuda>(p, inputs, device);
}

}  // namespace etok::kernels
