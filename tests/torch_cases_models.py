"""Whole-model references (tests/test_models.cpp): torchvision models with seeded random weights,
saved as .pth and converted with weights/convert.py exactly as a user's files would be.

- eval_<arch>: resnet18, resnet50, vgg11_bn, vgg19 in eval mode (batch-norm running statistics randomised
  so that eval really uses them): the converted weights and logits for a seeded input.
- train_<arch>: resnet18 and vgg11_bn (dropout 0, 7 classes) in training mode, in float32 and float64:
  the initial weights, one batch, the loss and every parameter gradient, then the losses of five SGD steps
  (momentum 0.9) and the buffers after them.
- keras_vgg19: eval_vgg19's numbers written as a Keras VGG19 .h5 (layer_names, weight_names, HWIO kernels,
  (in, out) dense kernels, fc1 rows in HWC order) and converted with --from keras.
- keys_<arch>: every torchvision architecture's state-dict keys and shapes (the Keras-notebook ones: torch_cases_notebooks.py).
- malicious_pth: a .pth whose unpickling would run a shell command (the converter must refuse it).
Large intermediate files (.pth, .h5) are deleted once converted, except resnet18's .pth, which
tests/test_convert.cpp feeds to the converter.
"""
import copy
import hashlib
import os
import sys

import h5py
import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "weights"))
import convert  # noqa: E402

from torch_common import randn  # noqa: E402

EVAL_ARCHS = ["resnet18", "resnet50", "vgg11_bn", "vgg19"]
TRAIN_ARCHS = {"resnet18": 205, "vgg11_bn": 226}  # seeds well-conditioned in float32 (see train_case)
LR = 1e-4


def save_pth(state, out_dir, arch):
    """Saves like torchvision's files: <arch>-<first 8 hex digits of the SHA-256>.pth."""
    tmp = os.path.join(out_dir, f"{arch}.pth.tmp")
    torch.save(state, tmp)
    with open(tmp, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    path = os.path.join(out_dir, f"{arch}-{digest[:8]}.pth")
    os.replace(tmp, path)
    return path


def seeded_model(arch, seed, **kwargs):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(weights=None, **kwargs)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return model


def convert_pth(path, arch, out_dir, name):
    tensors, meta = convert.from_torchvision(path, arch)
    out = os.path.join(out_dir, name)
    convert.write_safetensors(out, tensors, meta)
    return os.path.basename(out)


def eval_case(arch, seed, out_dir):
    model = seeded_model(arch, seed).eval()
    pth = save_pth(model.state_dict(), out_dir, arch)
    weights = convert_pth(pth, arch, out_dir, f"eval_{arch}.safetensors")
    if arch != "resnet18":
        os.remove(pth)
    x = randn((2, 3, 224, 224), seed + 2, torch.float32)
    with torch.no_grad():
        logits = model(x)
    return model, {"arch": arch, "weights": weights, "pth": os.path.basename(pth) if arch == "resnet18" else ""}, \
        {"x": x, "logits": logits}


def sgd_trajectory(model, x, target, dtype, loss_fn=F.cross_entropy):
    """Five SGD steps (momentum 0.9) on one batch: the losses, the first step's gradients, the buffers after."""
    model = copy.deepcopy(model).to(dtype).train()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    losses, grads = [], {}
    for step in range(5):
        opt.zero_grad()
        loss = loss_fn(model(x.to(dtype)), target)
        loss.backward()
        losses.append(loss.item())
        if step == 0:
            grads = {name: p.grad.clone() for name, p in model.named_parameters()}
        opt.step()
    return losses, grads, {name: b.clone() for name, b in model.named_buffers()}


def train_case(arch, seed, out_dir):
    """Training parity in float32 (as users train) and float64 (exact semantics).

    ReLU and max-pool decisions make float32 gradients discontinuous: an activation within rounding
    error of a kink flips between two correct float32 implementations, and through batch norm a single
    flip moves a layer's gradient by 1e-3 relative. Like a gradcheck that keeps inputs off kinks, the
    seeds are chosen so that PyTorch's own float32 run agrees with its float64 run to 1e-4 (checked here);
    skinnet's float32 must then agree with both to 1e-3. The float64 runs must agree to 1e-10.
    """
    kwargs = {"num_classes": 7}
    if arch.startswith("vgg"):
        kwargs["dropout"] = 0.0  # random masks cannot match across frameworks
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(weights=None, **kwargs).train()
    weights = f"train_{arch}.safetensors"
    convert.write_safetensors(os.path.join(out_dir, weights), model.state_dict(), {"arch": arch})
    x = randn((8, 3, 64, 64), seed + 2, torch.float32)
    target = torch.arange(8) % 7
    # VGG's 103 M-parameter fc6 is compared with float32 only
    tensors, _, _ = training_references(f"train_{arch}", seed, model, x, target, grad64_max=10_000_000,
                                        channels_last_gate=True)
    return {"arch": arch, "weights": weights, "num_classes": 7, "lr": LR, "momentum": 0.9}, tensors


def training_references(case, seed, model, x, target, grad64_max, loss_fn=F.cross_entropy, tensor_gate=5e-4,
                        global_gate=5e-4, channels_last_gate=False):
    """The float32 and float64 SGD trajectories of `model` and the tensors a training case stores (x, target,
    losses, losses64, grad.*, grad64.* for tensors of at most grad64_max elements, buffer.*, buffer64.*), after
    checking that PyTorch's own float32 run is well-conditioned: every gradient within tensor_gate of float64
    (a bias just before a batch norm, zero in exact arithmetic, excepted), all of them together within global_gate,
    the losses within 2e-5, and the same gradient gates for a second float32 run with oneDNN off (another
    summation order). Returns the tensors, the worst gradient spread and the loss spread.

    The gates are half the C++ tests' float32 bounds (tests/model_parity.h: 1e-3 per tensor and together), so
    that skinnet can meet those against PyTorch's float32 and the float64 truth at once. How close PyTorch's
    float32 comes depends on the machine's kernels (OpenBLAS/oneDNN on AVX2 or AVX-512): resnet50_v1's
    conv1.weight is 1.1e-4 from float64 on Zen 3 and below 1e-4 on Zen 5.

    With channels_last_gate, a third float32 run must pass too: the model and batch in channels_last, where
    oneDNN runs its blocked direct convolutions, the closest PyTorch has to skinnet's nChw16c kernel (AVX-512),
    whose summation order flipped a ReLU in vgg11_bn's earlier seed that the other two orders kept."""
    losses32, grads32, buffers32 = sgd_trajectory(model, x, target, torch.float32, loss_fn)
    losses64, grads64, buffers64 = sgd_trajectory(model, x, target, torch.float64, loss_fn)
    # A second correct float32 implementation, PyTorch's own convolutions without oneDNN (im2col + BLAS: another
    # summation order), must pass the same gates: a seed that only one implementation's rounding happens to keep
    # off the kinks would fail skinnet whenever its kernels change their summation order.
    with torch.backends.mkldnn.flags(enabled=False):
        _, grads32_other, _ = sgd_trajectory(model, x, target, torch.float32, loss_fn)
    runs = [("oneDNN", grads32), ("without oneDNN", grads32_other)]
    if channels_last_gate:
        _, grads32_cl, _ = sgd_trajectory(copy.deepcopy(model).to(memory_format=torch.channels_last),
                                          x.contiguous(memory_format=torch.channels_last), target, torch.float32, loss_fn)
        runs.append(("oneDNN on channels_last", grads32_cl))
    worst = 0.0
    for which, g32 in runs:
        diff_all, norm_all = 0.0, 0.0
        for name, g in grads64.items():
            diff_all += ((g32[name].double() - g).norm() ** 2).item()
            norm_all += (g.norm() ** 2).item()
            weight = grads64.get(name[:-5] + ".weight") if name.endswith(".bias") else None
            if weight is not None and g.norm() < 1e-6 * weight.norm():
                continue  # a bias just before a batch norm: zero in exact arithmetic, rounding noise in float32
            err = ((g32[name].double() - g).norm() / g.norm()).item()
            worst = max(worst, err)
            if err > tensor_gate:
                raise SystemExit(f"{case}: seed {seed} is ill-conditioned in float32 ({name}: PyTorch float32 "
                                 f"{which} vs float64 {err:.1e}); pick another seed")
        if (diff_all / norm_all) ** 0.5 > global_gate:
            raise SystemExit(f"{case}: seed {seed}: PyTorch's float32 gradients {which} together are "
                             f"{(diff_all / norm_all) ** 0.5:.1e} from float64")
    spread = max(abs(a - b) / abs(b) for a, b in zip(losses32, losses64))
    if spread > 2e-5:
        raise SystemExit(f"{case}: seed {seed}: PyTorch's float32 losses drift {spread:.1e} from float64")
    tensors = {"x": x, "target": target, "losses": torch.tensor(losses32, dtype=torch.float64),
               "losses64": torch.tensor(losses64, dtype=torch.float64)}
    for name, g in grads32.items():
        tensors["grad." + name] = g
    for name, g in grads64.items():
        if g.numel() <= grad64_max:
            tensors["grad64." + name] = g
    for name, b in buffers32.items():
        tensors["buffer." + name] = b
        tensors["buffer64." + name] = buffers64[name]
    return tensors, worst, spread


def write_keras_vgg(state, path, arch, top=True):
    """Writes `state` (torchvision vgg16/vgg19) in the layout of Keras' <arch>_weights_tf_dim_ordering_tf_kernels.h5
    (or, without `top`, of the _notop file: the convolutions only)."""
    layer_names, weights = ["input_1"], {}
    feature, block, within = 0, 1, 0
    for out in convert.VGG_CFGS[arch]:
        if not out:
            layer_names.append(f"block{block}_pool")
            block, within, feature = block + 1, 0, feature + 1
            continue
        within += 1
        name = f"block{block}_conv{within}"
        w = state[f"features.{feature}.weight"].numpy()
        weights[name] = [w.transpose(2, 3, 1, 0), state[f"features.{feature}.bias"].numpy()]  # OIHW -> HWIO
        layer_names.append(name)
        feature += 2
    if top:
        write_keras_vgg_top(state, layer_names, weights)
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [n.encode() for n in layer_names]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        for n in layer_names:
            g = f.create_group(n)
            names = [f"{n}/kernel:0", f"{n}/bias:0"] if n in weights else []
            g.attrs["weight_names"] = [w.encode() for w in names]
            for wn, value in zip(names, weights.get(n, [])):
                g.create_dataset(wn, data=value)


def write_keras_vgg_top(state, layer_names, weights):
    """flatten, fc1, fc2, predictions: Dense kernels (in, out), fc1's rows in Keras' (h, w, c) flattening order."""
    layer_names.append("flatten")
    fc1 = state["classifier.0.weight"].numpy().reshape(4096, 512, 7, 7).transpose(0, 2, 3, 1).reshape(4096, 25088)
    weights["fc1"] = [fc1.T, state["classifier.0.bias"].numpy()]
    weights["fc2"] = [state["classifier.3.weight"].numpy().T, state["classifier.3.bias"].numpy()]
    weights["predictions"] = [state["classifier.6.weight"].numpy().T, state["classifier.6.bias"].numpy()]
    layer_names += ["fc1", "fc2", "predictions"]


class _Payload:
    """Unpickling this runs a shell command: what torch.load(weights_only=True) must refuse."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def write_malicious_pth(out_dir):
    path = os.path.join(out_dir, "malicious.pth")
    torch.save({"conv1.weight": torch.zeros(1), "payload": _Payload(os.path.join(out_dir, "malicious-ran"))}, path)
    marker = os.path.join(out_dir, "malicious-ran")
    if os.path.exists(marker):
        os.remove(marker)
    return os.path.basename(path)


def keys_case(arch):
    shapes = convert.expected_state(arch, 1000)
    return {"arch": arch, "keys": list(shapes), "shapes": [list(s) for s in shapes.values()]}


def cases(out_dir):
    torch.set_num_threads(2)
    for i, arch in enumerate(EVAL_ARCHS):
        model, params, tensors = eval_case(arch, 100 + i, out_dir)
        yield f"eval_{arch}", params, tensors
        if arch == "vgg19":
            h5 = os.path.join(out_dir, "vgg19_weights_tf_dim_ordering_tf_kernels.h5")
            write_keras_vgg(model.state_dict(), h5, "vgg19")
            tensors, meta = convert.from_keras(h5, "vgg19")
            convert.write_safetensors(os.path.join(out_dir, "keras_vgg19.safetensors"), tensors, meta)
            os.remove(h5)
            yield "keras_vgg19", {"torchvision": params["weights"], "keras": "keras_vgg19.safetensors"}, {}
        del model
    for arch, seed in TRAIN_ARCHS.items():
        params, tensors = train_case(arch, seed, out_dir)
        yield f"train_{arch}", params, tensors
    for arch in convert.ARCHS:
        if arch not in convert.NOTEBOOK_ARCHS and arch not in convert.EFFICIENT_ARCHS:  # keys: their own families
            yield f"keys_{arch}", keys_case(arch), {}
    yield "malicious_pth", {"file": write_malicious_pth(out_dir), "marker": "malicious-ran"}, {}
