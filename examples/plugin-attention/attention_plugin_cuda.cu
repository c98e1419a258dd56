// The CUDA build of the example plugin: dense / GQA decode and causal prefill, f32, one block per query row.
// Same descriptor shape as attention_plugin.c; `run` enqueues on the stream etok passes and returns.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "etok/plugin.h"

namespace {

struct Instance {
  etok_problem p;
  float *q = nullptr, *k = nullptr, *v = nullptr, *out = nullptr;
  size_t qCount = 0;
};

int fail(char* error, size_t size, const char* message) {
  std::snprintf(error, size, "%s", message);
  return 1;
}

int64_t rows(const etok_problem* p) { return p->phase == ETOK_PHASE_DECODE ? 1 : p->q_len; }

__global__ void attention(const float* q, const float* k, const float* v, float* out, etok_problem p, float scale) {
  const int64_t r = blockIdx.x, h = blockIdx.y, b = blockIdx.z, R = gridDim.x, D = p.head_dim;
  const int64_t kvh = h / (p.heads / p.kv_heads);
  const int64_t visible = p.phase == ETOK_PHASE_DECODE ? p.kv_len : p.kv_len - p.q_len + r + 1;
  const float* qr = q + ((b * p.heads + h) * R + r) * D;
  const float* kb = k + (b * p.kv_heads + kvh) * p.kv_len * D;
  const float* vb = v + (b * p.kv_heads + kvh) * p.kv_len * D;
  float* o = out + ((b * p.heads + h) * R + r) * D;
  // One thread per output dimension; every thread recomputes the scores (simple, not fast).
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
    float m = -INFINITY, l = 0.f, acc = 0.f;
    for (int64_t t = 0; t < visible; t++) {
      float dot = 0.f;
      for (int64_t e = 0; e < D; e++) dot += qr[e] * kb[t * D + e];
      const float score = dot * scale, mNew = fmaxf(m, score);
      const float c = __expf(m - mNew), w = __expf(score - mNew);
      acc = acc * c + w * vb[t * D + d];
      l = l * c + w;
      m = mNew;
    }
    o[d] = acc / l;
  }
}

const etok_tensor* find(const etok_tensor* inputs, size_t n, const char* name) {
  for (size_t i = 0; i < n; i++)
    if (std::strcmp(inputs[i].name, name) == 0) return &inputs[i];
  return nullptr;
}

int upload(const etok_tensor* t, float** dst) {
  if (cudaMalloc(dst, t->count * sizeof(float)) != cudaSuccess) return 1;
  return cudaMemcpy(*dst, t->data, t->count * sizeof(float), cudaMemcpyHostToDevice) != cudaSuccess;
}

int setup(const etok_problem* p, int device, const etok_tensor* inputs, size_t n, void** out, char* error,
          size_t size) {
  if (device < 0) return fail(error, size, "the CUDA build of the example plugin needs a CUDA device");
  if (cudaSetDevice(device) != cudaSuccess) return fail(error, size, "cudaSetDevice failed");
  const etok_tensor *q = find(inputs, n, "q"), *k = find(inputs, n, "k"), *v = find(inputs, n, "v");
  if (!q || !k || !v) return fail(error, size, "inputs q, k and v are required");
  auto* s = new Instance;
  s->p = *p;
  s->qCount = q->count;
  if (upload(q, &s->q) || upload(k, &s->k) || upload(v, &s->v) ||
      cudaMalloc(&s->out, q->count * sizeof(float)) != cudaSuccess)
    return fail(error, size, "device allocation or copy failed");
  *out = s;
  return 0;
}

int run(void* state, void* stream, char* error, size_t size) {
  auto* s = static_cast<Instance*>(state);
  const etok_problem& p = s->p;
  const float scale = p.scale > 0 ? static_cast<float>(p.scale) : 1.0f / std::sqrt(static_cast<float>(p.head_dim));
  const dim3 grid(static_cast<unsigned>(rows(&p)), static_cast<unsigned>(p.heads), static_cast<unsigned>(p.batch));
  attention<<<grid, 128, 0, static_cast<cudaStream_t>(stream)>>>(s->q, s->k, s->v, s->out, p, scale);
  return cudaGetLastError() == cudaSuccess ? 0 : fail(error, size, "kernel launch failed");
}

int cost(const etok_problem* p, etok_cost* c, char*, size_t) {
  const double R = static_cast<double>(rows(p)), D = static_cast<double>(p->head_dim);
  double attended = 0;
  for (int64_t r = 0; r < rows(p); r++)
    attended += p->phase == ETOK_PHASE_DECODE ? p->kv_len : p->kv_len - p->q_len + r + 1;
  c->flops = 4.0 * D * static_cast<double>(p->batch * p->heads) * attended;
  c->bytes = 4.0 * static_cast<double>(p->batch) * (2.0 * p->heads * R * D + 2.0 * p->kv_heads * p->kv_len * D);
  c->tokens = p->phase == ETOK_PHASE_DECODE ? static_cast<double>(p->batch) : static_cast<double>(p->batch) * R;
  return 0;
}

int output(void* state, float* out, size_t count, char* error, size_t size) {
  auto* s = static_cast<Instance*>(state);
  if (count != s->qCount) return fail(error, size, "output size mismatch");
  return cudaMemcpy(out, s->out, count * sizeof(float), cudaMemcpyDeviceToHost) == cudaSuccess
             ? 0
             : fail(error, size, "copy failed");
}

void teardown(void* state) {
  auto* s = static_cast<Instance*>(state);
  if (!s) return;
  cudaFree(s->q);
  cudaFree(s->k);
  cudaFree(s->v);
  cudaFree(s->out);
  delete s;
}

const etok_plugin descriptor = {
    ETOK_PLUGIN_ABI_VERSION,
    sizeof(etok_plugin),
    "example-dense-cuda",
    "example plugin: dense/GQA attention, CUDA, f32",
    "dense",
    ETOK_DEVICE_CUDA,
    setup,
    run,
    cost,
    output,
    teardown,
};

}  // namespace

extern "C" const etok_plugin* etok_plugin_descriptor(void) { return &descriptor; }
