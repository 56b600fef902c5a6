#!/usr/bin/env python3
"""Runs the `make train` demo over several seeds and prints the table of docs/results.md.

    tools/demo_seeds.py [--seeds 0 1 2 3 4] [--variant native|avx2] [--build build] [--out runs/demo-seeds]

Each seed is one whole demo run, as `make train` runs it (the same config, the synthetic dataset the
Makefile writes), with `--seed=N`: the seed moves the lesion-grouped split, the initialisation, the data
order and the augmentation. The dataset stays the same (skinnet synth's own seed).

--variant native runs OpenBLAS's own choice of kernels for this CPU, as `make train` does (Cooperlake's on
an AVX-512 Zen 5); --variant avx2 its AVX2 (Haswell) kernels, so that every GEMM sums in another order: the
outcome must not depend on the last bits (docs/results.md).

Per seed the table gives the test accuracy and balanced accuracy (with the majority rule's accuracy beside
them), the last epoch's training accuracy, the validation balanced accuracy of the first and last epoch,
the largest drop of validation balanced accuracy (and of accuracy) from one epoch to the next, and the wall time of the
training command (training, validation each epoch, the test and the report; not the dataset). A summary
line gives the mean, the worst seed and the spread. Needs only the Python standard library.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def variant_env(variant):
    """native: OpenBLAS's own choice for this CPU, as `make train` gets it (the Makefile unexports
    OPENBLAS_CORETYPE); avx2: its Haswell kernels, kept (skinnet would otherwise restart with better ones)."""
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("NN_KEEP_OPENBLAS_CORETYPE", None)
    if variant == "avx2":
        env["OPENBLAS_CORETYPE"] = "Haswell"
        env["NN_KEEP_OPENBLAS_CORETYPE"] = "1"
    return env


def openblas_kernels(variant):
    """The name of the kernels OpenBLAS loads under the variant's environment (e.g. Cooperlake, Haswell)."""
    code = ("import ctypes; l = ctypes.CDLL('libopenblas.so.0'); l.openblas_get_corename.restype = ctypes.c_char_p; "
            "print(l.openblas_get_corename().decode())")
    r = subprocess.run([sys.executable, "-c", code], env=variant_env(variant), capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "unknown"


def run_seed(args, seed):
    name = f"{args.variant}-seed{seed}"
    run_dir = os.path.join(args.out, name)
    if os.path.exists(os.path.join(run_dir, "metrics.json")) and not args.rerun:
        print(f"seed {seed}: reusing {run_dir} (--rerun runs it again)", file=sys.stderr)
        with open(os.path.join(run_dir, "wall_seconds")) as f:
            return run_dir, float(f.read())
    shutil.rmtree(run_dir, ignore_errors=True)
    env = variant_env(args.variant)
    cmd = [os.path.join(args.build, "skinnet"), "train", "--config", args.config, f"--runs_dir={args.out}",
           f"--name={name}", f"--seed={seed}", f"--data.path={args.data}"] + args.extra
    print(f"seed {seed}: {' '.join(cmd)}", file=sys.stderr)
    start = time.monotonic()
    log_path = os.path.join(args.out, name + ".log")
    os.makedirs(args.out, exist_ok=True)
    with open(log_path, "w") as log:
        r = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    wall = time.monotonic() - start
    if r.returncode != 0:
        sys.exit(f"seed {seed}: the run failed (exit {r.returncode}); its output is in {log_path}")
    with open(os.path.join(run_dir, "wall_seconds"), "w") as f:
        f.write(f"{wall:.1f}\n")
    return run_dir, wall


def row(run_dir, wall):
    with open(os.path.join(run_dir, "metrics.json")) as f:
        test = json.load(f)
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        history = [json.loads(line) for line in f if line.strip()]
    val = [h["val_balanced_accuracy"] for h in history]
    drop = max([0.0] + [a - b for a, b in zip(val, val[1:])])
    val_acc = [h["val_accuracy"] for h in history]
    acc_drop = max([0.0] + [a - b for a, b in zip(val_acc, val_acc[1:])])
    return {
        "accuracy": test["accuracy"],
        "balanced_accuracy": test["balanced_accuracy"],
        "majority": test["reference"]["majority_accuracy"],
        "train_accuracy": history[-1]["train_accuracy"],
        "val_first": val[0],
        "val_last": val[-1],
        "val_best": max(val),
        "largest_drop": drop,
        "largest_acc_drop": acc_drop,
        "best_epoch": test["best_epoch"],
        "epochs": len(history),
        "wall": wall,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--variant", choices=["native", "avx2"], default="native")
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--config", default="configs/resnet18-synthetic.toml")
    p.add_argument("--data", default="data/synthetic-ham10000")
    p.add_argument("--out", default=os.path.join(ROOT, "runs", "demo-seeds"))
    p.add_argument("--rerun", action="store_true", help="run seeds again even when their run folder is complete")
    p.add_argument("extra", nargs="*", help="more settings for every run, e.g. --stage.2.epochs=20 (after --)")
    args = p.parse_args()
    if not os.path.exists(os.path.join(ROOT, args.data, "HAM10000_metadata.csv")):  # join keeps an absolute path
        sys.exit(f"{args.data}: no dataset; `make train` (or `make demo-seeds`) writes it first")

    rows = {}
    for seed in args.seeds:
        rows[seed] = row(*run_seed(args, seed))

    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"variant {args.variant} (OpenBLAS {openblas_kernels(args.variant)} kernels), {cpu}, {os.cpu_count()} cores; "
          f"config {args.config}, data {args.data}")
    print()
    print("| seed | test bal. acc. | test acc. (majority rule) | final train acc. | val bal. acc. epoch 1 -> last (best) "
          "| largest val drop: bal. acc. (acc.) | best epoch | wall |")
    print("|---|---|---|---|---|---|---|---|")
    for seed, r in rows.items():
        print(f"| {seed} | **{r['balanced_accuracy']:.3f}** | {r['accuracy']:.3f} ({r['majority']:.3f}) "
              f"| {r['train_accuracy']:.3f} | {r['val_first']:.3f} -> {r['val_last']:.3f} ({r['val_best']:.3f}) "
              f"| {r['largest_drop']:.3f} ({r['largest_acc_drop']:.3f}) | {r['best_epoch']} of {r['epochs']} "
              f"| {int(r['wall']) // 60} min {int(r['wall']) % 60:02d} s |")
    b = [r["balanced_accuracy"] for r in rows.values()]
    a = [r["accuracy"] for r in rows.values()]
    spread = statistics.stdev(b) if len(b) > 1 else 0.0
    print()
    print(f"test balanced accuracy: mean {statistics.mean(b):.3f}, worst {min(b):.3f}, best {max(b):.3f}, "
          f"standard deviation {spread:.3f}; test accuracy: mean {statistics.mean(a):.3f}, worst {min(a):.3f}; "
          f"largest validation drop {max(r['largest_drop'] for r in rows.values()):.3f} in balanced accuracy, "
          f"{max(r['largest_acc_drop'] for r in rows.values()):.3f} in accuracy; "
          f"longest run {max(r['wall'] for r in rows.values()) / 60:.1f} min")


if __name__ == "__main__":
    main()
