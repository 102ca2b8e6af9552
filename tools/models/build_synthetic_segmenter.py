"""Builds a synthetic YOLOv8-seg-layout ONNX model whose masks depend on the image, for demo
runs of the instance-segmentation path without downloaded weights (not a fixture; no learned
weights: every value is written below). Only numpy and onnx; the file's bytes are the same on
every run.

Graph contract (opset 17, float32):
  input   `images`  [1, 3, 320, 320] RGB in [0, 1]
  output  `output0` [1, 4 + 80 + 32, 16], constant: a 4 x 4 tiling of the input in 80 x 80
          boxes (cx, cy at the tile centres, w = h = 80), class 0 (person) score 0.9 and the
          other 79 class scores 0, mask coefficient 0 = 1 and the other 31 = 0.
  output  `output1` [1, 32, 80, 80] prototypes: channel 0 = 8 * (mean over R, G, B of
          AveragePool(4 x 4, stride 4)(images) - 0.5), channels 1..31 = 0.
So each tile is one person detection whose mask (logit = channel 0 > 0) is the tile's pixels
brighter than mid-grey, and its box crops the mask to the tile.

    python3 tools/models/build_synthetic_segmenter.py OUT.onnx
"""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SIZE, GRID, CLASSES, COEFFS, TILES = 320, 80, 80, 32, 4


def output0():
    tile = SIZE // TILES
    out = np.zeros((1, 4 + CLASSES + COEFFS, TILES * TILES), np.float32)
    for i in range(TILES * TILES):
        row, col = divmod(i, TILES)
        out[0, 0:4, i] = ((col + 0.5) * tile, (row + 0.5) * tile, tile, tile)
        out[0, 4, i] = 0.9
        out[0, 4 + CLASSES, i] = 1.0
    return out


def build():
    inits = [
        numpy_helper.from_array(output0(), "output0_value"),
        numpy_helper.from_array(np.array(0.5, np.float32), "half"),
        numpy_helper.from_array(np.array(8.0, np.float32), "gain"),
        # Pad [1, 1, 80, 80] to [1, 32, 80, 80] with zero channels after channel 0.
        numpy_helper.from_array(np.array([0, 0, 0, 0, 0, COEFFS - 1, 0, 0], np.int64), "pads"),
    ]
    nodes = [
        helper.make_node("Identity", ["output0_value"], ["output0"]),
        helper.make_node("AveragePool", ["images"], ["pooled"], kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("ReduceMean", ["pooled"], ["grey"], axes=[1], keepdims=1),
        helper.make_node("Sub", ["grey", "half"], ["centred"]),
        helper.make_node("Mul", ["centred", "gain"], ["proto0"]),
        helper.make_node("Pad", ["proto0", "pads"], ["output1"], mode="constant"),
    ]
    graph = helper.make_graph(
        nodes,
        "synthetic_segmenter",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [
            helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + CLASSES + COEFFS, TILES * TILES]),
            helper.make_tensor_value_info("output1", TensorProto.FLOAT, [1, COEFFS, GRID, GRID]),
        ],
        inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17)],
        producer_name="icmbench tools/models/build_synthetic_segmenter.py",
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    onnx.save(build(), sys.argv[1])
