#!/usr/bin/python3
"""The ONNX project's own checks on a file `skinnet export` wrote (Debian's python3-onnx).

    tests/onnx/check_onnx.py MODEL.onnx      prints one JSON object; exits 1 with the checker's message if invalid

It runs onnx.checker.check_model with full_check (the operators' schemas, types and shapes at the file's
opset), then strict shape inference with the declared output shapes removed, and reports what a consumer would read: opset, IR version, the input and
output shapes as inferred (a symbolic dimension as its name), the operators used and the metadata.
"""
import json
import sys

import onnx
from onnx import shape_inference


def dims(value_info):
    return [d.dim_param if d.dim_param else d.dim_value for d in value_info.type.tensor_type.shape.dim]


def main():
    path = sys.argv[1]
    model = onnx.load(path)
    declared = {o.name: dims(o) for o in model.graph.output}
    try:
        onnx.checker.check_model(model, full_check=True)
        # Shape inference from the input alone: the declared output shapes are taken away first, so the
        # ones reported are what inference derives through every operator.
        for o in model.graph.output:
            o.type.tensor_type.ClearField("shape")
        inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except Exception as e:  # the checker's own message is what the test prints
        print(f"{path}: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    graph = inferred.graph
    shapes = {v.name: dims(v) for v in list(graph.value_info) + list(graph.output)}
    ops = {}
    for node in graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    print(json.dumps({
        "onnx": onnx.__version__,
        "ir_version": model.ir_version,
        "opset": [{"domain": o.domain, "version": o.version} for o in model.opset_import],
        "producer": [model.producer_name, model.producer_version],
        "inputs": {i.name: dims(i) for i in graph.input},
        "outputs": {o.name: shapes[o.name] for o in graph.output},
        "declared_outputs": declared,
        "initializers": len(graph.initializer),
        "ops": ops,
        "metadata": {p.key: p.value for p in model.metadata_props},
    }))


if __name__ == "__main__":
    main()
