#!/usr/bin/python3
"""Writes the PyTorch references the tests compare against: one safetensors file per op family.

    /usr/bin/python3 tests/torch_reference.py --out build/refs

Each family is a module tests/torch_cases_<family>.py whose cases() yields (name, params, tensors):
the case name, its parameters (stored as JSON in the file's metadata) and a dict of tensors: the inputs,
the upstream gradient `dy`, PyTorch's output `y` and the gradient `d<input>` of every differentiable
input. Inputs come from seeded generators, so the files are the same on every run; nothing is committed.
"""
import argparse
import glob
import importlib.util
import json
import os
import struct
import sys

import torch

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.uint8: "U8"}


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        if t.dtype not in DTYPES:
            raise SystemExit(f"{path}: tensor {name} has unsupported dtype {t.dtype}")
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for <family>.safetensors")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(2)
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    total = 0
    for path in sorted(glob.glob(os.path.join(here, "torch_cases_*.py"))):
        family = os.path.basename(path)[len("torch_cases_"):-3]
        spec = importlib.util.spec_from_file_location(f"torch_cases_{family}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        tensors, meta, names = {}, {}, []
        for name, params, ts in module.cases():
            if name in meta:
                raise SystemExit(f"{path}: case {name} repeated")
            names.append(name)
            meta[name] = json.dumps(params)
            for key, value in ts.items():
                tensors[f"{name}.{key}"] = value
        meta["cases"] = json.dumps(names)
        write_safetensors(os.path.join(args.out, f"{family}.safetensors"), tensors, meta)
        total += len(names)
    print(f"torch {torch.__version__}: wrote {total} reference cases to {args.out}")


if __name__ == "__main__":
    main()
