#!/usr/bin/python3
"""Writes the PyTorch references the tests compare against: one safetensors file per op family.

    /usr/bin/python3 tests/torch_reference.py --out build/refs

Each family is a module tests/torch_cases_<family>.py whose cases() yields (name, params, tensors):
the case name, its parameters (stored as JSON in the file's metadata) and a dict of tensors: the inputs,
the upstream gradient `dy`, PyTorch's output `y` and the gradient `d<input>` of every differentiable
input. A cases(out_dir) that takes the output folder may also write files there (converted weights): the
whole-model families models (VGG, ResNet), notebooks (Inception-v3, Inception-ResNet-v2, Keras' ResNet v1) and
efficient (DenseNet, EfficientNet), each from weights/convert.py as a user's conversion would be.
Inputs come from seeded generators, so the files are the same on every run; nothing is committed.
Family "metrics" is the exception: its oracle is scikit-learn (python3-sklearn), its tensors sklearn's figures.
"""
import argparse
import glob
import importlib.util
import inspect
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "weights"))
from convert import write_safetensors  # noqa: E402  the converter's writer, so tests exercise it too


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for <family>.safetensors")
    parser.add_argument("--only", default="", help="comma-separated families to regenerate (default: all)")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(2)
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    total = 0
    for path in sorted(glob.glob(os.path.join(here, "torch_cases_*.py"))):
        family = os.path.basename(path)[len("torch_cases_"):-3]
        if only and family not in only:
            continue
        spec = importlib.util.spec_from_file_location(f"torch_cases_{family}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        tensors, meta, names = {}, {}, []
        started = time.time()
        takes_dir = len(inspect.signature(module.cases).parameters) > 0
        for name, params, ts in (module.cases(args.out) if takes_dir else module.cases()):
            if name in meta:
                raise SystemExit(f"{path}: case {name} repeated")
            names.append(name)
            meta[name] = json.dumps(params)
            for key, value in ts.items():
                tensors[f"{name}.{key}"] = value
        meta["cases"] = json.dumps(names)
        write_safetensors(os.path.join(args.out, f"{family}.safetensors"), tensors, meta)
        total += len(names)
        print(f"{family}: {len(names)} cases in {time.time() - started:.1f} s")
    print(f"torch {torch.__version__}: wrote {total} reference cases to {args.out}")


if __name__ == "__main__":
    main()
