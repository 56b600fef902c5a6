#!/usr/bin/python3
"""`make bench-compare`: skinnet against PyTorch on the same machine, whole networks, side by side.

    tools/bench_compare.py [--models resnet18,resnet50,vgg19,inception_v3,inception_resnet_v2]
                           [--modes inference,train,frozen] [--batches 8,32] [--input auto] [--reps 2] [--warmup 3] [--steps 3]
                           [--out build/bench-compare.json]

For every (model, mode, batch) row it runs `build/skinnet bench-model` and bench/torch_model.py as separate
processes, alternating which goes first, --reps times each (interleaved, so that a noisy neighbour slows
both); each process runs --warmup untimed steps (3: skinnet's allocator cache and glibc's heap settle
over the first few; a fresh page costs ~6 us on the Zen 5 VM) and reports the median of --steps timed steps. The table shows the
median images/s over the repetitions, their ratio (skinnet / torch; above 1 is faster), each process's peak
RSS (the largest over repetitions), skinnet's GFLOP/s and two shares of it: of the machine's FMA peak
(`skinnet bench-peak`: the register-only FMA loop of the best vector ISA on all threads, the ceiling no
kernel can pass) and of the sgemm peak (`skinnet bench-ops`: the best square OpenBLAS sgemm, what a very
good kernel reaches). Both are measured at the start and again before every row: the speed of these shared
machines drifts by up to 2x over minutes, so each peak is the best seen so far in the run. OPENBLAS_CORETYPE
is removed from the environment.
Any architecture both sides build can be named, e.g. --models densenet121,efficientnet_b0: PyTorch's side is then
torchvision's network with its own dropout and (EfficientNet) stochastic depth, active in train mode as in skinnet's.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_json(cmd, env):
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench-compare: {' '.join(cmd)} failed (exit {p.returncode}):\n{p.stderr.strip()}")
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not lines:
        sys.exit(f"bench-compare: {' '.join(cmd)} printed no JSON line:\n{p.stdout}{p.stderr}")
    return json.loads(lines[-1])


def gemm_peak(skinnet, env):
    """Best square OpenBLAS sgemm GFLOP/s in `skinnet bench-ops` (its row layout, old or new, is matched)."""
    p = subprocess.run([skinnet, "bench-ops", "--models=none", "--reps=3"], cwd=ROOT, env=env, capture_output=True,
                       text=True, check=True)
    best = 0.0
    for line in p.stdout.splitlines():
        # skinnet vs OpenBLAS: shape, op, M N K, ours ms, GF/s, %pk, blas ms, blas GF/s, ...
        m = re.match(r"square \d+\s+nn\s+\d+\s+\d+\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+([\d.]+)", line)
        # OpenBLAS only: shape, M N K, ms, GFLOP/s
        m = m or re.match(r"square \d+\s+\d+\s+\d+\s+\d+\s+[\d.]+\s+([\d.]+)", line)
        if m:
            best = max(best, float(m.group(1)))
    if best <= 0:
        sys.exit(f"bench-compare: could not read the GEMM peak from skinnet bench-ops:\n{p.stdout}")
    return best


def fma_peak(skinnet, env):
    """All-threads FMA GFLOP/s of the best ISA (skinnet bench-peak --json)."""
    peak = run_json([skinnet, "bench-peak", "--json", "--seconds=0.3"], env)
    return peak["fma_peak_gflops"], peak


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="resnet18,resnet50,vgg19,inception_v3,inception_resnet_v2,efficientnet_b0,"
                                        "densenet121")
    ap.add_argument("--modes", default="inference,train,frozen")
    ap.add_argument("--batches", default="8,32")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--input", default="auto", help="input size (auto: each model's, 299 for the Inceptions)")
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default=None, help="JSON table (default BUILD/bench-compare.json)")
    a = ap.parse_args()
    out = a.out or os.path.join(a.build, "bench-compare.json")
    skinnet = os.path.join(a.build, "skinnet")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    env["OMP_NUM_THREADS"] = "2"

    fma, machine = fma_peak(skinnet, env)
    peak = gemm_peak(skinnet, env)
    print(f"bench-compare: {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, input {a.input}, "
          f"{a.reps} interleaved repetitions x median of {a.steps} steps (after {a.warmup} warm-up)\n"
          f"{machine['cpu']}: FMA peak {fma:.0f} GFLOP/s ({machine['best_isa']}, {machine['threads']} threads, "
          f"skinnet bench-peak), sgemm peak {peak:.0f} GFLOP/s (skinnet bench-ops); both re-measured before "
          f"every row, the best kept", flush=True)
    head = (f"{'model':<19} {'input':>5} {'mode':<9} {'batch':>5} {'skinnet/s':>9} {'torch/s':>8} {'ratio':>6} {'RSS MiB':>8} "
            f"{'torch MiB':>9} {'GFLOP/s':>8} {'% FMA peak':>10} {'% sgemm peak':>12}")
    print(head + "\n" + "-" * len(head), flush=True)
    rows = []
    for model in a.models.split(","):
        for mode in a.modes.split(","):
            for batch in [int(b) for b in a.batches.split(",")]:
                size = int(a.input) if a.input != "auto" else (299 if model.startswith("inception") else 224)
                flags = {"arch": model, "mode": mode, "batch": batch, "input": size, "warmup": a.warmup,
                         "steps": a.steps}
                ours_cmd = [skinnet, "bench-model"] + [f"--{k}={v}" for k, v in flags.items()]
                torch_cmd = ["/usr/bin/python3", "bench/torch_model.py"] + [f"--{k}={v}" for k, v in flags.items()]
                ours, theirs = [], []
                # the machine's speed drifts: the best seen so far
                fma = max(fma, fma_peak(skinnet, env)[0])
                peak = max(peak, gemm_peak(skinnet, env))
                for rep in range(a.reps):
                    for who in (("ours", "torch") if rep % 2 == 0 else ("torch", "ours")):
                        if who == "ours":
                            ours.append(run_json(ours_cmd, env))
                        else:
                            theirs.append(run_json(torch_cmd, env))
                o_ips = statistics.median(r["ips"] for r in ours)
                t_ips = statistics.median(r["ips"] for r in theirs)
                gflops = statistics.median(r["gflops"] for r in ours)
                row = {"model": model, "input": size, "mode": mode, "batch": batch, "ours_ips": round(o_ips, 3),
                       "torch_ips": round(t_ips, 3), "ratio": round(o_ips / t_ips, 3),
                       "ours_rss_mb": max(r["rss_mb"] for r in ours), "torch_rss_mb": max(r["rss_mb"] for r in theirs),
                       "ours_gflops": round(gflops, 1), "fma_peak_gflops": round(fma, 1),
                       "pct_fma_peak": round(100 * gflops / fma, 1), "gemm_peak_gflops": round(peak, 1),
                       "pct_gemm_peak": round(100 * gflops / peak, 1),
                       "ours_ips_reps": [round(r["ips"], 3) for r in ours],
                       "torch_ips_reps": [round(r["ips"], 3) for r in theirs]}
                rows.append(row)
                print(f"{model:<19} {size:>5} {mode:<9} {batch:>5} {o_ips:>9.2f} {t_ips:>8.2f} {o_ips / t_ips:>6.2f} "
                      f"{row['ours_rss_mb']:>8.0f} {row['torch_rss_mb']:>9.0f} {gflops:>8.1f} {100 * gflops / fma:>10.1f} "
                      f"{100 * gflops / peak:>12.1f}",
                      flush=True)
                os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
                with open(out + ".tmp", "w") as f:
                    json.dump(rows, f, indent=1)
                os.replace(out + ".tmp", out)
    print(f"bench-compare: wrote {out}")


if __name__ == "__main__":
    main()
