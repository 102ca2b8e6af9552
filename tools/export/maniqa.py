"""Exports one of pyiqa's MANIQA checkpoints (KonIQ-10k, KADID-10k or PIPAL) to icmbench's
MANIQA ONNX contract.

No MANIQA weights are published in a package registry, so this runs where there is
internet: pyiqa downloads its checkpoint (ckpt_koniq10k.pt, ckpt_kadid10k.pt or
MANIQA_PIPAL-ae6d356b.pth, from its Hugging Face repository chaofengc/IQA-PyTorch-Weights;
each holds the whole network, ViT included) when the model is created. The constructor
would also fetch timm's ImageNet ViT-B/8, which the checkpoint overwrites, so that fetch is
skipped. The graph is built by tools/models/build_maniqa.py, the builder the tests check
against pyiqa (tests/fixtures/maniqa_reference.json), from the model's state_dict; torch
is used only to hold the weights. (torch.onnx.export of pyiqa's module is not used: its
`window_reverse` computes the batch size in Python, which a traced graph freezes.)

    python3 -m venv ~/maniqa-export && ~/maniqa-export/bin/pip install torch torchvision pyiqa onnx 'setuptools<81'
    ~/maniqa-export/bin/python tools/export/maniqa.py koniq third_party/models/maniqa_koniq.onnx
    icmbench models verify     # prints the exported file's SHA-256
    icmbench score --metric maniqa --dist photo.png

(also: kadid -> maniqa_kadid.onnx, pipal -> maniqa_pipal.onnx; `maniqa` in icmbench is the
KonIQ-10k model, as pyiqa's `maniqa`.) The file is about 370 MB.

`random` instead of a checkpoint name exports the fixed random weights of
build_maniqa.random_params(0) through pyiqa's MANIQA (no download): the result is
byte-identical to the `maniqa-random` model the tests use, which checks this conversion
offline.

Licences: MANIQA is Apache-2.0; timm's ViT is Apache-2.0; pyiqa is
PolyForm-Noncommercial-1.0.0. Check their terms and those of the checkpoints before use;
icmbench never ships these files.
"""
import os
import sys

import onnx
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
import build_maniqa  # noqa: E402

CHECKPOINTS = ("koniq", "kadid", "pipal")


def maniqa(which):
    """pyiqa's MANIQA for a checkpoint name, or `random` with build_maniqa.random_params(0)
    loaded; timm's ImageNet ViT is never fetched (the checkpoint replaces it)."""
    from pyiqa.archs import maniqa_arch

    create = maniqa_arch.timm.create_model
    maniqa_arch.timm.create_model = lambda name, pretrained=False, **kw: create(name, pretrained=False, **kw)
    try:
        if which == "random":
            net = maniqa_arch.MANIQA(pretrained=False)
            net.load_state_dict({k: torch.from_numpy(v) for k, v in build_maniqa.random_params(0).items()}, strict=False)
        else:
            net = maniqa_arch.MANIQA(train_dataset=which, pretrained=True)
    finally:
        maniqa_arch.timm.create_model = create
    return net.eval()


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in CHECKPOINTS + ("random",):
        sys.exit(__doc__)
    net = maniqa(sys.argv[1])
    params = {k: v.detach().cpu().float().numpy() for k, v in net.state_dict().items()}
    onnx.save(build_maniqa.build(params), sys.argv[2])
    print(f"wrote {sys.argv[2]}")


if __name__ == "__main__":
    main()
