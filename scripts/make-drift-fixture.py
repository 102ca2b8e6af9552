"""Writes tests/fixtures/learned-ctx/tcm-reduced/drift/group2_lrp.onnx: the last slice's
latent-residual-prediction graph of the tcm-reduced fixture with the bias of its final
convolution moved by 1e-6 — a stand-in for a machine or runtime whose arithmetic differs
from the encoder's in the last bits. The symbols of a stream still decode (the last slice's
LRP feeds no later slice), but the reconstructed latents differ in their last bits, which
the latent checksum in the bitstream header must catch (codecs/tests/learned_ctx.rs,
`drifted_entropy_parameters_are_refused`).

Needs the `onnx` package (PyPI); from the repository root:

    python3 scripts/make-drift-fixture.py
"""
import os

import onnx
from onnx import numpy_helper

SRC = "tests/fixtures/learned-ctx/tcm-reduced/group2_lrp.onnx"
OUT = "tests/fixtures/learned-ctx/tcm-reduced/drift/group2_lrp.onnx"

m = onnx.load(SRC)
last_conv = [n for n in m.graph.node if n.op_type == "Conv"][-1]
bias_name = last_conv.input[2]
for i, t in enumerate(m.graph.initializer):
    if t.name == bias_name:
        b = numpy_helper.to_array(t).copy()
        b += 1e-6
        m.graph.initializer[i].CopyFrom(numpy_helper.from_array(b, name=bias_name))
        break
else:
    raise SystemExit(f"no initializer {bias_name}")
os.makedirs(os.path.dirname(OUT), exist_ok=True)
onnx.save(m, OUT)
print(f"wrote {OUT}: bias {bias_name} of the last Conv moved by 1e-6")
