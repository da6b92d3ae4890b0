#!/usr/bin/python3
"""Checks an ONNX model exported by `vkcnn export` with the ONNX reference
checker (Debian's python3-onnx) and prints one JSON line describing it, for
cmd/vkcnn's tests:

    /usr/bin/python3 tools/onnx_check.py model.onnx

onnx.checker.check_model(full_check=True) checks the model's structure
against the opset's operator schemas and runs strict shape inference, which
also checks the shapes the exporter recorded for every intermediate tensor.
"""
import json
import sys

import onnx


def dims(vi):
    return [d.dim_param if d.HasField("dim_param") else d.dim_value
            for d in vi.type.tensor_type.shape.dim]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: onnx_check.py model.onnx")
    model = onnx.load(sys.argv[1])
    onnx.checker.check_model(model, full_check=True)
    g = model.graph
    print(json.dumps({
        "onnx": onnx.__version__,
        "ir_version": model.ir_version,
        "opsets": {o.domain: o.version for o in model.opset_import},
        "producer": model.producer_name,
        "inputs": {i.name: dims(i) for i in g.input},
        "outputs": {o.name: dims(o) for o in g.output},
        "input_types": [i.type.tensor_type.elem_type for i in g.input],
        "ops": [n.op_type for n in g.node],
        "initializers": [t.name for t in g.initializer],
        "metadata": {p.key: p.value for p in model.metadata_props},
    }))


if __name__ == "__main__":
    main()
