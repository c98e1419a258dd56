#!/usr/bin/env python3
"""The Hopper path (ETOK_CUDA_PATH=hopper, src/cuda/hopper/) on an H100/H200 in one call: validate, measure the
ceilings, sweep every compiled tile configuration, compare with the default CUDA path and PyTorch SDPA.

    python3 bench/gpu/sweep_hopper.py --out "$OUT" --build-dir BUILD [--budget-s 470] [--quick]

BUILD holds bench/gpu built for sm_90a (kernels/etok-cuda-validate, libetok_gpu_bench.so: bench/gpu/stage.sh packs
both). Needs PyTorch (ceilings, SDPA); no Node. Steps, each skipped once the budget is spent:
 1. etok-cuda-validate --json --hopper: every lever set the path covers × bf16/f16 × every compiled configuration,
    against the fp64 references, poisoned outputs, fresh seeds → hopper-validate.jsonl
 2. ceilings: device-to-device copy (read + write bytes) and bf16 torch.mm 8192³ on random data
 3. dense bf16 causal prefill, GQA 32/8, d128, 4K/8K/16K: each configuration, the default path (mma.sync), and SDPA
    with the flash, cuDNN and efficient backends
 4. MLA decode at FlashMLA's shape (batch 64, 4096 tokens) at 128 and 16 heads: mla, mla+kv-fp8, mla+kv-int8, each
    configuration and the default path
 5. quantized-KV prefill (kv-fp8, kv-int8, kv-int4) at 8K against bf16
 6. NSA sparse prefill against dense, 4K-64K (16 blocks of 64 + 512 window)
 7. mla+sparse decode against mla at 16K (16 heads, batch 64); MLA prefill (128 heads, 4K)
Times are the median of CUDA-event times of back-to-back calls after a warm-up (device time of the etok run, or of
the torch call). A configuration counts only if it passed step 1; the fastest passing one per family is printed as
the candidate default. Writes hopper-sweep.json (device, driver, date, commit, ceilings, every row) and prints a short
table last.
"""
import argparse
import ctypes
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as bench  # noqa: E402  (the C ABI wrapper, torch timing, ceilings, the FLOP/byte formulas)

START = time.time()
PREFILL_CONFIGS = ["c2-t128-s2", "c2-t96-s3", "c2-t64-s4", "c1-t64-s3"]
PREFILL_QUANT_CONFIGS = {"kv-fp8": ["c2-t128-s2-r1", "c2-t96-s2-r2"], "kv-int8": ["c2-t128-s2-r1", "c2-t96-s2-r2"],
                         "kv-int4": ["c2-t128-s2-r1"]}
MLA_CONFIGS = {"mla": ["t32-s3-o", "t48-s2", "t32-s2-o"], "mla+kv-fp8": ["t32-s2-r2", "t32-s2-r3"],
               "mla+kv-int8": ["t32-s2-r2", "t32-s2-r3"], "mla+sparse": ["t32-s3-o", "t48-s2"]}


def log(*a):
    print(*a, flush=True)


def left(deadline):
    return deadline - time.time()


def validate(build_dir, out_dir, quick, timeout_s):
    exe = os.path.join(build_dir, "kernels", "etok-cuda-validate")
    cmd = [exe, "--json", "--hopper"] + (["--quick"] if quick else [])
    log("$", " ".join(cmd))
    t0 = time.time()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        stdout, code, err = r.stdout, r.returncode, r.stderr
    except subprocess.TimeoutExpired as e:
        stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        code, err = 124, "timed out"
    with open(os.path.join(out_dir, "hopper-validate.jsonl"), "w") as f:
        f.write(stdout)
    rows = [json.loads(x) for x in stdout.splitlines() if x.startswith("{")]
    passed = {}
    for x in rows:
        key = (x["variant"], x["phase"], x["dtype"], config_of(x["kernel"]))
        passed[key] = passed.get(key, True) and x["pass"]
    fails = [x for x in rows if not x["pass"]]
    log(f"validate --hopper: {len(rows) - len(fails)}/{len(rows)} passed in {time.time() - t0:.0f} s (exit {code}) {err.strip()[-300:]}")
    for x in fails[:30]:
        log(f"  FAIL {x['variant']:<20} {x['phase']:<7} {x['dtype']:<4} splits={x['splits']} exact={x['relErrorVsExact']:.2e} "
            f"nonfinite={x['nonFinite']} [{x['kernel']}] {x['error'][:200]}")
    worst = max((x["relErrorVsExact"] for x in rows if x["pass"]), default=None)
    return {"cases": len(rows), "failures": len(fails), "exit": code, "worstPassing": worst}, passed


def config_of(kernel):
    """The configuration name in a describe() line: 'cuda hopper ... <d128, c2-t128-s2, 128 rows>, ...'."""
    if "hopper" not in kernel or "<" not in kernel:
        return "default-path"
    return kernel.split("<", 1)[1].split(",")[1].strip()


def time_handle(etok, h, reps):
    etok.run(h, 2)
    etok.sync(h)
    times = []
    for _ in range(reps):
        etok.run(h, 1)
        times.append(etok.last_seconds(h))
    return statistics.median(times)


class Sweep:
    def __init__(self, etok, ceil, passed, deadline):
        self.etok, self.ceil, self.passed, self.deadline, self.rows = etok, ceil, passed, deadline, []
        etok.lib.etok_reprepare.argtypes = [ctypes.c_void_p, ctypes.c_int]

    def case(self, family, variant, phase, shape, params, paths, reps=10):
        """One input set prepared once, timed under each (path, config) of `paths`."""
        if left(self.deadline) < 5:
            self.rows.append({"family": family, "variant": variant, "skipped": "budget"})
            log(f"{family:<22} {variant:<18} SKIPPED (budget)")
            return
        s = {"qLen": 1, "kvHeads": 1, "headDim": 128, "rank": 512, "ropeDim": 64, **shape}
        p = {"blockSize": 64, "topK": 16, "window": 512, **params}
        flops, nbytes = bench.cost(variant, phase, "bf16", s, p)
        h = None
        for path, config in paths:
            if left(self.deadline) < 3:
                break
            os.environ["ETOK_CUDA_PATH"] = path
            os.environ["ETOK_HOPPER_CONFIG"] = config
            row = {"family": family, "variant": variant, "phase": phase, "shape": s, "params": p, "path": path,
                   "config": config or "default", "flops": flops, "bytes": nbytes}
            try:
                t0 = time.time()
                if h is None:
                    h = self.etok.prepare(variant, phase, "bf16", s, p, "uniform", 7)
                else:
                    self.etok.ok(self.etok.lib.etok_reprepare(h, 0))
                row["prepareS"] = time.time() - t0
                row["kernel"] = self.etok.describe(h)
                row["timeS"] = time_handle(self.etok, h, reps)
            except Exception as e:  # noqa: BLE001 - record and go on
                row["error"] = str(e)[:300]
                log(f"{family:<22} {variant:<18} {path}/{config}: ERROR {row['error']}")
                self.rows.append(row)
                continue  # the inputs stay with the handle; the next configuration prepares again
            row["TFLOPs"] = flops / row["timeS"] / 1e12
            row["GBs"] = nbytes / row["timeS"] / 1e9
            row["fracMatmul"] = row["TFLOPs"] / self.ceil["bf16MatmulTFLOPs"]
            row["fracCopy"] = row["GBs"] / self.ceil["copyGBs"]
            key = (variant, phase, "bf16", config_of(row["kernel"]))
            row["validated"] = path != "hopper" or self.passed.get(key, False)
            self.rows.append(row)
            log(f"{family:<22} {variant:<18} {path:<6} {config or 'default':<14} {row['timeS'] * 1e6:10.1f} us "
                f"{row['TFLOPs']:7.1f} TF/s ({100 * row['fracMatmul']:4.1f}%) {row['GBs']:7.0f} GB/s ({100 * row['fracCopy']:4.1f}%)"
                f"{'' if row['validated'] else '  NOT VALIDATED'}")
        if h is not None:
            self.etok.free(h)


def sdpa_rows(torch, ceil, shape, deadline):
    """PyTorch SDPA at the prefill shape with each backend (GQA through enable_gqa, else K/V expanded)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    import torch.nn.functional as F

    out = []
    q = torch.randn(shape["batch"], shape["heads"], shape["qLen"], 128, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(shape["batch"], shape["kvHeads"], shape["kvLen"], 128, device="cuda", dtype=torch.bfloat16)
    v = torch.randn_like(k)
    flops, _ = bench.cost("dense", "prefill", "bf16", {**shape, "headDim": 128}, {})
    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION),
                          ("efficient", SDPBackend.EFFICIENT_ATTENTION)):
        if left(deadline) < 5:
            break
        row = {"family": f"sdpa-{name}", "shape": shape}
        try:
            with sdpa_kernel([backend]):
                try:
                    fn = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)  # noqa: E731
                    fn()
                except Exception:  # noqa: BLE001 - a backend without GQA: expand K/V (more bytes; noted)
                    g = shape["heads"] // shape["kvHeads"]
                    k2, v2 = k.repeat_interleave(g, dim=1), v.repeat_interleave(g, dim=1)
                    fn = lambda: F.scaled_dot_product_attention(q, k2, v2, is_causal=True)  # noqa: E731
                    row["note"] = "K/V expanded"
                    fn()
                row["timeS"] = bench.torch_time(torch, fn, reps=10, warmup=3)
            row["TFLOPs"] = flops / row["timeS"] / 1e12
            row["fracMatmul"] = row["TFLOPs"] / ceil["bf16MatmulTFLOPs"]
            log(f"sdpa-{name:<17} ctx={shape['kvLen']:<6} {row['timeS'] * 1e6:10.1f} us {row['TFLOPs']:7.1f} TF/s")
        except Exception as e:  # noqa: BLE001
            row["error"] = str(e)[:200]
            log(f"sdpa-{name}: ERROR {row['error']}")
        out.append(row)
    del q, k, v
    torch.cuda.empty_cache()
    return out


def best(rows, family, variant=None, path="hopper"):
    c = [r for r in rows if r.get("family") == family and "timeS" in r and r.get("path") == path and r.get("validated")
         and (variant is None or r["variant"] == variant)]
    return min(c, key=lambda r: r["timeS"]) if c else None


def summary(rows, sdpa, ceil):
    """The short table: per family the fastest validated configuration against its references and targets."""
    lines = []
    for fam, label in (("prefill-4k", "prefill 4K"), ("prefill-8k", "prefill 8K"), ("prefill-16k", "prefill 16K")):
        b = best(rows, fam)
        d = best(rows, fam, path="auto")
        s = [r for r in sdpa if r.get("shape", {}).get("kvLen") == {"prefill-4k": 4096, "prefill-8k": 8192, "prefill-16k": 16384}[fam]
             and "timeS" in r]
        fastest = min(s, key=lambda r: r["timeS"]) if s else None
        if b:
            lines.append(f"{label:<26} {b['config']:<14} {b['TFLOPs']:6.0f} TF/s (target 450)"
                         + (f"  vs SDPA {fastest['family'][5:]} x{fastest['timeS'] / b['timeS']:.2f} (target >= 0.9)" if fastest else "")
                         + (f"  vs default path x{d['timeS'] / b['timeS']:.2f}" if d else ""))
    for heads in (128, 16):
        fam = f"mla-decode-h{heads}"
        base = best(rows, fam, "mla")
        for v in ("mla", "mla+kv-fp8", "mla+kv-int8"):
            b = best(rows, fam, v)
            if not b:
                continue
            what = (f"{100 * b['fracMatmul']:4.0f}% of matmul (target 50%)" if heads == 128 and v == "mla"
                    else f"{100 * b['fracCopy']:4.0f}% of copy BW (target 75%)" if v == "mla" else
                    (f"x{base['timeS'] / b['timeS']:.2f} vs mla (target 1.6 at 16 heads)" if base else ""))
            lines.append(f"mla decode {heads:>3} heads {v:<12} {b['config']:<14} {b['timeS'] * 1e6:8.1f} us  {what}")
    for v in ("kv-fp8", "kv-int8", "kv-int4"):
        b, d = best(rows, "prefill-quant-8k", v), best(rows, "prefill-quant-8k", "dense")
        if b and d:
            lines.append(f"prefill 8K {v:<15} {b['config']:<14} x{d['timeS'] / b['timeS']:.2f} vs bf16 (target >= 1)")
    for ctx in (4096, 8192, 16384, 32768, 65536):
        fam = f"nsa-{ctx // 1024}k"
        b, d = best(rows, fam, "sparse"), best(rows, fam, "dense")
        if b and d:
            lines.append(f"NSA prefill {ctx // 1024:>2}K              {b['config']:<14} x{d['timeS'] / b['timeS']:.2f} vs dense "
                         f"(target >= 3 at 32K, >= 1 from 4K)")
    b, d = best(rows, "mla-sparse-16k", "mla+sparse"), best(rows, "mla-sparse-16k", "mla")
    if b and d:
        lines.append(f"mla+sparse decode 16K     {b['config']:<14} x{d['timeS'] / b['timeS']:.2f} vs mla (target 3)")
    b = best(rows, "mla-prefill-4k")
    if b:
        lines.append(f"mla prefill 4K (128 heads) {b['config']:<13} {b['TFLOPs']:6.0f} TF/s ({100 * b['fracMatmul']:.0f}% of matmul)")
    lines.append(f"ceilings: copy {ceil['copyGBs']:.0f} GB/s, bf16 matmul {ceil['bf16MatmulTFLOPs']:.0f} TFLOP/s")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.environ.get("OUT", os.path.join(HERE, "out")))
    ap.add_argument("--build-dir", default=os.path.join(HERE, "build"))
    ap.add_argument("--budget-s", type=float, default=470)
    ap.add_argument("--quick", action="store_true", help="validation: default configurations only, no forced splits")
    ap.add_argument("--commit", default=os.environ.get("ETOK_COMMIT"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    deadline = START + args.budget_s
    import torch

    prop = torch.cuda.get_device_properties(0)
    energy = bench.Energy()
    report = {"schema": "etok.hopper-sweep/v1", "createdAt": datetime.datetime.now(datetime.timezone.utc).isoformat(),
              "commit": args.commit or bench.git_head(),
              "device": {"name": prop.name, "computeCapability": f"{prop.major}.{prop.minor}",
                         "multiprocessors": prop.multi_processor_count, "driver": energy.driver, "torch": torch.__version__,
                         "cudaRuntimeTorch": torch.version.cuda, "stateBefore": energy.state()}}
    log(f"device: {report['device']}  commit {report['commit']}")
    report["validation"], passed = validate(args.build_dir, args.out, args.quick, max(30.0, min(150.0, left(deadline) - 240)))
    ceil = bench.ceilings(torch)
    report["ceilings"] = ceil
    log(f"ceilings: copy {ceil['copyGBs']:.0f} GB/s (read + write), bf16 matmul {ceil['bf16MatmulTFLOPs']:.0f} TFLOP/s")

    sw = Sweep(bench.Etok(args.build_dir), ceil, passed, deadline - 20)
    sdpa = []
    hop = lambda configs: [("hopper", c) for c in configs]  # noqa: E731
    for ctx, batch in ((4096, 4), (8192, 2), (16384, 1)):
        shape = {"batch": batch, "heads": 32, "kvHeads": 8, "headDim": 128, "qLen": ctx, "kvLen": ctx}
        sw.case(f"prefill-{ctx // 1024}k", "dense", "prefill", shape, {}, hop(PREFILL_CONFIGS) + [("auto", "")], reps=8)
        sdpa += sdpa_rows(torch, ceil, shape, deadline - 20)
    for heads in (128, 16):
        shape = {"batch": 64, "heads": heads, "rank": 512, "ropeDim": 64, "kvLen": 4096}
        for v in ("mla", "mla+kv-fp8", "mla+kv-int8"):
            sw.case(f"mla-decode-h{heads}", v, "decode", shape, {}, hop(MLA_CONFIGS[v]) + [("auto", "")])
    pre8 = {"batch": 2, "heads": 32, "kvHeads": 8, "headDim": 128, "qLen": 8192, "kvLen": 8192}
    sw.case("prefill-quant-8k", "dense", "prefill", pre8, {}, hop(["c2-t128-s2"]), reps=6)
    for v in ("kv-fp8", "kv-int8", "kv-int4"):
        sw.case("prefill-quant-8k", v, "prefill", pre8, {}, hop(PREFILL_QUANT_CONFIGS[v]) + [("auto", "")], reps=6)
    for ctx in (4096, 8192, 16384, 32768, 65536):
        shape = {"batch": 1, "heads": 32, "kvHeads": 8, "headDim": 128, "qLen": ctx, "kvLen": ctx}
        sw.case(f"nsa-{ctx // 1024}k", "sparse", "prefill", shape, {}, hop(["c2-t128-s2", "c2-t64-s4", "c1-t64-s3"]) +
                ([("auto", "")] if ctx <= 8192 else []), reps=4)
        sw.case(f"nsa-{ctx // 1024}k", "dense", "prefill", shape, {}, hop(["c2-t128-s2"]), reps=4)
    mla16 = {"batch": 64, "heads": 16, "rank": 512, "ropeDim": 64, "kvLen": 16384}
    sw.case("mla-sparse-16k", "mla", "decode", mla16, {}, hop(["t32-s3-o"]))
    sw.case("mla-sparse-16k", "mla+sparse", "decode", mla16, {}, hop(MLA_CONFIGS["mla+sparse"]) + [("auto", "")])
    sw.case("mla-prefill-4k", "mla", "prefill", {"batch": 1, "heads": 128, "rank": 512, "ropeDim": 64, "qLen": 4096,
                                                 "kvLen": 4096}, {}, hop(MLA_CONFIGS["mla"]) + [("auto", "")], reps=4)
    os.environ.pop("ETOK_CUDA_PATH", None)
    os.environ.pop("ETOK_HOPPER_CONFIG", None)

    report["device"]["stateAfter"] = energy.state()
    report["rows"], report["sdpa"] = sw.rows, sdpa
    report["summary"] = summary(sw.rows, sdpa, ceil)
    report["complete"] = not any(r.get("skipped") for r in sw.rows)
    with open(os.path.join(args.out, "hopper-sweep.json"), "w") as f:
        json.dump(report, f, indent=1)
    log(f"\n== Hopper sweep ({time.time() - START:.0f} s; validation {report['validation']['cases'] - report['validation']['failures']}"
        f"/{report['validation']['cases']} passed; wrote {args.out}/hopper-sweep.json)")
    for line in report["summary"]:
        log(line)


if __name__ == "__main__":
    main()
