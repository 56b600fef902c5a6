#!/usr/bin/python3
"""Converts ImageNet weights from torchvision (.pth), timm (.pth, .safetensors) or Keras (.h5) into skinnet's
safetensors files.

    /usr/bin/python3 weights/convert.py --from torchvision --arch resnet50 --in resnet50-0676ba61.pth \\
        --out weights/resnet50.safetensors
    /usr/bin/python3 weights/convert.py --from torchvision --arch inception_v3 \\
        --in inception_v3_google-0cc3c7bd.pth --out weights/inception_v3.safetensors
    /usr/bin/python3 weights/convert.py --from timm --arch inception_resnet_v2 \\
        --in model.safetensors --out weights/inception_resnet_v2.safetensors
    /usr/bin/python3 weights/convert.py --from keras --arch vgg19 \\
        --in vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 --out weights/vgg19-keras.safetensors
    /usr/bin/python3 weights/convert.py --from keras --arch resnet50_v1 \\
        --in resnet50_weights_tf_dim_ordering_tf_kernels.h5 --out weights/resnet50_v1.safetensors
    /usr/bin/python3 weights/convert.py --from torchvision --arch densenet121 \\
        --in densenet121-a639ec97.pth --out weights/densenet121.safetensors
    /usr/bin/python3 weights/convert.py --from keras --arch efficientnet_b0 \\
        --in efficientnetb0_notop.h5 --out weights/efficientnet_b0-keras.safetensors
    /usr/bin/python3 weights/convert.py --fetch resnet50 --dir weights     # what `make weights ARCH=...` runs

Tensor names become skinnet's state-dict keys (torchvision's, timm's for inception_resnet_v2, torchvision's
resnet names plus biases for Keras' ResNet v1: weights/torch_models.py); every key and shape is checked
against the architecture. The file's metadata records the architecture, the source, the preprocessing the
weights expect (weights/preprocess.h) and the architecture options they call for (weights/load.h:
flavour, transform_input, aux_logits, bn_eps), so skinnet builds the network and prepares images the way
the weights were trained. .pth files are read with torch.load(weights_only=True), which refuses to run code
from a pickle. A file name carrying the first 8 hex digits of its SHA-256 (torchvision's, timm's releases)
is checked.

--from torchvision also takes densenet121/161/169/201 (the published files' legacy keys such as
`denselayer1.norm.1.weight` are renamed to `norm1`, as torchvision's loader does) and efficientnet_b0..b7
(their preprocessing: each variant's crop, resize and bicubic interpolation).

--from keras reads Keras applications' HDF5 files (full or _notop): vgg16, vgg19, inception_v3,
inception_resnet_v2 (flavour "keras": batch norm without scale), resnet50_v1/101_v1/152_v1 (Keras'
ResNet, which strides on the first 1x1 convolution; torchvision's resnet50 is v1.5 and cannot take them),
densenet121/169/201 (flavour "keras", bn_eps 1.001e-5) and efficientnet_b0..b7 (EfficientNetB0..B7;
flavour "keras": bn_eps 1e-3 and Keras' padding of the stride-2 convolutions; the model's own
Rescaling/Normalization layers become the preprocessing metadata, see --keras-rescaling).
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
    "densenet121": "https://download.pytorch.org/models/densenet121-a639ec97.pth",
    "densenet161": "https://download.pytorch.org/models/densenet161-8d451a50.pth",
    "densenet169": "https://download.pytorch.org/models/densenet169-b2777c0a.pth",
    "densenet201": "https://download.pytorch.org/models/densenet201-c1103571.pth",
    # IMAGENET1K_V1 for every variant (torchvision's default for b1 is V2, efficientnet_b1-c27df63c.pth: below)
    "efficientnet_b0": "https://download.pytorch.org/models/efficientnet_b0_rwightman-3dd342df.pth",
    "efficientnet_b1": "https://download.pytorch.org/models/efficientnet_b1_rwightman-533bc792.pth",
    "efficientnet_b2": "https://download.pytorch.org/models/efficientnet_b2_rwightman-bcdf34b7.pth",
    "efficientnet_b3": "https://download.pytorch.org/models/efficientnet_b3_rwightman-cf984f9c.pth",
    "efficientnet_b4": "https://download.pytorch.org/models/efficientnet_b4_rwightman-7eb33cd5.pth",
    "efficientnet_b5": "https://download.pytorch.org/models/efficientnet_b5_lukemelas-b6417697.pth",
    "efficientnet_b6": "https://download.pytorch.org/models/efficientnet_b6_lukemelas-c76e70fd.pth",
    "efficientnet_b7": "https://download.pytorch.org/models/efficientnet_b7_lukemelas-dcc49843.pth",
    "inception_v3": "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",
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
# timm's hub file for 'inception_resnet_v2.tf_in1k' (timm/models/inception_resnet_v2.py default_cfgs,
# hf_hub_id 'timm/'; _hub.py HF_SAFE_WEIGHTS_NAME). Saved under the local name, not as model.safetensors.
TIMM_URLS = {
    "inception_resnet_v2": ("https://huggingface.co/timm/inception_resnet_v2.tf_in1k/resolve/main/model.safetensors",
                            "inception_resnet_v2.tf_in1k.safetensors"),
}
# torchvision's IMAGENET1K_V2 files were trained with a shorter side of 232 before the 224 crop.
RESIZE_232 = {"11ad3fa6", "cd907fc2", "f82ba261"}
# torchvision 0.14's weight transforms where they are not (256, 224, bilinear): arch -> (resize_shorter,
# input_size, interpolation) of ImageClassification(crop_size, resize_size, interpolation)
TORCHVISION_TRANSFORMS = {
    "efficientnet_b0": (256, 224, "bicubic"), "efficientnet_b1": (256, 240, "bicubic"),
    "efficientnet_b2": (288, 288, "bicubic"), "efficientnet_b3": (320, 300, "bicubic"),
    "efficientnet_b4": (384, 380, "bicubic"), "efficientnet_b5": (456, 456, "bicubic"),
    "efficientnet_b6": (528, 528, "bicubic"), "efficientnet_b7": (600, 600, "bicubic"),
}
# ... and by the file's hash prefix: efficientnet_b1's IMAGENET1K_V2 (torchvision's recipe) file
HASH_TRANSFORMS = {"c27df63c": (255, 240, "bilinear")}

# Convolution output channels of each VGG, 0 for a max pool (torchvision's configurations).
VGG_CFGS = {
    "vgg11": [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
    "vgg13": [64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
    "vgg16": [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0],
    "vgg19": [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0],
}
# Architectures built by weights/torch_models.py (the same list as its ARCHS; kept here so that --help
# does not import torch).
NOTEBOOK_ARCHS = ["inception_v3", "inception_resnet_v2", "resnet50_v1", "resnet101_v1", "resnet152_v1"]
# torchvision's, with a Keras flavour in weights/torch_models.py (its DENSENET_CFGS, EFFICIENTNET_CFGS);
# their references are tests/torch_cases_efficient.py's
DENSENET_ARCHS = ["densenet121", "densenet161", "densenet169", "densenet201"]
EFFICIENTNET_ARCHS = [f"efficientnet_b{i}" for i in range(8)]
EFFICIENT_ARCHS = DENSENET_ARCHS + EFFICIENTNET_ARCHS
ARCHS = sorted(set(TORCHVISION_URLS) | set(NOTEBOOK_ARCHS))
KERAS_ARCHS = ["vgg16", "vgg19", "inception_v3", "inception_resnet_v2", "resnet50_v1", "resnet101_v1", "resnet152_v1",
               "densenet121", "densenet169", "densenet201"] + EFFICIENTNET_ARCHS
# Keras' EfficientNetB0..B7 default_size (B2 is 260 where torchvision crops 288)
KERAS_EFFICIENTNET_SIZES = dict(zip(EFFICIENTNET_ARCHS, (224, 240, 260, 300, 380, 456, 528, 600)))
# keras/src/applications/efficientnet.py IMAGENET_STDDEV_RGB: with weights="imagenet" Keras >= 2.8 divides the
# Normalization layer's output once more by sqrt of these (tensorflow/tensorflow#49930)
KERAS_IMAGENET_STDDEV = [0.229, 0.224, 0.225]

DTYPES = {"float32": "F32", "float64": "F64", "int64": "I64", "uint8": "U8"}


class ConvertError(Exception):
    pass


def preprocessing_torchvision(resize_shorter=256, input_size=224, interpolation="bilinear"):
    # interpolation is informational: skinnet resizes bilinearly (docs/weights.md)
    return {"color_order": "RGB", "scale": 1 / 255, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
            "input_size": input_size, "resize_shorter": resize_shorter, "interpolation": interpolation}


def preprocessing_keras_torch(input_size=224):
    # keras.applications.densenet.preprocess_input (imagenet_utils mode 'torch'): x / 255, then ImageNet's mean
    # and std; Keras resizes nothing itself, so the whole image goes to input_size x input_size.
    return {"color_order": "RGB", "scale": 1 / 255, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
            "input_size": input_size, "resize_shorter": 0}


def preprocessing_keras_caffe():
    # keras.applications.vgg16/vgg19/resnet.preprocess_input: RGB -> BGR, then subtract the ImageNet mean (BGR order).
    return {"color_order": "BGR", "scale": 1.0, "mean": [103.939, 116.779, 123.68], "std": [1.0, 1.0, 1.0],
            "input_size": 224, "resize_shorter": 0}


def preprocessing_inception(resize_shorter):
    # Keras 'tf' mode (imagenet_utils.preprocess_input: x / 127.5 - 1) and timm's IMAGENET_INCEPTION_MEAN/STD:
    # (x/255 - 0.5) / 0.5. timm's crop_pct 0.8975 for 299 makes the shorter side int(299 / 0.8975) = 333.
    return {"color_order": "RGB", "scale": 1 / 255, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
            "input_size": 299, "resize_shorter": resize_shorter}


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


def read_safetensors(path):
    """name -> numpy array from a safetensors file (8-byte little-endian header length, JSON header, data)."""
    kinds = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32,
             "U8": np.uint8, "BF16": np.uint16}
    try:
        with open(path, "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size))
            data = f.read()
    except (OSError, ValueError, struct.error) as e:
        raise ConvertError(f"{path}: cannot read as safetensors: {e}")
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in kinds:
            raise ConvertError(f"{path}: tensor {name} has dtype {info['dtype']}, not one of {sorted(kinds)}")
        begin, end = info["data_offsets"]
        a = np.frombuffer(data[begin:end], dtype=np.dtype(kinds[info["dtype"]]).newbyteorder("<"))
        if info["dtype"] == "BF16":  # bfloat16 is the top half of a float32
            a = (a.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = a.reshape(info["shape"])
    return tensors


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


def torch_models():
    """weights/torch_models.py, imported on first use (it imports torch, which --help does not need)."""
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    import torch_models as module

    if set(module.ARCHS) != set(NOTEBOOK_ARCHS) or set(module.FLAVOURS) != set(NOTEBOOK_ARCHS + EFFICIENT_ARCHS):
        raise ConvertError(f"weights/torch_models.py builds {sorted(module.FLAVOURS)}, convert.py lists "
                           f"{sorted(NOTEBOOK_ARCHS + EFFICIENT_ARCHS)}")
    return module


def expected_state(arch, num_classes, flavour=None, **kw):
    """Key -> shape of the model (built without running its initialisation, which is slow).

    torchvision's models for its architectures; weights/torch_models.py for inception_v3 (flavour
    "torchvision" is torchvision's Inception3; kw aux_logits), inception_resnet_v2, resnet*_v1, and the
    torchvision and Keras flavours of densenet* and efficientnet_b* (the same keys either way).
    """
    import torchvision

    tm = torch_models()
    if arch in tm.FLAVOURS:
        return tm.state_shapes(arch, flavour, num_classes, **kw)
    with tm.no_init():
        model = getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def head_key(arch):
    """The classifier's weight: its row count is the file's class count."""
    if arch.startswith("vgg"):
        return "classifier.6.weight"
    if arch.startswith("densenet"):
        return "classifier.weight"
    if arch.startswith("efficientnet"):
        return "classifier.1.weight"  # classifier.0 is the dropout
    return "classif.weight" if arch == "inception_resnet_v2" else "fc.weight"


# torchvision's _load_state_dict for DenseNet: the published files (saved before PyTorch 0.4 forbade dots in
# module names) call denselayerN's norm1 'norm.1', conv2 'conv.2', ...
DENSENET_LEGACY_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\."
                                 r"((?:[12])\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$")


def rename_densenet_legacy(state):
    return {(m.group(1) + m.group(2) if (m := DENSENET_LEGACY_KEY.match(k)) else k): v for k, v in state.items()}


def check_state(state, expected, path, what):
    """Raises one error listing every missing, unexpected and mis-shaped key of `state` against `expected`."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k}: file {tuple(state[k].shape)}, {what.split()[-1]} {expected[k]}" for k in expected
             if k in state and tuple(state[k].shape) != expected[k]]
    if missing or unexpected or wrong:
        lines = [f"{path}: does not match {what}"]
        for title, items in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", wrong)):
            if items:
                lines.append(f"{len(items)} {title}: " + ", ".join(items[:20]) + (" ..." if len(items) > 20 else ""))
        raise ConvertError("\n".join(lines))


def add_num_batches_tracked(state, path):
    """Files saved before PyTorch 0.4.1 (and ports from TensorFlow) lack batch norm's num_batches_tracked;
    PyTorch's own loader then starts it at 0, and so does this (with a note)."""
    import torch

    added = 0
    for key in [k for k in state if k.endswith(".running_mean")]:
        name = key[: -len("running_mean")] + "num_batches_tracked"
        if name not in state:
            state[name] = torch.tensor(0, dtype=torch.long)
            added += 1
    if added:
        print(f"note: {path} has no num_batches_tracked for {added} batch norms; wrote 0 (as PyTorch's loader does)",
              file=sys.stderr)
    return state


def load_pth(path):
    """A state dict (name -> tensor) from a .pth file, unwrapped from {"state_dict": ...}, {"model": ...} and
    nn.DataParallel's `module.` prefixes."""
    import torch

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
    return state


def as_float32(state, order):
    """The tensors in `order` (the model's state-dict order): floating point as float32, integers as int64."""
    out = {}
    for k in order:
        v = state[k]
        out[k] = (v.float() if v.is_floating_point() else v.long()).contiguous()
    return out


def from_torchvision(path, arch, resize_shorter=None):
    if arch not in TORCHVISION_URLS:
        hint = "--from timm" if arch == "inception_resnet_v2" else "--from keras"
        raise ConvertError(f"torchvision has no {arch}; its weights come from elsewhere ({hint})")
    prefix = check_hash_prefix(path)
    state = load_pth(path)
    if arch in DENSENET_ARCHS:
        state = rename_densenet_legacy(state)
    state = add_num_batches_tracked(state, path)
    head = head_key(arch)
    classes = tuple(state[head].shape)[0] if head in state else 1000
    meta = {"arch": arch, "num_classes": classes, "source": f"torchvision:{os.path.basename(path)}"}
    if arch == "inception_v3":
        aux = any(k.startswith("AuxLogits.") for k in state)
        expected = expected_state(arch, classes, "torchvision", aux_logits=aux)
        # torchvision's inception_v3 builder sets transform_input=True when it loads these weights (a port of
        # Google's, trained on (x - 0.5) / 0.5 inputs); its transforms resize to 342 and crop 299.
        meta.update({"flavour": "torchvision", "transform_input": "true", "aux_logits": "true" if aux else "false",
                     "preprocessing": json.dumps(preprocessing_torchvision(resize_shorter or 342, 299))})
    else:
        expected = expected_state(arch, classes)
        resize, crop, interpolation = HASH_TRANSFORMS.get(prefix) or TORCHVISION_TRANSFORMS.get(arch) or \
            (232 if prefix in RESIZE_232 else 256, 224, "bilinear")
        meta["preprocessing"] = json.dumps(preprocessing_torchvision(resize_shorter or resize, crop, interpolation))
    check_state(state, expected, path, f"torchvision's {arch}")
    return as_float32(state, expected), meta


def from_timm(path, arch, resize_shorter=None):
    """timm's (or Cadene's pretrainedmodels') inception_resnet_v2, from a .pth or a .safetensors file."""
    import torch

    if arch != "inception_resnet_v2":
        raise ConvertError(f"--from timm supports inception_resnet_v2, not {arch}")
    if path.endswith(".safetensors"):
        state = {k: torch.from_numpy(np.array(v)) for k, v in read_safetensors(path).items()}
    else:
        check_hash_prefix(path)  # timm's GitHub releases follow torchvision's naming
        state = load_pth(path)
    for old, new in (("last_linear.", "classif."),):  # Cadene's pretrainedmodels named the classifier last_linear
        state = {(new + k[len(old):] if k.startswith(old) else k): v for k, v in state.items()}
    state = add_num_batches_tracked(state, path)
    meta = {"arch": arch, "flavour": "timm", "source": f"timm:{os.path.basename(path)}"}
    if "classif.weight" in state and state["classif.weight"].shape[0] == 1001 and state["classif.bias"].shape[0] == 1001:
        # TF-slim's checkpoints classify 1001 classes, class 0 being "background"; timm dropped it when loading
        # (pretrained_cfg label_offset=1, _builder.py load_pretrained). The 1000 ImageNet classes follow in order.
        state["classif.weight"], state["classif.bias"] = state["classif.weight"][1:], state["classif.bias"][1:]
        meta["label_offset"] = "1 (background class 0 of 1001 dropped)"  # main() says so
    classes = tuple(state["classif.weight"].shape)[0] if "classif.weight" in state else 1000
    expected = expected_state(arch, classes, "timm")
    check_state(state, expected, path, f"timm's {arch}")
    pre = preprocessing_inception(resize_shorter or 333)
    pre["interpolation"] = "bicubic"  # timm's; informational
    meta.update({"num_classes": classes, "preprocessing": json.dumps(pre)})
    return as_float32(state, expected), meta


def keras_weights(path):
    """Layer name -> [(weight name, array)] from a Keras 2 HDF5 weights file (or a whole saved model).
    Weight names are the last part of Keras' names without ':0' (kernel, bias, gamma, beta, moving_mean, ...)."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ConvertError(f"{path}: cannot open as HDF5: {e}")
    with f:
        root = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in root.attrs:
            hint = "" if "layers" not in root else (
                " (this looks like Keras 3's .weights.h5 layout, which is not read: save the model with "
                "model.save('model.h5'), Keras' legacy HDF5 format, which lists layer_names)")
            raise ConvertError(f"{path}: no 'layer_names' attribute: not a Keras weights file{hint}")
        layers = {}
        for raw in root.attrs["layer_names"]:
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            group = root[name]
            names = [w.decode() if isinstance(w, bytes) else str(w) for w in group.attrs.get("weight_names", [])]
            layers[name] = [(w.split("/")[-1].split(":")[0], np.array(group[w])) for w in names]
    return layers


def from_keras(path, arch, rescaling="imagenet"):
    """rescaling: EfficientNet only, see keras_efficientnet_normalization."""
    if arch.startswith("resnet") and not arch.endswith("_v1"):
        keras_own = (f"convert them for Keras' own architecture with --arch {arch}_v1, or "
                     if f"{arch}_v1" in NOTEBOOK_ARCHS else "")
        raise ConvertError(
            "Keras' ResNet50 is a different network from torchvision's: each stage's first block strides on its "
            "first 1x1 convolution (torchvision v1.5 strides on the 3x3), and its convolutions have biases. "
            f"torchvision's {arch} cannot take Keras ResNet weights; {keras_own}use torchvision's ResNet weights "
            f"(make weights ARCH={arch}).")
    if arch not in KERAS_ARCHS:
        raise ConvertError(f"--from keras supports {', '.join(KERAS_ARCHS)} (Keras applications), not {arch}")
    if "th_dim_ordering" in os.path.basename(path):
        raise ConvertError(f"{path}: Theano dimension ordering; use the tf_dim_ordering (channels-last) file")
    layers = keras_weights(path)
    if arch.startswith("vgg"):
        return from_keras_vgg(path, arch, {name: [a for _, a in ws] for name, ws in layers.items()})
    consumed = []  # layers read into the metadata rather than the weights
    if arch in DENSENET_ARCHS:
        plan, head, meta = keras_densenet_plan(path, arch, layers)
    elif arch in EFFICIENTNET_ARCHS:
        plan, head, meta = keras_efficientnet_plan(path, arch, layers)
        normalization, pre, note = keras_efficientnet_normalization(path, arch, layers, rescaling)
        consumed += [normalization] if normalization else []
        meta.update({"preprocessing": json.dumps(pre), "keras_normalization": note})
    elif arch.endswith("_v1"):
        plan, head, meta = keras_resnet_plan(path, arch, layers)
    else:
        plan, head, meta = keras_inception_plan(path, arch, layers)
    tensors, classes = keras_apply(path, arch, layers, plan, head, consumed)
    meta.update({"arch": arch, "num_classes": classes, "source": f"keras:{os.path.basename(path)}"})
    if head not in layers or not layers[head]:
        meta["notop"] = "true"  # no classifier: load with finetune mode, which initialises it
    return tensors, meta


def keras_inception_plan(path, arch, layers):
    """[(Keras layer, kind, skinnet prefix)], the head layer and the metadata for Keras' Inceptions.

    keras_applications' inception_v3.py and inception_resnet_v2.py name most layers automatically: Keras
    numbers each class's instances in construction order (conv2d_1, conv2d_2, ... in Keras 2.2; conv2d,
    conv2d_1, ... in tf.keras), and a layer given a name takes no number. Their conv2d_bn builds every
    branch in the order torchvision's Inception3 and timm's InceptionResnetV2 register their modules (stem;
    per block: branch 0, then each later branch's convolutions in sequence, the pool branch last), so the
    i-th auto-named Conv2D and BatchNormalization, by numeric suffix, belong to the i-th ConvBN of
    weights/torch_models.py. The file's layer_names are in Keras' topological (depth) order, not
    construction order, so they are not used for this. IRv2's named layers: block35_N_conv / block17_N_conv /
    block8_N_conv (the biased residual up-projections, N from 1), conv_7b (+ conv_7b_bn) and predictions.
    """
    tm = torch_models()
    with tm.no_init():
        model = tm.build(arch, "keras")
    units = [name for name, m in model.named_modules() if isinstance(m, tm.ConvBN)]
    plan = []
    if arch == "inception_resnet_v2":
        units.remove("conv2d_7b")
        plan += [("conv_7b", "conv", "conv2d_7b.conv"), ("conv_7b_bn", "bn", "conv2d_7b.bn")]
        for block, count, seq in (("block35", 10, "repeat"), ("block17", 20, "repeat_1"), ("block8", 9, "repeat_2")):
            plan += [(f"{block}_{i + 1}_conv", "conv", f"{seq}.{i}.conv2d") for i in range(count)]
        plan.append(("block8_10_conv", "conv", "block8.conv2d"))
    for prefix, kind, part in (("conv2d", "conv", "conv"), ("batch_normalization", "bn", "bn")):
        auto = sorted((int(m.group(1) or 0), name) for name in layers
                      if (m := re.fullmatch(prefix + r"(?:_(\d+))?", name)) and layers[name])
        if len(auto) != len(units):
            raise ConvertError(f"{path}: {len(auto)} automatically named {prefix}_N layers with weights, Keras' {arch} "
                               f"has {len(units)}: not a Keras applications {arch} file (see --arch)")
        plan += [(name, kind, f"{unit}.{part}") for (_, name), unit in zip(auto, units)]
    head = "predictions"
    return plan, head, {"flavour": "keras", "preprocessing": json.dumps(preprocessing_inception(0))}


def keras_resnet_plan(path, arch, layers):
    """The plan for Keras' ResNet v1: resnet_common.py's names (conv1_conv, conv1_bn, conv2_block1_0_conv
    (the shortcut), conv2_block1_1_conv, ..._bn, head 'probs', or 'predictions' in tf.keras) or Keras 2.2's
    resnet50.py names (conv1, bn_conv1, res2a_branch2a, bn2a_branch2a, res2a_branch1, ..., fc1000)."""
    layers_per_stage = torch_models().RESNET_V1_LAYERS[arch]
    plan = []
    if "conv1_conv" in layers:
        plan += [("conv1_conv", "conv", "conv1"), ("conv1_bn", "bn", "bn1")]
        for s, blocks in enumerate(layers_per_stage):
            for b in range(blocks):
                k, t = f"conv{s + 2}_block{b + 1}", f"layer{s + 1}.{b}"
                if b == 0:
                    plan += [(f"{k}_0_conv", "conv", f"{t}.downsample.0"), (f"{k}_0_bn", "bn", f"{t}.downsample.1")]
                for j in (1, 2, 3):
                    plan += [(f"{k}_{j}_conv", "conv", f"{t}.conv{j}"), (f"{k}_{j}_bn", "bn", f"{t}.bn{j}")]
        head = "predictions" if "predictions" in layers else "probs"
        eps = "1.001e-05"  # resnet_common.py's BatchNormalization(epsilon=1.001e-5)
    elif "res2a_branch2a" in layers or "bn_conv1" in layers:
        if arch != "resnet50_v1":
            raise ConvertError(f"{path}: has Keras 2.2 resnet50.py's layer names (res2a_branch2a), which only "
                               f"ResNet50 used: use --arch resnet50_v1, not {arch}")
        plan += [("conv1", "conv", "conv1"), ("bn_conv1", "bn", "bn1")]
        for s, blocks in enumerate(layers_per_stage):
            for b in range(blocks):
                k, t = f"{s + 2}{chr(ord('a') + b)}_branch", f"layer{s + 1}.{b}"
                if b == 0:
                    plan += [(f"res{k}1", "conv", f"{t}.downsample.0"), (f"bn{k}1", "bn", f"{t}.downsample.1")]
                for j, letter in ((1, "a"), (2, "b"), (3, "c")):
                    plan += [(f"res{k}2{letter}", "conv", f"{t}.conv{j}"), (f"bn{k}2{letter}", "bn", f"{t}.bn{j}")]
        head = "fc1000"
        eps = "0.001"  # resnet50.py's BatchNormalization kept Keras' default epsilon
    else:
        raise ConvertError(f"{path}: has neither conv1_conv (keras_applications resnet_common.py) nor "
                           f"res2a_branch2a (Keras 2.2 resnet50.py): not a Keras ResNet file")
    return plan, head, {"bn_eps": eps, "preprocessing": json.dumps(preprocessing_keras_caffe())}


def keras_head(layers, names):
    """The classifier's name: the first of `names` the file has (the first if none: a _notop file)."""
    return next((n for n in names if layers.get(n)), names[0])


def keras_densenet_plan(path, arch, layers):
    """The plan for Keras' DenseNet121/169/201 (keras_applications/densenet.py; keras/src/applications): stem
    conv1/conv and conv1/bn (conv1_conv, conv1_bn in Keras 3), conv<S>_block<L>_0_bn, _1_conv, _1_bn, _2_conv
    for torchvision's denseblock<S-1>.denselayer<L>.norm1, conv1, norm2, conv2, transitions pool<S>_bn and
    pool<S>_conv, final bn, head fc1000 (predictions in Keras 3). The published files use the first names."""
    sep = "_" if "conv1_conv" in layers else "/"
    plan = [(f"conv1{sep}conv", "conv", "features.conv0"), (f"conv1{sep}bn", "bn", "features.norm0")]
    blocks = torch_models().DENSENET_CFGS[arch][1]
    for b, count in enumerate(blocks):
        for i in range(count):
            k, t = f"conv{b + 2}_block{i + 1}", f"features.denseblock{b + 1}.denselayer{i + 1}"
            plan += [(f"{k}_0_bn", "bn", f"{t}.norm1"), (f"{k}_1_conv", "conv", f"{t}.conv1"),
                     (f"{k}_1_bn", "bn", f"{t}.norm2"), (f"{k}_2_conv", "conv", f"{t}.conv2")]
        if b < len(blocks) - 1:
            plan += [(f"pool{b + 2}_bn", "bn", f"features.transition{b + 1}.norm"),
                     (f"pool{b + 2}_conv", "conv", f"features.transition{b + 1}.conv")]
    plan.append(("bn", "bn", "features.norm5"))
    return plan, keras_head(layers, ["fc1000", "predictions"]), {
        "flavour": "keras", "bn_eps": str(torch_models().KERAS_DENSENET_EPS),
        "preprocessing": json.dumps(preprocessing_keras_torch())}


def keras_efficientnet_plan(path, arch, layers):
    """The plan for Keras' EfficientNetB0..B7 (keras_applications/efficientnet.py, keras/src/applications):
    stem_conv, stem_bn; per block block<S><letter>_ (S from 1, letter a, b, ... within the stage):
    expand_conv and expand_bn (all but stage 1, whose expansion ratio is 1), dwconv (DepthwiseConv2D,
    depthwise_kernel (k, k, C, 1) -> (C, 1, k, k)), bn, se_reduce and se_expand (1x1 convolutions with bias),
    project_conv, project_bn; top_conv, top_bn; head probs (keras_applications) or predictions (tf.keras).
    torchvision's MBConv holds the same in block.0 (expansion), block.N (depthwise), block.N+1 (fc1, fc2),
    block.N+2 (projection)."""
    tm = torch_models()
    with tm.no_init():
        model = tm.build(arch, "keras")
    plan = [("stem_conv", "conv", "features.0.0"), ("stem_bn", "bn", "features.0.1")]
    for s in range(1, 8):
        for j, block in enumerate(model.features[s]):
            n, p = f"block{s}{chr(ord('a') + j)}_", f"features.{s}.{j}.block"
            e = len(block.block) - 3  # 1 with an expansion convolution, 0 without
            if e:
                plan += [(n + "expand_conv", "conv", f"{p}.0.0"), (n + "expand_bn", "bn", f"{p}.0.1")]
            plan += [(n + "dwconv", "dwconv", f"{p}.{e}.0"), (n + "bn", "bn", f"{p}.{e}.1"),
                     (n + "se_reduce", "conv", f"{p}.{e + 1}.fc1"), (n + "se_expand", "conv", f"{p}.{e + 1}.fc2"),
                     (n + "project_conv", "conv", f"{p}.{e + 2}.0"), (n + "project_bn", "bn", f"{p}.{e + 2}.1")]
    plan += [("top_conv", "conv", "features.8.0"), ("top_bn", "bn", "features.8.1")]
    return plan, keras_head(layers, ["predictions", "probs"]), {"flavour": "keras",
                                                               "bn_eps": str(tm.KERAS_EFFICIENTNET_EPS)}


def keras_efficientnet_normalization(path, arch, layers, rescaling):
    """(the Normalization layer's name or None, the preprocessing, a note): the input layers of Keras'
    EfficientNet as skinnet's preprocessing, value = (pixel / 255 - mean) / std.

    tf.keras and Keras 3 build Rescaling(1/255), Normalization (weights mean, variance, count: (x - mean) /
    sqrt(variance)) and, when built with weights="imagenet" (Keras >= 2.8), Rescaling(1/sqrt(IMAGENET_STDDEV_RGB)),
    which has no weights: the published files hold variance = the ImageNet standard deviations themselves
    (tensorflow/tensorflow#49930), so that the three give ImageNet's (x/255 - mean) / std. std here is
    sqrt(variance) * sqrt(IMAGENET_STDDEV_RGB) for rescaling "imagenet" (the default), or sqrt(variance) for
    "none": a model built with weights=None and loaded afterwards, or saved by Keras < 2.8, has no second
    Rescaling. A file with no Normalization weights (keras_applications 1.0.8's EfficientNet, whose model
    has no input layers) was meant for its preprocess_input, mode 'torch': ImageNet's mean and std on the
    0-1 scale, which is what is recorded then."""
    size = KERAS_EFFICIENTNET_SIZES[arch]
    found = [n for n, ws in layers.items() if {"mean", "variance"} <= {w for w, _ in ws}]
    if len(found) > 1:
        raise ConvertError(f"{path}: {len(found)} Normalization layers ({', '.join(found)}); Keras' {arch} has one")
    if not found:
        return None, preprocessing_keras_torch(size), "none in the file: preprocess_input mode 'torch' (ImageNet's)"
    w = dict(layers[found[0]])
    mean, var = np.asarray(w["mean"], np.float64).reshape(-1), np.asarray(w["variance"], np.float64).reshape(-1)
    if mean.size != 3 or var.size != 3 or not (var > 0).all():
        raise ConvertError(f"{path}: Normalization layer {found[0]} has mean {mean.tolist()} and variance "
                           f"{var.tolist()}; expected 3 channels with positive variances")
    std = np.sqrt(var) * (np.sqrt(KERAS_IMAGENET_STDDEV) if rescaling == "imagenet" else 1.0)
    pre = {"color_order": "RGB", "scale": 1 / 255, "mean": mean.tolist(), "std": std.tolist(), "input_size": size,
           "resize_shorter": 0}
    then = ", then Rescaling(1/sqrt(IMAGENET_STDDEV_RGB)) (weights='imagenet', Keras >= 2.8)" \
        if rescaling == "imagenet" else " (no second Rescaling: --keras-rescaling none)"
    return found[0], pre, f"Rescaling(1/255), {found[0]} mean {mean.tolist()} variance {var.tolist()}{then}"


KERAS_ROLES = {"conv": ["kernel", "bias"], "bn": ["gamma", "beta", "moving_mean", "moving_variance"],
               "dense": ["kernel", "bias"], "dwconv": ["depthwise_kernel", "bias"]}


def keras_roles(path, name, kind, weights):
    """role -> array for one layer: by Keras' weight names where they are the usual ones, else by position
    (a batch norm without scale stores beta, moving_mean, moving_variance: 3 instead of 4)."""
    roles = KERAS_ROLES[kind]
    names = [n for n, _ in weights]
    if set(names) <= set(roles) and len(set(names)) == len(names):
        return dict(weights)
    if kind == "bn" and len(weights) in (3, 4):
        return dict(zip(roles[4 - len(weights):], (a for _, a in weights)))
    if kind != "bn" and len(weights) in (1, 2):
        return dict(zip(roles, (a for _, a in weights)))
    raise ConvertError(f"{path}: layer {name} has weights {names}, which do not look like a Keras {kind} layer's")


def keras_apply(path, arch, layers, plan, head, consumed=()):
    """Runs the plan: transposes kernels (Conv2D HWIO -> OIHW, DepthwiseConv2D (k, k, C, 1) -> (C, 1, k, k),
    Dense (in, out) -> (out, in)), checks every shape against the architecture, and returns the tensors in its
    state-dict order and the class count. `consumed`: layers with weights that the caller has used already."""
    has_head = head in layers and bool(layers[head])
    head_prefix = head_key(arch)[: -len("weight")]
    if has_head:
        plan = plan + [(head, "dense", head_prefix[:-1])]
    roles = {name: keras_roles(path, name, kind, layers.get(name) or []) for name, kind, _ in plan
             if layers.get(name)}
    classes = roles[head]["kernel"].shape[-1] if has_head else 1000
    expected = expected_state(arch, classes, "keras")
    tensors = {}
    for name, kind, prefix in plan:
        if name not in roles:
            raise ConvertError(f"{path}: layer {name} (skinnet's {prefix}) is missing or has no weights: not a "
                               f"Keras {arch} file, or a different depth (see --arch)")
        r, found = roles[name], {}
        if kind in ("conv", "dense", "dwconv"):
            role = "depthwise_kernel" if kind == "dwconv" else "kernel"
            kernel = r.get(role)
            if kernel is None or kernel.ndim != (2 if kind == "dense" else 4):
                raise ConvertError(f"{path}: layer {name} has no {kind} kernel ({sorted(r)})")
            value = kernel.T if kind == "dense" else kernel.transpose((3, 2, 0, 1) if kind == "conv" else (2, 3, 0, 1))
            found[f"{prefix}.weight"] = (value, role, kernel)
            if "bias" in r:
                found[f"{prefix}.bias"] = (r["bias"], "bias", r["bias"])
        else:
            if "gamma" in r:
                found[f"{prefix}.weight"] = (r["gamma"], "gamma", r["gamma"])
            for role, key in (("beta", "bias"), ("moving_mean", "running_mean"), ("moving_variance", "running_var")):
                found[f"{prefix}.{key}"] = (r[role], role, r[role])
        want = {k for k in expected if k.startswith(prefix + ".") and not k.endswith("num_batches_tracked")}
        if set(found) != want:
            raise ConvertError(
                f"{path}: layer {name} (skinnet's {prefix}) has {sorted(k[len(prefix) + 1:] for k in found)}, "
                f"{arch} (Keras) has {sorted(k[len(prefix) + 1:] for k in want)}"
                + (" (a batch norm with scale where Keras' conv2d_bn has none)"
                   if kind == "bn" and arch.startswith("inception") else ""))
        for key, (value, role, original) in found.items():
            if tuple(value.shape) != expected[key]:
                raise ConvertError(f"{path}: layer {name}: {role} of shape {tuple(original.shape)} (Keras layout) "
                                   f"gives {tuple(value.shape)}, but {arch}'s {key} is {expected[key]}")
            tensors[key] = np.ascontiguousarray(value, dtype=np.float32)
    used = {name for name, _, _ in plan} | set(consumed)
    unexpected = sorted((n for n, ws in layers.items() if ws and n not in used),
                        key=lambda n: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", n)])
    if unexpected:
        raise ConvertError(f"{path}: {len(unexpected)} layer(s) with weights that Keras' {arch} does not have: "
                           + ", ".join(unexpected[:20]) + (" ..." if len(unexpected) > 20 else ""))
    out = {}
    for key in expected:
        if key.endswith("num_batches_tracked"):
            out[key] = np.zeros((), np.int64)  # Keras keeps no count; skinnet's batch norm uses momentum
        elif key in tensors:
            out[key] = tensors[key]
        elif has_head or not key.startswith(head_prefix):
            raise ConvertError(f"{path}: nothing in the file gives {key}")
    return out, classes


def from_keras_vgg(path, arch, layers):
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


def download(url, dest, arch):
    print(f"downloading {url}", file=sys.stderr)
    try:
        with urllib.request.urlopen(url, timeout=30) as r, open(dest + ".part", "wb") as f:
            while chunk := r.read(1 << 20):
                f.write(chunk)
        os.replace(dest + ".part", dest)
    except Exception as e:
        if os.path.exists(dest + ".part"):
            os.remove(dest + ".part")
        raise ConvertError(
            f"cannot download {url} ({e}). This machine may be offline: download that file elsewhere, put it at "
            f"{dest}, and run `make weights ARCH={arch}` again (it checks the file and converts it).")


def fetch(arch, folder):
    """Downloads the official file for `arch` (torchvision's; timm's for inception_resnet_v2) into `folder`
    unless present, checks it, converts it."""
    if arch not in TORCHVISION_URLS and arch not in TIMM_URLS:
        known = ", ".join(sorted(set(TORCHVISION_URLS) | set(TIMM_URLS)))
        hint = " (Keras' ResNet v1 files: convert them with --from keras)" if arch in NOTEBOOK_ARCHS else ""
        raise ConvertError(f"unknown architecture '{arch}' for --fetch; known: {known}{hint}")
    out = os.path.join(folder, f"{arch}.safetensors")
    if arch in TIMM_URLS:
        url, name = TIMM_URLS[arch]
        src = os.path.join(folder, name)
        if not os.path.exists(src):
            download(url, src, arch)
        tensors, meta = from_timm(src, arch)
        if "label_offset" in meta:
            print(f"{src}: 1001 classes (TF-slim's background class 0 first): dropped class 0")
    else:
        url = TORCHVISION_URLS[arch]
        src = os.path.join(folder, os.path.basename(url))
        if not os.path.exists(src):
            download(url, src, arch)
        tensors, meta = from_torchvision(src, arch)
    write_safetensors(out, tensors, meta)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--from", dest="source", choices=["torchvision", "timm", "keras"], help="format of --in")
    parser.add_argument("--arch", help=f"architecture: {', '.join(ARCHS)}")
    parser.add_argument("--in", dest="input", help="the weights file to convert")
    parser.add_argument("--out", help="the safetensors file to write")
    parser.add_argument("--resize", type=int, help="override the recorded shorter-side resize (torchvision, timm)")
    parser.add_argument("--keras-rescaling", choices=["imagenet", "none"], default="imagenet",
                        help="Keras EfficientNet: whether the model divided its Normalization output by "
                        "sqrt(IMAGENET_STDDEV_RGB) (built with weights='imagenet' in Keras >= 2.8: imagenet, the "
                        "default) or not (built with weights=None, or Keras < 2.8: none)")
    parser.add_argument("--fetch", metavar="ARCH", help="download the official ImageNet file for ARCH and convert it "
                        "(torchvision's; timm's for inception_resnet_v2)")
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
        if args.source == "keras" and args.arch.startswith("resnet") and not args.arch.endswith("_v1"):
            from_keras(args.input, args.arch)  # explains why Keras ResNet weights are refused
        if not os.path.exists(args.input):
            raise ConvertError(f"{args.input}: no such file")
        if args.source == "torchvision":
            tensors, meta = from_torchvision(args.input, args.arch, args.resize)
        elif args.source == "timm":
            tensors, meta = from_timm(args.input, args.arch, args.resize)
        else:
            tensors, meta = from_keras(args.input, args.arch, args.keras_rescaling)
        if "label_offset" in meta:
            print(f"{args.input}: 1001 classes (TF-slim's background class 0 first): dropped class 0, kept "
                  f"ImageNet's 1000")
        write_safetensors(args.out, tensors, meta)
        print(f"wrote {args.out}: {len(tensors)} tensors, {meta['source']}, {meta['num_classes']} classes")
        return 0
    except ConvertError as e:
        print(f"convert.py: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
