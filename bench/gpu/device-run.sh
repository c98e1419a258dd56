#!/usr/bin/env bash
# One run on a GPU machine in one call, on the artifacts bench/gpu/stage.sh packed (no compiling, no Node install
# there), from the repository root with the .gpu-stage folder beside it:
#   bash bench/gpu/device-run.sh 420                 the validation matrix, the CLI with NVML, the measurements
#   bash bench/gpu/device-run.sh 440 sweep-decode    the decode sweep (bench/gpu/sweep_decode.py)
#   bash bench/gpu/device-run.sh 470 sweep-hopper    the Hopper sweep (bench/gpu/sweep_hopper.py)
#   bash bench/gpu/device-run.sh 440 peers           etok beside PyTorch (--peer torch) and Python kernels (--python)
#   bash bench/gpu/device-run.sh 300 profile         `etok profile` against ground truth (bench/gpu/profile_check.sh)
# BUDGET_S (first argument) is when the last step must be done; each step gets a share and is cut at its share,
# so one hung step cannot take the others' time. Everything lands in $OUT (keep it to a few files):
#   device-run.log       everything printed: nvidia-smi, SASS instruction counts, each step's table
#   validate.jsonl       the correctness matrix, one case a line; validate-summary.json its summary (run.py)
#   etok-gpu.json        `etok bench --levers sparse,kv-int8` on cuda:0 with the NVML meter, as a user runs it
#   gpu-results.json     the measurements (run.py --part measure)
#   cpu-isa-avx512.json  the host CPU's opt-in AVX-512 kernels against the fp64 references (bench/cpu-isa-check.mjs)
set -uo pipefail
BUDGET_S=${1:-500}
OUT=${OUT:-$PWD/bench/gpu/out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/device-run.log") 2>&1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=/tmp/etok-bundle
left() { echo $((BUDGET_S - SECONDS)); }
step() { echo; echo "== [$SECONDS s] $*"; }

step "unpack"
rm -rf "$B" && mkdir -p "$B"
python3 -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$ROOT/.gpu-stage/bundle.tar.xz" "$B" || exit 1
export ETOK_COMMIT=$(head -1 "$B/commit")
echo "commit $(tr '\n' ' ' <"$B/commit")"

step "environment"
nvidia-smi
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,clocks.max.sm,power.limit,power.draw,temperature.gpu --format=csv
echo "node on PATH: $(command -v node || echo none); python3: $(command -v python3)"
python3 -c "import torch, pynvml; print('torch', torch.__version__, 'cuda', torch.version.cuda)"

if [ "${2:-}" = "sweep-hopper" ]; then
  # The Hopper (sm_90a wgmma) sweep alone, in its own call: validation of the Hopper path, the ceilings, every
  # compiled tile configuration at the prefill and MLA shapes beside SDPA (bench/gpu/sweep_hopper.py):
  #   bash bench/gpu/device-run.sh 470 sweep-hopper
  step "Hopper sweep (share: what is left, $(left) s)"
  timeout "$(left)" python3 "$ROOT/bench/gpu/sweep_hopper.py" --out "$OUT" --build-dir "$B/gpu" --budget-s $(($(left) - 10))
  step "done"
  ls -la "$OUT"
  exit 0
fi

if [ "${2:-}" = "profile" ]; then
  step "etok profile against etok bench --plugin, and programs unchanged by profiling (share: what is left)"
  ETOK_BUNDLE_DIR="$B" bash "$ROOT/bench/gpu/profile_check.sh" $(($(left) - 5))
  step "done"
  ls -la "$OUT"
  exit 0
fi

if [ "${2:-}" = "peers" ]; then
  # etok beside PyTorch's best implementation of each lever set, as a user runs it (`etok bench --peer torch`), at
  # the decode (16K) and prefill (4K x 4K) shapes of docs/gpu.md, and a Triton kernel through `--python`:
  #   bash bench/gpu/device-run.sh 440 peers
  ETOK="$B/etok/node $B/etok/packages/cli/bin/etok.mjs"
  step "etok bench --peer torch, decode 16K (share: 160 s)"
  timeout $(($(left) > 160 ? 160 : $(left))) $ETOK bench --device cuda:0 --meter nvml:0 --peer torch \
    --levers mla,sparse --dtype bf16 --batch 8 --heads 64 --kv-heads 8 --ctx 16k --time-budget 6 --out "$OUT/peers-decode.json"
  step "etok bench --peer torch, prefill 4K x 4K (share: 140 s)"
  timeout $(($(left) > 140 ? 140 : $(left))) $ETOK bench --device cuda:0 --meter nvml:0 --peer torch \
    --variants dense,sparse --phase prefill --dtype bf16 --heads 32 --kv-heads 8 --ctx 4k --time-budget 6 \
    --out "$OUT/peers-prefill.json"
  $ETOK phi "$OUT/peers-decode.json" --family torch
  step "a Triton and a PyTorch kernel through --python (share: what is left, $(left) s)"
  timeout "$(left)" $ETOK bench --device cuda:0 --meter nvml:0 --python "$ROOT/examples/python/torch_triton_kernels.py" \
    --variants dense,torch-eager,triton-decode --dtype bf16 --batch 8 --heads 64 --kv-heads 8 --ctx 16k \
    --time-budget 4 --out "$OUT/python-kernels.json"
  step "done"
  ls -la "$OUT"
  exit 0
fi

if [ "${2:-}" = "sweep-decode" ]; then
  # The decode sweep alone, in its own call (validation of the token-split decode paths, then every path, variant
  # and split rule timed beside the ceilings and SDPA; bench/gpu/sweep_decode.py):
  #   bash bench/gpu/device-run.sh 440 sweep-decode
  step "decode sweep (share: what is left, $(left) s)"
  timeout "$(left)" python3 "$ROOT/bench/gpu/sweep_decode.py" --build-dir "$B/gpu" --out "$OUT" --budget-s $(($(left) - 10))
  step "done"
  ls -la "$OUT"
  exit 0
fi

step "NVML: what one energy-counter read costs here, and how often the counter steps"
python3 - <<'PY'
import statistics, time
import pynvml
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(0)
read = pynvml.nvmlDeviceGetTotalEnergyConsumption
costs, steps, last, t_end = [], [], read(h), time.perf_counter() + 1.5
while time.perf_counter() < t_end:
    t0 = time.perf_counter(); v = read(h); t1 = time.perf_counter()
    costs.append(t1 - t0)
    if v != last: steps.append((t0 + t1) / 2); last = v
gaps = [1e3 * (b - a) for a, b in zip(steps, steps[1:])]
costs.sort()
print(f"reads {len(costs)}: median {1e6 * costs[len(costs) // 2]:.0f} us, p90 {1e6 * costs[int(0.9 * len(costs))]:.0f} us, "
      f"max {1e6 * costs[-1]:.0f} us; steps {len(steps)}, interval median {statistics.median(gaps) if gaps else 0:.1f} ms "
      f"(min {min(gaps) if gaps else 0:.1f}, max {max(gaps) if gaps else 0:.1f})")
PY

step "CPU: the opt-in AVX-512 path against the fp64 references, then timed beside AVX2, on this host's CPU (share: 45 s)"
# Its first run on AVX-512 hardware (the development machine has none); exit 3 says the CPU lacks it.
grep -o -w 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
ETOK_NATIVE_ADDON="$B/etok/packages/native/build/Release/etok_native.node" timeout 45 "$B/etok/node" \
  "$ROOT/bench/cpu-isa-check.mjs" --isa avx512 --time --out "$OUT/cpu-isa-avx512.json"
echo "cpu-isa-check exit $?"

step "SASS of the sm_90a kernels"
if command -v cuobjdump >/dev/null; then
  cuobjdump --dump-sass "$B/gpu/libetok_gpu_bench.so" >/tmp/sass.txt 2>&1
  (
    echo "functions: $(grep -c 'Function :' /tmp/sass.txt)"
    for op in HMMA HGMMA LDSM LDGSTS 'LDG.E.128' 'LDG.E.64' 'LDG.E ' 'STS.128' LDL STL; do
      echo "$op: $(grep -c "$op" /tmp/sass.txt)"
    done
    echo "per function (HMMA, LDG.E.128, LDL+STL, LDGSTS):"
    awk '/Function :/ {if (f) printf "%s %d %d %d %d\n", f, h, g, l, c; f=$3; h=g=l=c=0}
         /HMMA/ {h++} /LDG\.E\.128/ {g++} /LDL|STL/ {l++} /LDGSTS/ {c++}
         END {if (f) printf "%s %d %d %d %d\n", f, h, g, l, c}' /tmp/sass.txt
  )
else
  echo "no cuobjdump"
fi

step "validate (share: 120 s)"
timeout 130 python3 "$ROOT/bench/gpu/run.py" --out "$OUT" --part validate --no-build --build-dir "$B/gpu" --budget-s 120
cp "$OUT/gpu-results.json" "$OUT/validate-summary.json" 2>/dev/null

step "etok CLI on cuda:0 with NVML (share: 150 s)"
# Every subset of two levers (dense, sparse, kv-int8, sparse+kv-int8) at one shape, as a user measures for Φ and
# its attribution; then `etok phi` on that file, so the run's log shows what a user would see (the disclosure,
# `etok report`, can be made from the fetched etok-gpu.json on any machine).
ETOK="$B/etok/node $B/etok/packages/cli/bin/etok.mjs"
$ETOK devices
timeout $(($(left) > 150 ? 150 : $(left))) $ETOK bench --device cuda:0 --meter nvml:0 --levers sparse,kv-int8 \
  --dtype bf16 --batch 8 --heads 64 --kv-heads 8 --ctx 16k --time-budget 8 --out "$OUT/etok-gpu.json"
$ETOK phi "$OUT/etok-gpu.json"

step "measure (share: what is left, $(left) s)"
if [ "$(left)" -gt 60 ]; then
  timeout "$(left)" python3 "$ROOT/bench/gpu/run.py" --out "$OUT" --part measure --no-build --build-dir "$B/gpu" \
    --max-ctx 32768 --budget-s $(($(left) - 15))
fi
step "done"
ls -la "$OUT"
