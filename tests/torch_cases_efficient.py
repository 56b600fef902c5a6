"""References for DenseNet and EfficientNet (issue 18): torchvision's densenet121/161/169/201 and
efficientnet_b0..b7, and the Keras flavours of weights/torch_models.py, with every weights file made by
weights/convert.py as a user's would be. Helpers and file layouts are tests/torch_cases_notebooks.py's.

- keys_<arch>: torchvision's state-dict keys, shapes (in order) and parameter count (checked here against
  torchvision's published num_params), with the architecture's batch-norm eps and momentum, dropout and
  (EfficientNet) the stochastic-depth probability of each block.
- eval_densenet121: torchvision's densenet121 saved as densenet121-<sha8>.pth with the published files'
  legacy keys (denselayerN.norm.1.weight, ...; no num_batches_tracked, as in those 2017 files) and converted
  --from torchvision; eval_efficientnet_b0: efficientnet_b0 saved as efficientnet_b0_rwightman-<sha8>.pth.
- keras_densenet121: the Keras flavour written as keras_applications' densenet121_..._tf_kernels.h5 (its
  layer names conv1/conv, conv2_block1_0_bn, ..., fc1000) and converted --from keras.
  keras_efficientnet_b0: the Keras flavour written as tf.keras' efficientnetb0.h5 (names stem_conv,
  block1a_dwconv, ..., predictions; depthwise kernels (k, k, C, 1)) with a Normalization layer whose mean and
  variance are not ImageNet's, so that the conversion must read them: the case records the mean and std
  the metadata must hold. Its logits are the network's on already-normalised input, like every keras_ case;
  x_odd (72 px) reaches two stride-2 convolutions with odd sizes (9 and 5 px), where Keras' two padding
  rules differ (weights/torch_models.py keras_pad): logits_odd with rule "same", logits_odd_fixed "fixed".
- train_densenet121, train_efficientnet_b0: five SGD steps as tests/torch_cases_models.py train_case (7
  classes, 2x3x64x64, float32 and float64), with dropout and stochastic depth 0 (random masks cannot match
  across frameworks), from initial parameters at which float32 training is well-conditioned (condition()).

Random weights are PyTorch's default initialisation under a seed; for the eval and keras cases the batch
norms are calibrated on a seeded batch and perturbed (torch_cases_notebooks.randomise), and each case checks
that its logits depend on its input. Large intermediate files (.pth, .h5) are deleted once converted.
"""
import json
import os
import re
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "weights"))
import convert  # noqa: E402
import torch_models as tm  # noqa: E402

from torch_cases_models import LR, save_pth, training_references  # noqa: E402
from torch_cases_notebooks import (GRAD64_MAX, batch_norms, convert_keras, keras_layers_of, logits_of,  # noqa: E402
                                   seeded, write)
from torch_common import randn  # noqa: E402

# name: (seed, input shape); seeds for which PyTorch's float32 run agrees with its float64 run (train_case)
TRAIN = {"densenet121": (604, (2, 3, 64, 64)), "efficientnet_b0": (610, (2, 3, 64, 64))}
# the Normalization layer written into keras_efficientnet_b0's file (ImageNet's would hide a converter that
# ignores the file)
KERAS_NORM_MEAN, KERAS_NORM_VARIANCE = [0.47, 0.45, 0.41], [0.24, 0.22, 0.21]


def keys_case(arch):
    with tm.no_init():
        model = tm.build(arch, "torchvision", 1000)
    state = model.state_dict()
    params = sum(p.numel() for p in model.parameters())
    published = torchvision.models.get_model_weights(arch).DEFAULT.meta["num_params"]
    if params != published:
        raise SystemExit(f"keys_{arch}: {params} parameters, torchvision publishes {published}")
    bn = batch_norms(model)[0]
    out = {"arch": arch, "flavour": "torchvision", "keys": list(state),
           "shapes": [list(v.shape) for v in state.values()], "params": params, "bn_eps": bn.eps,
           "bn_momentum": bn.momentum}
    if arch.startswith("densenet"):
        out["drop_rate"] = 0.0
    else:
        out["dropout"] = model.classifier[0].p
        out["stochastic_depth_prob"] = 0.2
        out["block_stochastic_depth"] = [m.stochastic_depth.p for m in model.modules()
                                         if isinstance(m, torchvision.models.efficientnet.MBConv)]
    return out


def sensitivity(case, a, b):
    """||a - b|| / ||a|| for the logits of two inputs, required above 1e-2: a parity test of logits that
    ignore the input would check nothing (see torch_cases_notebooks.py)."""
    change = ((a - b).norm() / a.norm()).item()
    if change < 1e-2:
        raise SystemExit(f"{case}: the logits hardly depend on the input ({change:.1e})")
    return change


# --- torchvision files -------------------------------------------------------------------------------------

def legacy_densenet_state(state):
    """The published densenet files' layout: denselayerN's norm1 as 'norm.1' (conv2 as 'conv.2', ...), and
    no num_batches_tracked (saved before PyTorch 0.4.1)."""
    out = {}
    for k, v in state.items():
        if k.endswith("num_batches_tracked"):
            continue
        out[re.sub(r"(denselayer\d+\.(?:norm|conv))([12])\.", r"\1.\2.", k)] = v
    return out


def eval_case(out_dir, arch, file_stem, seed, size):
    model = seeded(arch, "torchvision", 1000, seed, size)
    state = model.state_dict()
    legacy = arch.startswith("densenet")
    if legacy:
        state = legacy_densenet_state(state)
        if "features.denseblock1.denselayer1.norm.1.weight" not in state:
            raise SystemExit(f"eval_{arch}: no legacy keys written")
    pth = save_pth(state, out_dir, file_stem)
    tensors, meta = convert.from_torchvision(pth, arch)
    os.remove(pth)
    resize, crop, interpolation = convert.TORCHVISION_TRANSFORMS.get(arch, (256, 224, "bilinear"))
    want = convert.preprocessing_torchvision(resize, crop, interpolation)
    if json.loads(meta["preprocessing"]) != want or "flavour" in meta or "bn_eps" in meta:
        raise SystemExit(f"eval_{arch}: convert.py recorded {meta}")
    x = randn((2, 3, size, size), seed + 2, torch.float32)
    logits = logits_of(model, x)
    params = {"arch": arch, "flavour": "torchvision", "num_classes": 1000, "legacy_keys": legacy,
              "pth": os.path.basename(pth), "weights": write(out_dir, f"eval_{arch}.safetensors", tensors, meta),
              "input_size": want["input_size"], "resize_shorter": want["resize_shorter"],
              "sensitivity": sensitivity(f"eval_{arch}", logits[0], logits[1])}
    return params, {"x": x, "logits": logits}


# --- Keras files --------------------------------------------------------------------------------------------

def keras_names_densenet(model):
    """Keras layer name -> skinnet prefix, as keras_applications' densenet.py names DenseNet121's layers."""
    names = {"conv1/conv": "features.conv0", "conv1/bn": "features.norm0"}
    for b in range(4):
        block = getattr(model.features, f"denseblock{b + 1}")
        for i in range(len(block)):
            k, t = f"conv{b + 2}_block{i + 1}", f"features.denseblock{b + 1}.denselayer{i + 1}"
            names.update({f"{k}_0_bn": f"{t}.norm1", f"{k}_1_conv": f"{t}.conv1", f"{k}_1_bn": f"{t}.norm2",
                          f"{k}_2_conv": f"{t}.conv2"})
        if b < 3:
            names.update({f"pool{b + 2}_bn": f"features.transition{b + 1}.norm",
                          f"pool{b + 2}_conv": f"features.transition{b + 1}.conv"})
    names.update({"bn": "features.norm5", "fc1000": "classifier"})
    return names


def keras_names_efficientnet(model):
    """Keras layer name -> skinnet prefix, as tf.keras' efficientnet.py names EfficientNetB0's layers."""
    names = {"stem_conv": "features.0.0", "stem_bn": "features.0.1"}
    for s in range(1, 8):
        for j, block in enumerate(model.features[s]):
            n, p = f"block{s}{chr(ord('a') + j)}_", f"features.{s}.{j}.block"
            e = len(block.block) - 3  # MBConv with an expansion convolution (every stage but the first): 1
            if e:
                names.update({n + "expand_conv": p + ".0.0", n + "expand_bn": p + ".0.1"})
            names.update({n + "dwconv": f"{p}.{e}.0", n + "bn": f"{p}.{e}.1", n + "se_reduce": f"{p}.{e + 1}.fc1",
                          n + "se_expand": f"{p}.{e + 1}.fc2", n + "project_conv": f"{p}.{e + 2}.0",
                          n + "project_bn": f"{p}.{e + 2}.1"})
    names.update({"top_conv": "features.8.0", "top_bn": "features.8.1", "predictions": "classifier.1"})
    return names


def keras_layers_efficientnet(model):
    """keras_layers_of, with DepthwiseConv2D's depthwise_kernel (k, k, C, 1) for the depthwise convolutions,
    and the input layers of tf.keras' EfficientNet: Rescaling, Normalization (mean, variance, count),
    Rescaling, ZeroPadding2D (the three without weights)."""
    layers = []
    for name, ws in keras_layers_of(model, keras_names_efficientnet(model)):
        if name.endswith("_dwconv"):
            ws = [("depthwise_kernel", ws[0][1].transpose(0, 1, 3, 2))]  # HWIO (k, k, 1, C) -> (k, k, C, 1)
        layers.append((name, ws))
    inputs = [("rescaling", []), ("normalization", [("mean", np.array(KERAS_NORM_MEAN, np.float32)),
                                                    ("variance", np.array(KERAS_NORM_VARIANCE, np.float32)),
                                                    ("count", np.int64(0))]),
              ("rescaling_1", []), ("stem_conv_pad", [])]
    return inputs + layers


def keras_densenet121(out_dir):
    seed, size = 620, 224
    model = seeded("densenet121", "keras", 1000, seed, size)
    layers = keras_layers_of(model, keras_names_densenet(model))
    h5 = os.path.join(out_dir, "densenet121_weights_tf_dim_ordering_tf_kernels.h5")
    weights, meta = convert_keras(out_dir, h5, "densenet121", layers, "keras_densenet121.safetensors", seed)
    want = {"flavour": "keras", "bn_eps": "1.001e-05", "preprocessing": json.dumps(convert.preprocessing_keras_torch())}
    if any(meta.get(k) != v for k, v in want.items()):
        raise SystemExit(f"keras_densenet121: convert.py recorded {meta}")
    x = randn((1, 3, size, size), seed + 2, torch.float32)
    logits = logits_of(model, x)
    other = logits_of(model, randn((1, 3, size, size), seed + 5, torch.float32))
    params = {"arch": "densenet121", "weights": weights, "flavour": "keras", "bn_eps": tm.KERAS_DENSENET_EPS,
              "bn_momentum": tm.KERAS_BN_MOMENTUM, "sensitivity": sensitivity("keras_densenet121", logits, other)}
    return params, {"x": x, "logits": logits}


def keras_efficientnet_b0(out_dir):
    seed, size = 630, 224
    model = seeded("efficientnet_b0", "keras", 1000, seed, size)
    h5 = os.path.join(out_dir, "efficientnetb0.h5")
    weights, meta = convert_keras(out_dir, h5, "efficientnet_b0", keras_layers_efficientnet(model),
                                  "keras_efficientnet_b0.safetensors", seed)
    mean = KERAS_NORM_MEAN
    std = (np.sqrt(KERAS_NORM_VARIANCE) * np.sqrt(convert.KERAS_IMAGENET_STDDEV)).tolist()
    pre = json.loads(meta["preprocessing"])
    if meta.get("flavour") != "keras" or meta.get("bn_eps") != "0.001" or pre["input_size"] != 224 or \
            pre["resize_shorter"] != 0 or not np.allclose(pre["mean"], mean, 0, 1e-7) or \
            not np.allclose(pre["std"], std, 0, 1e-7):
        raise SystemExit(f"keras_efficientnet_b0: convert.py recorded {meta}")
    x = randn((1, 3, size, size), seed + 2, torch.float32)
    logits = logits_of(model, x)
    x_odd = randn((1, 3, 72, 72), seed + 3, torch.float32)
    fixed = tm.build("efficientnet_b0", "keras", 1000, keras_pad="fixed")
    fixed.load_state_dict(model.state_dict())
    params = {"arch": "efficientnet_b0", "weights": weights, "flavour": "keras", "bn_eps": tm.KERAS_EFFICIENTNET_EPS,
              "bn_momentum": tm.KERAS_BN_MOMENTUM, "mean": mean, "std": std, "scale": 1 / 255, "input_size": 224,
              "resize_shorter": 0, "keras_pad": "same",
              "odd_input": "x_odd: 72 px, stride-2 depthwise inputs of 9 and 5 px (blocks 4a, 6a); logits_odd with "
                           "Keras' padding for a known size (TF 'SAME'), logits_odd_fixed with (k//2 - 1, k//2)"}
    tensors = {"x": x, "logits": logits, "x_odd": x_odd, "logits_odd": logits_of(model, x_odd),
               "logits_odd_fixed": logits_of(fixed, x_odd)}
    # the logits of x_odd tell the inputs apart, and the padding rules apart
    other = logits_of(model, randn((1, 3, size, size), seed + 5, torch.float32))
    params["sensitivity"] = sensitivity("keras_efficientnet_b0", logits, other)
    params["odd_rules_gap"] = sensitivity("keras_efficientnet_b0 (padding rules)", tensors["logits_odd"],
                                          tensors["logits_odd_fixed"])
    return params, tensors


# --- training ----------------------------------------------------------------------------------------------

def condition(model, arch, seed):
    """Initial parameters at which float32 training is well-conditioned (see train_case), as
    tests/torch_cases_notebooks.py's condition() does for the Inceptions.

    DenseNet-121: every batch norm but the stem's starts with gamma ~ U(0.24, 0.36) and beta ~ U(0.6, 0.8),
    which keeps most ReLU inputs about 2 standard deviations from the kink (at PyTorch's gamma 1, beta 0
    a ReLU or max-pool decision flips between float32 and float64 within five steps for most seeds: losses
    1e-4 to 5e-3 apart). The stem's (features.norm0) keeps gamma 1 and gets beta = +-U(0.3, 0.6) per
    channel: all it feeds, through ReLU and the max pool, is training-mode batch norms, which are invariant
    to the scale (but for eps) and the shift of their input channel, so at beta 0 norm0.weight's gradient
    is zero in exact arithmetic but for eps (measured 1.6e-6 of conv0's) and rounding noise in float32
    (2e-2 to 3e-2 from float64), and with every input of its ReLU positive norm0.bias's would be too; with
    a bias of either sign some ReLUs clip and both gradients are ordinary.
    EfficientNet-B0: the depthwise convolutions' and the stem's weights x 8 and the classifier's x 0.1.
    torchvision initialises a depthwise filter with kaiming_normal(fan_out = C k^2), far below its own fan
    (k^2); the batch norm after it makes the forward independent of that scale, but its gradient grows as
    the scale shrinks (200 to 700 at norm 1.4), so at lr 1e-4 each step moves them by 3 to 5 % and the
    five losses oscillate (2.57, 2.91, 1.17, 0.85, 0.11; float32 and float64 1.7e-1 apart); torchvision's
    classifier init (U(+-1/sqrt(7))) starts at loss 2.6 for ln 7 = 1.95."""
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        if arch.startswith("densenet"):
            for name, m in model.named_modules():
                if isinstance(m, torch.nn.BatchNorm2d) and name != "features.norm0":
                    m.weight.copy_(torch.rand(m.num_features, generator=g) * 0.12 + 0.24)
                    m.bias.copy_(torch.rand(m.num_features, generator=g) * 0.2 + 0.6)
            bn = model.features.norm0
            sign = torch.randint(0, 2, (bn.num_features,), generator=g) * 2 - 1
            bn.bias.copy_(sign * (torch.rand(bn.num_features, generator=g) * 0.3 + 0.3))
        else:
            for name, m in model.named_modules():
                if isinstance(m, torch.nn.Conv2d) and (m.groups > 1 or name == "features.0.0"):
                    m.weight.mul_(8)
            model.classifier[1].weight.mul_(0.1)
    return model


def train_case(arch, out_dir):
    """As tests/torch_cases_models.py train_case: float32 and float64 runs from the same initial weights
    (PyTorch's initialisation, then condition()); the seed is one for which PyTorch's own float32 gradients
    agree with float64 to 5e-4 and its losses to 2e-5 (checked by training_references). Conditioned, every
    seed tried passed for DenseNet-121 (5 of 5: gradients 1.3e-5 to 2.5e-5, losses 1e-7) and most for
    EfficientNet-B0 (4 of 4 with these factors: gradients 7e-5 to 9e-5, the squeeze-and-excitation fc1's
    the worst, losses 1e-6 to 7e-6)."""
    seed, shape = TRAIN[arch]
    torch.manual_seed(seed)
    densenet = arch.startswith("densenet")
    kw = {"drop_rate": 0.0} if densenet else {"dropout": 0.0, "stochastic_depth_prob": 0.0}
    model = condition(tm.build(arch, "torchvision", 7, **kw), arch, seed).train()
    weights = f"train_{arch}.safetensors"
    convert.write_safetensors(os.path.join(out_dir, weights), model.state_dict(), {"arch": arch})
    x = randn(shape, seed + 2, torch.float32)
    target = torch.arange(shape[0]) % 7
    tensors, worst, spread = training_references(f"train_{arch}", seed, model, x, target, GRAD64_MAX)
    bn = batch_norms(model)[0]
    params = {"arch": arch, "flavour": "torchvision", "weights": weights, "num_classes": 7, "lr": LR,
              "momentum": 0.9, "bn_momentum": bn.momentum, "bn_eps": bn.eps, "dropout": 0.0,
              "grad_spread": worst, "loss_spread": spread}
    if not densenet:
        params["stochastic_depth_prob"] = 0.0
    return params, tensors


def cases(out_dir):
    torch.set_num_threads(2)
    for arch in convert.EFFICIENT_ARCHS:
        yield f"keys_{arch}", keys_case(arch), {}
    yield ("eval_densenet121",) + eval_case(out_dir, "densenet121", "densenet121", 640, 224)
    yield ("eval_efficientnet_b0",) + eval_case(out_dir, "efficientnet_b0", "efficientnet_b0_rwightman", 650, 224)
    yield ("keras_densenet121",) + keras_densenet121(out_dir)
    yield ("keras_efficientnet_b0",) + keras_efficientnet_b0(out_dir)
    for arch in TRAIN:
        yield (f"train_{arch}",) + train_case(arch, out_dir)
