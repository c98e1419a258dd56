#!/usr/bin/env bash
# `etok profile` against ground truth, on a GPU machine, on the artifacts bench/gpu/stage.sh packed (no compiling
# there), from the repository root with .gpu-stage beside it:
#   bash bench/gpu/profile_check.sh 300
# Steps (BUDGET_S, the first argument, is when the last must be done; each is cut at its share):
#   1. examples/profile-two-kernels: the program alone, then `etok profile` on it; `etok bench --plugin` on the same
#      two kernels. Checks: replayed J/call within 5% of the plugin's, closure within 10% of 1, and the program's
#      checksum the same in the plain run and in both profiled runs (memory restored exactly).
#   2. examples/profile-torch (a transformer forward, an SDPA loop): plain, then profiled; checksums must agree.
# Everything lands in $OUT: profile-*.json (etok.profile/v1), profile-*.txt (tables and program output),
# plugin-two-kernels.json, profile-two-kernels.md (etok report; the HTML report can be made from the JSON on any
# machine), profile-check.json (every verdict), profile-check.log.
set -uo pipefail
BUDGET_S=${1:-300}
OUT=${OUT:-$PWD/bench/gpu/out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/profile-check.log") 2>&1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${ETOK_BUNDLE_DIR:-/tmp/etok-bundle}
left() { echo $((BUDGET_S - SECONDS)); }
share() { local s=$1; [ "$(left)" -lt "$s" ] && s=$(left); [ "$s" -lt 1 ] && s=1; echo "$s"; }
step() { echo; echo "== [$SECONDS s] $*"; }

if [ ! -x "$B/etok/node" ]; then
  step "unpack"
  rm -rf "$B" && mkdir -p "$B"
  python3 -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$ROOT/.gpu-stage/bundle.tar.xz" "$B" || exit 1
fi
ETOK="$B/etok/node $B/etok/packages/cli/bin/etok.mjs"
REL="$B/etok/packages/native/build/Release"
# The CUPTI the injection library was built against travels beside it; a machine's own can be named instead.
[ -z "${ETOK_CUPTI_LIBRARY:-}" ] && [ -e "$REL/libcupti.so" ] && export ETOK_CUPTI_LIBRARY="$REL/libcupti.so"
TK="$B/gpu/profile"
ITER=${ETOK_TWO_KERNELS_ITERATIONS:-12000}
checksum() { grep -Eo 'checksum [0-9a-f]+' "$1" | sort | uniq -c; }

step "build and driver"
$ETOK devices | head -4
nvidia-smi --query-gpu=name,driver_version,power.draw,temperature.gpu --format=csv,noheader

step "two kernels: the program alone (share: 40 s)"
timeout "$(share 40)" "$TK/two-kernels" "$ITER" | tee "$OUT/two-kernels-plain.txt"

step "two kernels: etok profile (share: 150 s)"
timeout "$(share 150)" $ETOK profile --meter nvml:0 --top 4 --budget 6 --out "$OUT/profile-two-kernels.json" \
  -- "$TK/two-kernels" "$ITER" 2>&1 | tee "$OUT/profile-two-kernels.txt"
echo "etok profile exit ${PIPESTATUS[0]}"

step "two kernels: etok bench --plugin, the same kernels alone (share: 90 s)"
timeout "$(share 90)" $ETOK bench --device cuda:0 --meter nvml:0 --plugin "$TK/libtwo_kernels_mma.so" \
  --plugin "$TK/libtwo_kernels_copy.so" --variants two-kernels-mma,two-kernels-copy --time-budget 6 \
  --out "$OUT/plugin-two-kernels.json"
$ETOK report "$OUT/profile-two-kernels.json" --format md --out "$OUT/profile-two-kernels.md"

for prog in transformer_forward sdpa_loop; do
  case $prog in
    transformer_forward) args="--steps 120" ;;
    sdpa_loop) args="--steps 1500" ;;
  esac
  step "PyTorch $prog: plain, then etok profile (share: 140 s)"
  timeout "$(share 60)" python3 "$ROOT/examples/profile-torch/$prog.py" $args | tee "$OUT/$prog-plain.txt"
  timeout "$(share 100)" $ETOK profile --meter nvml:0 --top 5 --budget 4 --out "$OUT/profile-$prog.json" \
    -- python3 "$ROOT/examples/profile-torch/$prog.py" $args 2>&1 | tee "$OUT/profile-$prog.txt"
  echo "etok profile exit ${PIPESTATUS[0]}"
done

step "verdicts"
python3 - "$OUT" <<'PY'
import json, os, re, sys
out = sys.argv[1]
verdicts = {}
def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except Exception as e:  # a step that did not finish
        return {"error": str(e)}
def checksums(name):
    try:
        with open(os.path.join(out, name)) as f:
            return re.findall(r"checksum ([0-9a-f]+)", f.read())
    except OSError:
        return []

prof = load("profile-two-kernels.json")
bench = load("plugin-two-kernels.json")
plugin = {m.get("variant"): m["energy"]["joulesPerCall"] for m in bench.get("measurements", [])}
for kind, variant in (("mmaKernel", "two-kernels-mma"), ("copyKernel", "two-kernels-copy")):
    k = next((k for k in prof.get("kernels", []) if kind in k.get("name", "")), None)
    ref = plugin.get(variant)
    v = {"replayed": bool(k and k["replayed"]), "replayJPerCall": k and k["joulesPerCall"], "pluginJPerCall": ref,
         "reason": k and k.get("reason"), "replayValidity": k and k.get("replay", {}).get("validity")}
    if k and k["replayed"] and ref:
        v["ratio"] = k["joulesPerCall"] / ref
        v["pass"] = abs(v["ratio"] - 1) <= 0.05
    else:
        v["pass"] = False
    verdicts[f"two-kernels {kind} J/call vs plugin (5%)"] = v
closure = prof.get("closure")
verdicts["two-kernels closure (10%)"] = {"closure": closure, "replayedClosure": prof.get("replayedClosure"),
                                         "pass": closure is not None and abs(closure - 1) <= 0.10}
for prog, plain, profiled in (("two-kernels", "two-kernels-plain.txt", "profile-two-kernels.txt"),
                              ("transformer_forward", "transformer_forward-plain.txt", "profile-transformer_forward.txt"),
                              ("sdpa_loop", "sdpa_loop-plain.txt", "profile-sdpa_loop.txt")):
    a, b = checksums(plain), checksums(profiled)
    verdicts[f"{prog} output unchanged by profiling"] = {
        "plain": a, "profiled (trace, replay)": b, "pass": len(a) == 1 and len(b) == 2 and set(b) == set(a)}
    if prog != "two-kernels":
        p = load(f"profile-{prog}.json")
        verdicts[f"{prog} profile"] = {
            "closure": p.get("closure"), "replayedClosure": p.get("replayedClosure"),
            "replayed": sum(1 for k in p.get("kernels", []) if k.get("replayed")),
            "kernels": len(p.get("kernels", [])),
            "reasons": sorted({k.get("reason", "") for k in p.get("kernels", []) if not k.get("replayed")})[:8]}
with open(os.path.join(out, "profile-check.json"), "w") as f:
    json.dump(verdicts, f, indent=2)
for name, v in verdicts.items():
    mark = "PASS" if v.get("pass") else ("FAIL" if "pass" in v else "info")
    print(f"{mark:4}  {name}: {json.dumps({k: x for k, x in v.items() if k != 'pass'})}")
PY
step "done"
ls -la "$OUT" | grep -E 'profile|two-kernels|plugin|sdpa|transformer'
