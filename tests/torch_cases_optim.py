"""PyTorch references for the optimisers and lr schedules (tests/test_optim.cpp).

Optimiser cases run torch.optim.SGD / Adam / AdamW for STEPS steps over seeded parameters: "w" [4, 3] and
"b" [3] get a seeded gradient every step, "late" [5] only from step LATE_FROM on (so it gets its state
late and, for Adam, its own step count), "frozen" [2, 2] has requires_grad False and never changes.
Group cases put "h" [6] in a second group with its own lr and weight decay. Clip cases scale each step's
gradients by CLIP_SCALES and call clip_grad_norm_ before the step, so some steps clip and some do not.
Tensors: init.<p>, grad<k>.<p> (absent when p has no gradient at step k), and after step k: step<k>.<p>,
state<k>.<p>.<key> (key: momentum_buffer, exp_avg, exp_avg_sq) and for clip cases norm<k> (the returned
total norm, f64 [1]).
params: type, dtype, momentum, dampening, nesterov, beta1, beta2, eps, clip (null: none),
groups [{name, lr, weight_decay, params}], frozen [names].

Schedule cases: lrs [EPOCHS, 3] f64 is the lr of each of three groups (base lrs BASE_LRS) during each
epoch, read before scheduler.step(); plateau cases also hold metric [EPOCHS] f64, fed to step(metric).
params: the ScheduleOptions fields and the torch construction in words ("torch")."""
import math

import torch

from torch_common import randn

STEPS = 5
LATE_FROM = 2
CLIP_SCALES = [0.2, 3.0, 0.5, 2.0, 1.0]
SHAPES = {"w": (4, 3), "b": (3,), "late": (5,), "frozen": (2, 2), "h": (6,)}
EPOCHS = 30
BASE_LRS = [0.1, 0.01, 1e-7]

# name: (type, options, groups as (lr, weight_decay, names), clip)
ONE = ["w", "b", "late", "frozen"]
OPTIM = {
    "sgd_plain": ("sgd", dict(momentum=0.0), [(0.1, 0.0, ONE)], None),
    "sgd_momentum": ("sgd", dict(momentum=0.9), [(0.05, 0.0, ONE)], None),
    "sgd_nesterov": ("sgd", dict(momentum=0.9, nesterov=True), [(0.05, 0.0, ONE)], None),
    "sgd_dampening": ("sgd", dict(momentum=0.8, dampening=0.3), [(0.05, 0.0, ONE)], None),
    "sgd_weight_decay": ("sgd", dict(momentum=0.9), [(0.05, 0.1, ONE)], None),
    "sgd_groups": ("sgd", dict(momentum=0.9), [(0.05, 0.01, ONE), (0.2, 0.3, ["h"])], None),
    "sgd_clip": ("sgd", dict(momentum=0.9), [(0.05, 0.0, ONE), (0.1, 0.0, ["h"])], 1.5),
    "adam": ("adam", dict(), [(0.01, 0.0, ONE)], None),
    "adam_betas": ("adam", dict(betas=(0.8, 0.95), eps=1e-3), [(0.02, 0.0, ONE)], None),
    "adam_weight_decay": ("adam", dict(), [(0.01, 0.1, ONE)], None),
    "adamw": ("adamw", dict(weight_decay=0.0), [(0.01, 0.0, ONE)], None),
    "adamw_weight_decay": ("adamw", dict(), [(0.01, 0.2, ONE)], None),
    "adamw_groups": ("adamw", dict(), [(0.01, 0.05, ONE), (0.003, 0.5, ["h"])], None),
    "adam_clip": ("adam", dict(), [(0.01, 0.0, ONE), (0.02, 0.1, ["h"])], 2.0),
}

# Metric sequences for plateau: rises, falls, flat stretches and gains below the 1e-4 relative threshold.
ACCURACY = [0.30, 0.42, 0.50, 0.50, 0.49, 0.50003, 0.51, 0.55, 0.55, 0.54, 0.53, 0.56, 0.56, 0.5600001,
            0.57, 0.60, 0.59, 0.58, 0.58, 0.58, 0.61, 0.61, 0.60, 0.60, 0.62, 0.62, 0.62, 0.62, 0.63, 0.62]
LOSS = [2.0, 1.5, 1.6, 1.4, 1.4, 1.39999, 1.3, 1.3, 1.35, 1.2, 1.2, 1.2, 1.1, 1.15, 1.1, 1.05, 1.05,
        1.0, 1.0, 1.0, 0.9, 0.95, 0.95, 0.85, 0.85, 0.85, 0.86, 0.84, 0.84, 0.84]

SCHEDULES = {
    "none": dict(type="none"),
    "none_warmup": dict(type="none", warmup_epochs=4, warmup_start_factor=0.2),
    "step": dict(type="step", step_size=7, gamma=0.5),
    "step_warmup": dict(type="step", step_size=4, gamma=0.3, warmup_epochs=3, warmup_start_factor=0.1),
    "cosine": dict(type="cosine", total_epochs=30),
    "cosine_min": dict(type="cosine", total_epochs=30, min_lr=1e-3),
    "cosine_warmup": dict(type="cosine", total_epochs=30, warmup_epochs=5, warmup_start_factor=0.25, min_lr=1e-4),
    "plateau_max": dict(type="plateau", mode="max", factor=0.5, patience=2, threshold=1e-4, cooldown=1,
                        min_lr=1e-3),
    "plateau_min": dict(type="plateau", mode="min", factor=0.1, patience=1, threshold=1e-4, cooldown=0),
    "plateau_min_cooldown": dict(type="plateau", mode="min", factor=0.3, patience=0, threshold=1e-2, cooldown=2),
}


def optim_case(name, seed, dtype, kind, options, groups, clip):
    params = {n: randn(SHAPES[n], seed + i, dtype).requires_grad_(n != "frozen") for i, n in enumerate(SHAPES)}
    torch_groups = [dict(params=[params[n] for n in names], lr=lr, weight_decay=wd) for lr, wd, names in groups]
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind]
    opt = cls(torch_groups, **options)
    used = [n for _, _, names in groups for n in names]
    out = {f"init.{n}": params[n].detach().clone() for n in used}
    for k in range(STEPS):
        for i, n in enumerate(used):
            p = params[n]
            if n == "frozen" or (n == "late" and k < LATE_FROM):
                p.grad = None
                continue
            g = randn(SHAPES[n], seed + 100 * (k + 1) + i, dtype)
            if clip is not None:
                g = g * CLIP_SCALES[k]
            p.grad = g
            out[f"grad{k}.{n}"] = g.clone()
        if clip is not None:
            norm = torch.nn.utils.clip_grad_norm_([params[n] for n in used], clip)
            out[f"norm{k}"] = norm.detach().to(torch.float64).reshape(1)
        opt.step()
        for n in used:
            out[f"step{k}.{n}"] = params[n].detach().clone()
            for key, value in opt.state[params[n]].items():
                if key != "step" and value is not None:
                    out[f"state{k}.{n}.{key}"] = value.clone()
    defaults = {"momentum": 0.0, "dampening": 0.0, "nesterov": False, "betas": (0.9, 0.999), "eps": 1e-8}
    defaults.update(options)
    return {
        "type": kind, "dtype": "f64" if dtype == torch.float64 else "f32", "momentum": defaults["momentum"],
        "dampening": defaults["dampening"], "nesterov": defaults["nesterov"], "beta1": defaults["betas"][0],
        "beta2": defaults["betas"][1], "eps": defaults["eps"], "clip": clip,
        "groups": [{"name": f"g{i}", "lr": lr, "weight_decay": wd, "params": names}
                   for i, (lr, wd, names) in enumerate(groups)],
        "frozen": ["frozen"],
    }, out


def make_scheduler(opt, o):
    """The torch scheduler equivalent to ScheduleOptions `o`, and its description."""
    kind, warmup = o["type"], o.get("warmup_epochs", 0)
    if kind == "plateau":
        s = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode=o["mode"], factor=o["factor"], patience=o["patience"], threshold=o["threshold"],
            threshold_mode="rel", cooldown=o["cooldown"], min_lr=o.get("min_lr", 0), eps=1e-8)
        return s, "ReduceLROnPlateau(threshold_mode='rel', eps=1e-8)"
    if kind == "none":
        main, text = torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0), "ConstantLR(1.0)"
    elif kind == "step":
        main = torch.optim.lr_scheduler.StepLR(opt, step_size=o["step_size"], gamma=o["gamma"])
        text = "StepLR"
    else:
        main = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=o["total_epochs"] - warmup,
                                                          eta_min=o.get("min_lr", 0))
        text = "CosineAnnealingLR(T_max=total-warmup)"
    if warmup == 0:
        return main, text
    # Built first, as a user would: SequentialLR resets the lrs and restarts the first scheduler.
    linear = torch.optim.lr_scheduler.LinearLR(opt, start_factor=o["warmup_start_factor"], end_factor=1.0,
                                               total_iters=warmup)
    seq = torch.optim.lr_scheduler.SequentialLR(opt, [linear, main], milestones=[warmup])
    return seq, f"SequentialLR([LinearLR, {text}], milestones=[warmup])"


def schedule_case(o):
    ps = [torch.zeros(1, requires_grad=True) for _ in BASE_LRS]
    opt = torch.optim.SGD([dict(params=[p], lr=lr) for p, lr in zip(ps, BASE_LRS)], lr=1.0)
    sched, text = make_scheduler(opt, o)
    metric = LOSS if o.get("mode") == "min" else ACCURACY
    lrs = []
    for epoch in range(EPOCHS):
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.step()
        if o["type"] == "plateau":
            sched.step(metric[epoch])
        else:
            sched.step()
    out = {"lrs": torch.tensor(lrs, dtype=torch.float64)}
    if o["type"] == "plateau":
        out["metric"] = torch.tensor(metric, dtype=torch.float64)
    return dict(o, torch=text, base_lrs=BASE_LRS), out


def cases():
    seed = 9100
    for name, (kind, options, groups, clip) in OPTIM.items():
        seed += 1000
        for dtype, tag in ((torch.float32, "f32"), (torch.float64, "f64")):
            params, tensors = optim_case(name, seed, dtype, kind, options, groups, clip)
            yield f"{name}_{tag}", params, tensors
    for name, o in SCHEDULES.items():
        params, tensors = schedule_case(o)
        yield f"schedule_{name}", params, tensors
