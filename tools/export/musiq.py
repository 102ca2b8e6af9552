"""Exports one of pyiqa's MUSIQ checkpoints to icmbench's MUSIQ ONNX contract.

No MUSIQ weights are published in a package registry, so this runs where there is
internet: pyiqa downloads its converted checkpoint (from its GitHub release) when the
model is created. The graph is built by tools/models/build_musiq.py, the same builder the
tests check against pyiqa (tests/fixtures/musiq_reference.json), from the model's
state_dict; torch is used only to hold the weights.

    python3 -m venv ~/musiq-export && ~/musiq-export/bin/pip install torch torchvision pyiqa onnx
    ~/musiq-export/bin/python tools/export/musiq.py koniq10k third_party/models/musiq_koniq.onnx
    # also: spaq -> musiq_spaq.onnx, paq2piq -> musiq_paq2piq.onnx, ava -> musiq_ava.onnx
    icmbench models verify     # prints the exported file's SHA-256
    icmbench score --metric musiq --dist photo.png

`random` instead of a checkpoint name exports pyiqa's architecture with the fixed random
weights of build_musiq.random_params(0) (no download): the result is byte-identical to the
`musiq-random` model the tests use, which checks this conversion path offline.
pyiqa is PolyForm-Noncommercial-1.0.0; check its terms and those of the MUSIQ checkpoints.
"""
import os
import sys

import onnx
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
import build_musiq  # noqa: E402
from pyiqa.archs.musiq_arch import MUSIQ  # noqa: E402

CHECKPOINTS = ("koniq10k", "spaq", "paq2piq", "ava")

if len(sys.argv) != 3 or sys.argv[1] not in CHECKPOINTS + ("random",):
    sys.exit(__doc__)
which, out = sys.argv[1], sys.argv[2]
if which == "random":
    net = MUSIQ(pretrained=False)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in build_musiq.random_params(0).items()})
else:
    net = MUSIQ(pretrained=which)
params = {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}
onnx.save(build_musiq.build(params), out)
print(f"wrote {out} ({sum(v.size for v in params.values())} parameters, {params['head.weight' if 'head.weight' in params else 'head.0.weight'].shape[0]} outputs)")
