// Input checking, error metric and seeded synthetic inputs shared by every backend.
#include <cmath>
#include <random>

#include "etok/kernels/attention.h"

namespace etok::kernels {

void checkInputs(const Problem& p, const HostTensors& inputs) {
  for (const auto& spec : inputSpecs(p)) {
    auto it = inputs.find(spec.name);
    if (it == inputs.end())
      throw BadShape(spec.name, "input '" + spec.name + "' is missing for variant " + formatVariant(p.variant));
    if (static_cast<int64_t>(it->second.size()) != spec.elements())
      throw BadShape(spec.name, "input '" + spec.name + "' has " + std::to_string(it->second.size()) +
                                    " elements; the shape needs " + std::to_string(spec.elements()));
  }
  for (const auto& [name, data] : inputs) {
    bool known = false;
    for (const auto& spec : inputSpecs(p)) known = known || spec.name == name;
    if (!known) throw BadShape(name, "input '" + name + "' is not taken by variant " + formatVariant(p.variant));
  }
}

double relativeL2(const std::vector<float>& out, const std::vector<double>& ref) {
  double num = 0, den = 0;
  const size_t n = std::min(out.size(), ref.size());
  for (size_t i = 0; i < n; i++) {
    const double d = static_cast<double>(out[i]) - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  if (out.size() != ref.size()) return INFINITY;
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

namespace {
void fillNormal(std::vector<float>& v, std::mt19937_64& rng, float stddev) {
  std::normal_distribution<float> dist(0.0f, stddev);
  for (auto& x : v) x = dist(rng);
}
}  // namespace

// `peaked`: for each kv group (or the latent cache), a few key blocks are planted along the direction of that
// group's queries, so attention mass concentrates on them as it does in trained models and NSA-style top-k
// selection has something real to find. The planted blocks are chosen by the seed, away from the sink and window.
HostTensors syntheticInputs(const Problem& p, const std::string& profile, uint64_t seed) {
  if (profile != "uniform" && profile != "peaked")
    throw BadShape("profile", "input profile '" + profile + "' is not uniform or peaked");
  std::mt19937_64 rng(seed);
  HostTensors t;
  for (const auto& spec : inputSpecs(p)) {
    std::vector<float> data(static_cast<size_t>(spec.elements()));
    fillNormal(data, rng, 1.0f);
    t.emplace(spec.name, std::move(data));
  }
  if (profile == "uniform") return t;

  const Shape& s = p.shape;
  const int64_t bs = std::max<int64_t>(1, p.params.blockSize);
  const int64_t nBlocks = (s.kvLen + bs - 1) / bs;
  const int planted = 4;
  std::uniform_int_distribution<int64_t> pick(0, std::max<int64_t>(0, nBlocks - 1));
  const float strength = 4.0f;  // planted keys ≈ strength × unit query direction + noise
  const int64_t groups = p.variant.mla ? 1 : s.kvHeads;
  const int64_t dim = p.variant.mla ? s.rank : s.headDim;
  const int64_t headsPerGroup = p.variant.mla ? s.heads : s.heads / s.kvHeads;
  const int64_t rows = queryRows(p);
  auto& q = t.at(p.variant.mla ? "qNope" : "q");
  auto& k = t.at(p.variant.mla ? "ckv" : "k");
  // Query heads of one group attend alike in trained models (that is why GQA and NSA's shared selection work):
  // each head is mostly a direction shared by its group (and row), plus its own part.
  {
    std::vector<float> shared(static_cast<size_t>(dim));
    for (int64_t b = 0; b < s.batch; b++)
      for (int64_t g = 0; g < groups; g++)
        for (int64_t r = 0; r < rows; r++) {
          fillNormal(shared, rng, 1.0f);
          for (int64_t h = g * headsPerGroup; h < (g + 1) * headsPerGroup; h++)
            for (int64_t d = 0; d < dim; d++) {
              float& x = q[((b * s.heads + h) * rows + r) * dim + d];
              x = 0.4f * x + 0.92f * shared[d];
            }
        }
  }
  for (int64_t b = 0; b < s.batch; b++) {
    for (int64_t g = 0; g < groups; g++) {
      // Direction: the mean query of the group (its heads and rows), normalised.
      std::vector<float> dir(static_cast<size_t>(dim), 0.0f);
      for (int64_t h = g * headsPerGroup; h < (g + 1) * headsPerGroup; h++)
        for (int64_t r = 0; r < rows; r++)
          for (int64_t d = 0; d < dim; d++) dir[d] += q[((b * s.heads + h) * rows + r) * dim + d];
      double norm = 0;
      for (float x : dir) norm += double(x) * x;
      norm = std::sqrt(norm) + 1e-12;
      for (int i = 0; i < planted; i++) {
        const int64_t blk = pick(rng);
        for (int64_t tok = blk * bs; tok < std::min(s.kvLen, (blk + 1) * bs); tok++) {
          float* key = p.variant.mla ? &k[(b * s.kvLen + tok) * dim] : &k[((b * s.kvHeads + g) * s.kvLen + tok) * dim];
          for (int64_t d = 0; d < dim; d++)
            key[d] = 0.5f * key[d] +
                     strength * static_cast<float>(dir[d] / norm) * std::sqrt(static_cast<float>(dim)) / 4.0f;
        }
      }
    }
  }
  return t;
}

}  // namespace etok::kernels
