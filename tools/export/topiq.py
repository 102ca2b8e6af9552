"""Exports pyiqa's TOPIQ (`topiq_nr`, KonIQ-10k, or `topiq_fr`, KADID-10k; ResNet-50) to
icmbench's TOPIQ ONNX contract.

No TOPIQ weights are published in a package registry, so this runs where there is
internet: pyiqa downloads its checkpoint (cfanet_nr_koniq_res50-9a73138b.pth or
cfanet_fr_kadid_res50-2c4cc61d.pth, from its Hugging Face repository
chaofengc/IQA-PyTorch-Weights; the `params` key holds the whole network, backbone
included) when the model is created. The graph is built by tools/models/build_topiq.py,
the builder the tests check against pyiqa (tests/fixtures/topiq_reference.json), from the
model's state_dict; torch is used only to hold the weights. pyiqa's own network cannot be
exported by torch.onnx as it is (its adaptive pooling has a size computed at run time);
icmbench's contract takes that pooling, and the positional embedding's bicubic resize, as
matrices that it computes in Rust.

    python3 -m venv ~/topiq-export && ~/topiq-export/bin/pip install torch torchvision pyiqa onnx 'setuptools<81'
    ~/topiq-export/bin/python tools/export/topiq.py nr third_party/models/topiq_nr_koniq.onnx
    ~/topiq-export/bin/python tools/export/topiq.py fr third_party/models/topiq_fr_kadid.onnx
    icmbench models verify     # prints the exported files' SHA-256
    icmbench score --metric topiq-nr --dist photo.png

`random-nr` / `random-fr` instead export the fixed random weights of
build_topiq.random_params through pyiqa's CFANet (no download): the results are
byte-identical to the `topiq-nr-random` / `topiq-fr-random` models the tests use, which
checks this conversion offline.

Licences: TOPIQ has no licence of its own beyond pyiqa's, PolyForm-Noncommercial-1.0.0;
the ResNet-50 backbone is timm's (Apache-2.0). Check these terms before use; icmbench
never ships these files.
"""
import os
import sys

import onnx
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
import build_topiq  # noqa: E402

MODELS = {"nr": "cfanet_nr_koniq_res50", "fr": "cfanet_fr_kadid_res50"}


def cfanet(which):
    """pyiqa's CFANet for `nr`, `fr`, `random-nr` or `random-fr` (the last two with
    build_topiq.random_params(fr, 0) loaded, nothing downloaded)."""
    from pyiqa.archs.topiq_arch import CFANet

    kind = which.removeprefix("random-")
    fr = kind == "fr"
    random = which.startswith("random-")
    net = CFANet(semantic_model_name="resnet50", model_name=MODELS[kind], use_ref=fr, backbone_pretrain=False, pretrained=not random)
    if random:
        result = net.load_state_dict({k: torch.from_numpy(v) for k, v in build_topiq.random_params(fr, 0).items()}, strict=False)
        assert not result.unexpected_keys and all(k.endswith("num_batches_tracked") for k in result.missing_keys), result
    return net.eval(), fr


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("nr", "fr", "random-nr", "random-fr"):
        sys.exit(__doc__)
    net, fr = cfanet(sys.argv[1])
    params = {k: v.detach().cpu().float().numpy() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    onnx.save(build_topiq.build(params, fr), sys.argv[2])
    print(f"wrote {sys.argv[2]} ({'full' if fr else 'no'} reference, {sum(v.size for v in params.values())} parameters)")


if __name__ == "__main__":
    main()
