"""PyTorch references for batch_norm (tests/test_batch_norm.cpp): training (batch statistics, running
statistics updated in place with momentum and the unbiased variance) and eval (running statistics),
[N, C, H, W] and [N, C] inputs, with and without affine weight/bias, with and without running
statistics, and with only some inputs requiring grad (a frozen weight, a frozen input).

Each case stores the running statistics before (`running_mean`, `running_var`) and after the call
(`running_mean_out`, `running_var_out`): F.batch_norm(training=True) updates them in place."""
import torch.nn.functional as F

from torch_common import both_dtypes, forward_backward, randn

# name: (x shape, training, affine, running stats, inputs that require grad, momentum, eps, x offset)
CASES = {
    "train_4d": ((4, 3, 5, 3), True, True, True, ["x", "w", "b"], 0.1, 1e-5, 0.0),
    "train_4d_frozen_weight": ((2, 3, 4, 5), True, True, True, ["x", "b"], 0.1, 1e-5, 0.0),
    "train_4d_params_only": ((2, 4, 3, 3), True, True, True, ["w", "b"], 0.1, 1e-5, 0.0),
    "train_2d": ((8, 5), True, True, True, ["x", "w", "b"], 0.1, 1e-5, 0.0),
    "train_no_affine_no_running": ((3, 4, 3, 2), True, False, False, ["x"], 0.1, 1e-5, 0.0),
    "train_2d_no_affine": ((5, 6), True, False, True, ["x"], 0.1, 1e-5, 0.0),
    "train_momentum_eps": ((5, 2, 2, 3), True, True, True, ["x", "w", "b"], 0.3, 1e-3, 0.0),
    "train_shifted_mean": ((4, 3, 3, 5), True, True, True, ["x", "w", "b"], 0.1, 1e-5, 3.0),
    "train_one_image": ((1, 3, 7, 5), True, True, True, ["x", "w", "b"], 0.1, 1e-5, 0.0),
    "eval_4d": ((2, 3, 4, 5), False, True, True, ["x", "w", "b"], 0.1, 1e-5, 0.0),
    "eval_4d_frozen_input": ((2, 3, 3, 4), False, True, True, ["w", "b"], 0.1, 1e-5, 0.0),
    "eval_4d_bias_only": ((3, 2, 2, 5), False, True, True, ["b"], 0.1, 1e-5, 0.0),
    "eval_2d_no_affine": ((6, 4), False, False, True, ["x"], 0.1, 1e-5, 0.0),
}


def cases():
    for i, (name, (shape, training, affine, running, grad, momentum, eps, offset)) in enumerate(CASES.items()):
        params = {"training": training, "affine": affine, "running": running, "grad": grad, "momentum": momentum,
                  "eps": eps}

        def make(dtype, i=i, shape=shape, training=training, affine=affine, running=running, grad=grad,
                 momentum=momentum, eps=eps, offset=offset):
            C = shape[1]
            inputs = {"x": randn(shape, 100 * i + 1, dtype) * 0.5 + offset if offset else randn(shape, 100 * i + 1, dtype)}
            if affine:
                inputs["w"] = randn((C,), 100 * i + 2, dtype)
                inputs["b"] = randn((C,), 100 * i + 3, dtype)
            before, after = {}, {}
            if running:
                before["running_mean"] = randn((C,), 100 * i + 4, dtype)
                before["running_var"] = randn((C,), 100 * i + 5, dtype).abs() + 0.5
                after = {k: v.clone() for k, v in before.items()}

            def fn(x, w=None, b=None):
                return F.batch_norm(x, after.get("running_mean"), after.get("running_var"), w, b, training=training,
                                    momentum=momentum, eps=eps)

            out = forward_backward(fn, inputs, grad, 100 * i)
            out.update(before)
            out.update({k + "_out": v for k, v in after.items()})
            return out

        yield from both_dtypes(name, params, make)
