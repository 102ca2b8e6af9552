"""Writes tests/fixtures/maxim-standin/standin.onnx: a stand-in with the MAXIM restorers'
contract (xs_0 NHWC in [0, 1] -> output_0, same size) that refuses sides that are not
multiples of 64, as MAXIM does, and returns 1 - x. It tests the wiring of the six
built-in MAXIM contracts (names, layout, range, size multiple, tiling) where the real
models (make models-maxim, 10 minutes of conversion each) are not built: CI.

    third_party/venv/bin/python scripts/make-maxim-standin.py   (numpy + onnx)
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = Path(__file__).resolve().parent.parent / "tests/fixtures/maxim-standin/standin.onnx"


def main():
    const = lambda name, v: numpy_helper.from_array(np.array(v), name)  # noqa: E731
    nodes = [
        # [1, W, 3, H] -> [1, W, 3, H/64, 64]: fails unless H % 64 == 0; the same for W.
        helper.make_node("Transpose", ["xs_0"], ["th"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["th", "by64"], ["rows"]),
        helper.make_node("Transpose", ["xs_0"], ["tw"], perm=[0, 1, 3, 2]),
        helper.make_node("Reshape", ["tw", "by64"], ["cols"]),
        helper.make_node("ReduceSum", ["rows"], ["sr"], keepdims=0),
        helper.make_node("ReduceSum", ["cols"], ["sc"], keepdims=0),
        helper.make_node("Add", ["sr", "sc"], ["s"]),
        helper.make_node("Mul", ["s", "zero"], ["z"]),
        helper.make_node("Sub", ["one", "xs_0"], ["inv"]),
        helper.make_node("Add", ["inv", "z"], ["output_0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "maxim_standin",
        [helper.make_tensor_value_info("xs_0", TensorProto.FLOAT, [1, "h", "w", 3])],
        [helper.make_tensor_value_info("output_0", TensorProto.FLOAT, [1, "h", "w", 3])],
        initializer=[
            const("by64", np.array([0, 0, 0, -1, 64], dtype=np.int64)),
            const("zero", np.array(0.0, dtype=np.float32)),
            const("one", np.array(1.0, dtype=np.float32)),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="icmbench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, OUT)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
