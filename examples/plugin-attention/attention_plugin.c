/*
 * An example etok plugin: dense / GQA attention (decode and causal prefill) on the CPU, single-threaded, f32.
 * It names `dense` as its reference variant, so etok hands it the same synthetic inputs as its built-in dense
 * kernel and checks its output against the fp64 dense reference. Copy this file to start your own plugin.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etok/plugin.h"

typedef struct instance {
  etok_problem p;
  float *q, *k, *v, *out;
  size_t q_count, kv_count;
} instance;

static int fail(char* error, size_t size, const char* message) {
  snprintf(error, size, "%s", message);
  return 1;
}

static int64_t rows(const etok_problem* p) { return p->phase == ETOK_PHASE_DECODE ? 1 : p->q_len; }

static const etok_tensor* find(const etok_tensor* inputs, size_t n, const char* name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(inputs[i].name, name) == 0) return &inputs[i];
  return NULL;
}

static float* copy_of(const etok_tensor* t) {
  float* data = malloc(t->count * sizeof(float));
  if (data) memcpy(data, t->data, t->count * sizeof(float));
  return data;
}

static int setup(const etok_problem* p, int device, const etok_tensor* inputs, size_t n, void** out, char* error,
                 size_t size) {
  if (device >= 0) return fail(error, size, "this build of the example plugin runs on the CPU only");
  if (p->dtype != ETOK_DTYPE_F32) return fail(error, size, "the example plugin computes in f32 only");
  if (p->kv_heads < 1 || p->heads % p->kv_heads != 0) return fail(error, size, "heads must be a multiple of kv_heads");
  const etok_tensor *q = find(inputs, n, "q"), *k = find(inputs, n, "k"), *v = find(inputs, n, "v");
  if (!q || !k || !v) return fail(error, size, "inputs q, k and v are required");
  instance* s = calloc(1, sizeof *s);
  if (!s) return fail(error, size, "out of memory");
  s->p = *p;
  s->q = copy_of(q);
  s->k = copy_of(k);
  s->v = copy_of(v);
  s->q_count = q->count;
  s->out = calloc(q->count, sizeof(float));
  if (!s->q || !s->k || !s->v || !s->out) return fail(error, size, "out of memory");
  *out = s;
  return 0;
}

static int run(void* state, void* stream, char* error, size_t size) {
  (void)stream;
  (void)error;
  (void)size;
  instance* s = state;
  const etok_problem* p = &s->p;
  const int64_t R = rows(p), D = p->head_dim, group = p->heads / p->kv_heads;
  const float scale = p->scale > 0 ? (float)p->scale : 1.0f / sqrtf((float)D);
  for (int64_t b = 0; b < p->batch; b++)
    for (int64_t h = 0; h < p->heads; h++)
      for (int64_t r = 0; r < R; r++) {
        const float* q = s->q + ((b * p->heads + h) * R + r) * D;
        const float* kb = s->k + (b * p->kv_heads + h / group) * p->kv_len * D;
        const float* vb = s->v + (b * p->kv_heads + h / group) * p->kv_len * D;
        float* o = s->out + ((b * p->heads + h) * R + r) * D;
        const int64_t visible = p->phase == ETOK_PHASE_DECODE ? p->kv_len : p->kv_len - p->q_len + r + 1;
        float m = -INFINITY, l = 0;
        memset(o, 0, (size_t)D * sizeof(float));
        for (int64_t t = 0; t < visible; t++) {
          float dot = 0;
          for (int64_t d = 0; d < D; d++) dot += q[d] * kb[t * D + d];
          const float score = dot * scale, m_new = score > m ? score : m;
          const float c = expf(m - m_new), w = expf(score - m_new);
          for (int64_t d = 0; d < D; d++) o[d] = o[d] * c + w * vb[t * D + d];
          l = l * c + w;
          m = m_new;
        }
        for (int64_t d = 0; d < D; d++) o[d] /= l;
      }
  return 0;
}

static int cost(const etok_problem* p, etok_cost* c, char* error, size_t size) {
  (void)error;
  (void)size;
  const double R = (double)rows(p), D = (double)p->head_dim;
  double attended = 0; /* KV positions summed over one sequence's query rows */
  for (int64_t r = 0; r < rows(p); r++)
    attended += p->phase == ETOK_PHASE_DECODE ? p->kv_len : p->kv_len - p->q_len + r + 1;
  c->flops = 4.0 * D * (double)p->batch * (double)p->heads * attended;
  c->bytes = 4.0 * ((double)p->batch * (2.0 * p->heads * R * D + 2.0 * p->kv_heads * p->kv_len * D));
  c->tokens = p->phase == ETOK_PHASE_DECODE ? (double)p->batch : (double)p->batch * R;
  return 0;
}

static int output(void* state, float* out, size_t count, char* error, size_t size) {
  instance* s = state;
  if (count != s->q_count) return fail(error, size, "output size mismatch");
  memcpy(out, s->out, count * sizeof(float));
  return 0;
}

static void teardown(void* state) {
  instance* s = state;
  if (!s) return;
  free(s->q);
  free(s->k);
  free(s->v);
  free(s->out);
  free(s);
}

static const etok_plugin descriptor = {
    .abi_version = ETOK_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(etok_plugin),
    .name = "example-dense",
    .description = "example plugin: dense/GQA attention, plain C, one thread",
    .reference_variant = "dense",
    .devices = ETOK_DEVICE_CPU,
    .setup = setup,
    .run = run,
    .cost = cost,
    .output = output,
    .teardown = teardown,
};

const etok_plugin* etok_plugin_descriptor(void) { return &descriptor; }
