#!/usr/bin/python3
"""Converts ImageNet weights from torchvision (.pth) or Keras (.h5) into skinnet's safetensors files.

    /usr/bin/python3 weights/convert.py --from torchvision --arch resnet50 --in resnet50-0676ba61.pth \\
        --out weights/resnet50.safetensors
    /usr/bin/python3 weights/convert.py --from keras --arch vgg19 \\
        --in vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 --out weights/vgg19-keras.safetensors
    /usr/bin/python3 weights/convert.py --fetch resnet50 --dir weights     # what `make weights ARCH=...` runs

Tensor names become torchvision's state-dict keys; the file's metadata records the architecture, the
source and the preprocessing the weights expect (weights/preprocess.h), so skinnet prepares images the
way the weights were trained. .pth files are read with torch.load(weights_only=True), which refuses to run
code from a pickle. A torchvision file name carries the first 8 hex digits of its SHA-256; it is checked.
"""
import argparse
import hashlib
import json
import os
import re
import struct
import sys
import urllib.request

import numpy as np

TORCHVISION_URLS = {
    "resnet18": "https://download.pytorch.org/models/resnet18-f37072fd.pth",
    "resnet34": "https://download.pytorch.org/models/resnet34-b627a593.pth",
    "resnet50": "https://download.pytorch.org/models/resnet50-0676ba61.pth",
    "resnet101": "https://download.pytorch.org/models/resnet101-63fe2227.pth",
    "resnet152": "https://download.pytorch.org/models/resnet152-394f9c45.pth",
    "vgg11": "https://download.pytorch.org/models/vgg11-8a719046.pth",
    "vgg11_bn": "https://download.pytorch.org/models/vgg11_bn-6002323d.pth",
    "vgg13": "https://download.pytorch.org/models/vgg13-19584684.pth",
    "vgg13_bn": "https://download.pytorch.org/models/vgg13_bn-abd245e5.pth",
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg16_bn": "https://download.pytorch.org/models/vgg16_bn-6c64b313.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    "vgg19_bn": "https://download.pytorch.org/models/vgg19_bn-c79401a0.pth",
}
# torchvision's IMAGENET1K_V2 files were trained with a shorter side of 232 before the 224 crop.
RESIZE_232 = {"11ad3fa6", "cd907fc2", "f82ba261"}

# Convolution output channels of each VGG, 0 for a max pool (torchvision's configurations).
VGG_CFGS = {
    "vgg11": [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
    "vgg13": [64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
    "vgg16": [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0],
    "vgg19": [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0],
}
ARCHS = sorted(TORCHVISION_URLS)

DTYPES = {"float32": "F32", "float64": "F64", "int64": "I64", "uint8": "U8"}


class ConvertError(Exception):
    pass


def preprocessing_torchvision(resize_shorter=256):
    return {"color_order": "RGB", "scale": 1 / 255, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
            "input_size": 224, "resize_shorter": resize_shorter}


def preprocessing_keras_caffe():
    # keras.applications.vgg16/vgg19.preprocess_input: RGB -> BGR, then subtract the ImageNet mean (BGR order).
    return {"color_order": "BGR", "scale": 1.0, "mean": [103.939, 116.779, 123.68], "std": [1.0, 1.0, 1.0],
            "input_size": 224, "resize_shorter": 0}


def write_safetensors(path, tensors, metadata):
    """Writes name -> numpy array (or torch tensor) as safetensors, atomically (PATH.tmp, fsync, rename)."""
    header, arrays, offset = {}, [], 0
    for name, value in tensors.items():
        a = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        if not a.flags.c_contiguous:  # (np.ascontiguousarray would turn a 0-d array into shape [1])
            a = a.copy(order="C")
        if a.dtype.name not in DTYPES:
            raise ConvertError(f"{path}: tensor {name} has dtype {a.dtype}, not one of {sorted(DTYPES)}")
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        header[name] = {"dtype": DTYPES[a.dtype.name], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        arrays.append(a)
        offset += a.nbytes
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for a in arrays:
            f.write(memoryview(a).cast("B"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def check_hash_prefix(path):
    """torchvision names files <arch>-<first 8 hex digits of the SHA-256>.pth; a mismatch means a corrupt file."""
    m = re.search(r"-([0-9a-f]{8,})\.pth$", os.path.basename(path))
    if not m:
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    if not digest.hexdigest().startswith(m.group(1)):
        raise ConvertError(f"{path}: SHA-256 {digest.hexdigest()[:16]}... does not start with {m.group(1)} as its "
                           f"name says: the download is corrupt or incomplete; delete it and download again")
    return m.group(1)


def expected_state(arch, num_classes):
    """Key -> shape of torchvision's model (built without running its initialisation, which is slow)."""
    import torch
    import torchvision

    saved = {}
    for name in ("kaiming_normal_", "kaiming_uniform_", "normal_", "uniform_", "constant_", "zeros_", "ones_"):
        saved[name] = getattr(torch.nn.init, name)
        setattr(torch.nn.init, name, lambda t, *a, **k: t)
    try:
        model = getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)
    finally:
        for name, f in saved.items():
            setattr(torch.nn.init, name, f)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def head_key(arch):
    return "fc.weight" if arch.startswith("resnet") else "classifier.6.weight"


def check_against_torchvision(state, arch, path):
    head = head_key(arch)
    classes = tuple(state[head].shape)[0] if head in state else 1000
    expected = expected_state(arch, classes)
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k}: file {tuple(state[k].shape)}, {arch} {expected[k]}" for k in expected
             if k in state and tuple(state[k].shape) != expected[k]]
    if missing or unexpected or wrong:
        lines = [f"{path}: does not match torchvision's {arch}"]
        for title, items in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", wrong)):
            if items:
                lines.append(f"{len(items)} {title}: " + ", ".join(items[:20]) + (" ..." if len(items) > 20 else ""))
        raise ConvertError("\n".join(lines))
    return classes


def from_torchvision(path, arch, resize_shorter=None):
    import torch

    prefix = check_hash_prefix(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # an unpickling refusal or a damaged file
        raise ConvertError(f"{path}: cannot load as a weights-only PyTorch file: {e}")
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and list(state) == [wrapper] and isinstance(state[wrapper], dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConvertError(f"{path}: expected a state dict (name -> tensor), got {type(state).__name__}")
    if state and all(k.startswith("module.") for k in state):  # saved from nn.DataParallel
        state = {k[len("module."):]: v for k, v in state.items()}
    classes = check_against_torchvision(state, arch, path)
    tensors = {k: (v.float() if v.is_floating_point() else v.long()).contiguous() for k, v in state.items()}
    resize = resize_shorter or (232 if prefix in RESIZE_232 else 256)
    source = f"torchvision:{os.path.basename(path)}"
    return tensors, {"arch": arch, "num_classes": classes, "source": source,
                     "preprocessing": json.dumps(preprocessing_torchvision(resize))}


def keras_layers(path):
    """Layer name -> list of numpy arrays, from a Keras 2 HDF5 weights file (or a whole saved model)."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ConvertError(f"{path}: cannot open as HDF5: {e}")
    with f:
        root = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in root.attrs:
            raise ConvertError(f"{path}: no 'layer_names' attribute: not a Keras weights file")
        layers = {}
        for raw in root.attrs["layer_names"]:
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            group = root[name]
            names = [w.decode() if isinstance(w, bytes) else str(w) for w in group.attrs.get("weight_names", [])]
            layers[name] = [np.array(group[w]) for w in names]
    return layers


def from_keras(path, arch):
    if arch.startswith("resnet"):
        raise ConvertError(
            "Keras' ResNet50 is a different network from torchvision's: each stage's first block strides on its "
            "first 1x1 convolution (torchvision v1.5 strides on the 3x3), and its convolutions have biases. skinnet "
            "implements torchvision's ResNet, so Keras ResNet weights cannot be loaded into it; use torchvision's "
            "ResNet weights (make weights ARCH=resnet50).")
    if arch not in ("vgg16", "vgg19"):
        raise ConvertError(f"--from keras supports vgg16 and vgg19 (Keras applications), not {arch}")
    if "th_dim_ordering" in os.path.basename(path):
        raise ConvertError(f"{path}: Theano dimension ordering; use the tf_dim_ordering (channels-last) file")
    layers = keras_layers(path)
    if any(name.startswith(("res2a", "conv1_conv", "conv2_block")) for name in layers):
        raise ConvertError(f"{path}: this is a Keras ResNet file, not {arch}")
    tensors = {}
    block, within, feature = 1, 0, 0  # Keras names convolutions block<b>_conv<i>; torchvision numbers features
    for out in VGG_CFGS[arch]:         # features: each convolution is followed by a ReLU; a pool is one module
        if not out:
            block, within, feature = block + 1, 0, feature + 1
            continue
        within += 1
        name = f"block{block}_conv{within}"
        if name not in layers or len(layers[name]) != 2:
            raise ConvertError(f"{path}: layer {name} of {arch} is missing or lacks its kernel and bias")
        kernel, bias = layers[name]
        if kernel.ndim != 4 or kernel.shape[:2] != (3, 3) or kernel.shape[3] != out:
            raise ConvertError(f"{path}: {name} kernel has shape {kernel.shape}, expected (3, 3, in, {out}) (HWIO)")
        tensors[f"features.{feature}.weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1), dtype=np.float32)
        tensors[f"features.{feature}.bias"] = bias.astype(np.float32)
        feature += 2
    dense = [("fc1", 0, (25088, 4096)), ("fc2", 3, (4096, 4096)), ("predictions", 6, (4096, None))]
    present = [d for d in dense if d[0] in layers and layers[d[0]]]
    if present and len(present) != 3:
        raise ConvertError(f"{path}: has {[d[0] for d in present]} but not all of fc1, fc2, predictions")
    classes = 1000
    for name, index, shape in present:
        kernel, bias = layers[name]
        if kernel.shape[0] != shape[0] or (shape[1] and kernel.shape[1] != shape[1]):
            raise ConvertError(f"{path}: {name} kernel has shape {kernel.shape}, expected {shape}")
        weight = kernel.T  # Dense kernels are (in, out)
        if name == "fc1":  # Keras flattened pool5 as (h, w, c); torchvision flattens (c, h, w)
            weight = weight.reshape(4096, 7, 7, 512).transpose(0, 3, 1, 2).reshape(4096, 25088)
        if name == "predictions":
            classes = weight.shape[0]
        tensors[f"classifier.{index}.weight"] = np.ascontiguousarray(weight, dtype=np.float32)
        tensors[f"classifier.{index}.bias"] = bias.astype(np.float32)
    meta = {"arch": arch, "num_classes": classes, "source": f"keras:{os.path.basename(path)}",
            "preprocessing": json.dumps(preprocessing_keras_caffe())}
    if not present:
        meta["notop"] = "true"  # features only: load with finetune mode, which initialises the classifier
    return tensors, meta


def fetch(arch, folder):
    """Downloads torchvision's file for `arch` into `folder` unless present, checks it, converts it."""
    if arch not in TORCHVISION_URLS:
        raise ConvertError(f"unknown architecture '{arch}'; known: {', '.join(ARCHS)}")
    url = TORCHVISION_URLS[arch]
    pth = os.path.join(folder, os.path.basename(url))
    out = os.path.join(folder, f"{arch}.safetensors")
    if not os.path.exists(pth):
        print(f"downloading {url}", file=sys.stderr)
        try:
            with urllib.request.urlopen(url, timeout=30) as r, open(pth + ".part", "wb") as f:
                while chunk := r.read(1 << 20):
                    f.write(chunk)
            os.replace(pth + ".part", pth)
        except Exception as e:
            if os.path.exists(pth + ".part"):
                os.remove(pth + ".part")
            raise ConvertError(
                f"cannot download {url} ({e}). This machine may be offline: download that file elsewhere, put it at "
                f"{pth}, and run `make weights ARCH={arch}` again (it checks the file's SHA-256 prefix and converts it).")
    tensors, meta = from_torchvision(pth, arch)
    write_safetensors(out, tensors, meta)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--from", dest="source", choices=["torchvision", "keras"], help="format of --in")
    parser.add_argument("--arch", help=f"architecture: {', '.join(ARCHS)}")
    parser.add_argument("--in", dest="input", help="the weights file to convert")
    parser.add_argument("--out", help="the safetensors file to write")
    parser.add_argument("--resize", type=int, help="override the recorded shorter-side resize (torchvision files)")
    parser.add_argument("--fetch", metavar="ARCH", help="download torchvision's ImageNet file for ARCH and convert it")
    parser.add_argument("--dir", default="weights", help="folder for --fetch (default: weights)")
    args = parser.parse_args(argv)
    try:
        if args.fetch:
            print(f"wrote {fetch(args.fetch, args.dir)}")
            return 0
        if not (args.source and args.arch and args.input and args.out):
            parser.error("give --from, --arch, --in and --out (or --fetch ARCH)")
        if args.arch not in ARCHS:
            raise ConvertError(f"unknown architecture '{args.arch}'; known: {', '.join(ARCHS)}")
        if args.source == "keras" and args.arch.startswith("resnet"):
            from_keras(args.input, args.arch)  # explains why Keras ResNet weights are refused
        if not os.path.exists(args.input):
            raise ConvertError(f"{args.input}: no such file")
        if args.source == "torchvision":
            tensors, meta = from_torchvision(args.input, args.arch, args.resize)
        else:
            tensors, meta = from_keras(args.input, args.arch)
        write_safetensors(args.out, tensors, meta)
        print(f"wrote {args.out}: {len(tensors)} tensors, {meta['source']}, {meta['num_classes']} classes")
        return 0
    except ConvertError as e:
        print(f"convert.py: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
