"""Writes tests/fixtures/msssim/: MS-SSIM parity fixtures on odd-sized images from the two
reference implementations, pytorch_msssim 1.x (`ms_ssim`, what CompressAI uses; icmbench's
`ms-ssim-rgb`) and TensorFlow's `tf.image.ssim_multiscale` (icmbench's `ms-ssim-rgb-tf`).
They differ only in how a 2x2 average pool treats an odd side between scales.

Each case is a crop of one of the committed sample photos (datasets/samples/, the reference
image; the test crops it again) and a distorted copy written losslessly as PNG into
tests/fixtures/msssim/ (Gaussian blur + quantisation with Pillow, or a Pillow JPEG
round-trip), so the Rust test reads exactly the pixels the references saw.

The two references need different virtual environments, so the script runs in two stages
from the repository root; the second adds its values to the JSON the first wrote:

    python3 -m venv /tmp/venv-torch
    /tmp/venv-torch/bin/pip install torch pytorch_msssim numpy pillow
    /tmp/venv-torch/bin/python scripts/make-msssim-fixture.py pytorch
    third_party/venv-tf/bin/python scripts/make-msssim-fixture.py tensorflow

Precision: both references are run in float64 so that the tolerance tests the convention,
not float32 rounding. pytorch_msssim takes float64 tensors as they are, but builds its
default Gaussian window in float32 (`_fspecial_gauss_1d`) and only then casts it; its
weights then sum to 1 only to ~1e-7, which moves MS-SSIM by up to ~1e-6. The main values
pass the same window built in float64 (`win=`, pytorch_msssim's own formula); the values
with the default float32 window are recorded beside them (`*_default_window`).
tf.image.ssim_multiscale always casts its inputs to float32 through
`image_ops_impl.convert_image_dtype`; the `tensorflow` stage replaces that one function by
a plain cast to float64 for the call (everything downstream, the Gaussian window included,
follows the input dtype), and also records the unmodified float32 result beside it.
"""
import json
import os
import platform
import sys

import numpy as np

FIXTURES = "tests/fixtures/msssim"
JSON = os.path.join(FIXTURES, "msssim_reference.json")
SAMPLES = "datasets/samples"

# name: (photo, crop x, y, width, height, distortion). Sizes are picked so that sides turn
# odd at different scales; `even` has both sides multiples of 16 (the conventions agree).
CASES = {
    "chelsea-451x300-jpeg15": ("chelsea.png", 0, 0, 451, 300, ("jpeg", 15)),
    "motorcycle-741x500": ("motorcycle_left.png", 0, 0, 741, 500, ("blur-quantise", 2.0, 48)),
    "rocket-640x427-jpeg10": ("rocket.png", 0, 0, 640, 427, ("jpeg", 10)),
    "coffee-333x251": ("coffee.png", 131, 77, 333, 251, ("blur-quantise", 2.5, 16)),
    "astronaut-177x161": ("astronaut.png", 201, 99, 177, 161, ("blur-quantise", 0.8, 40)),
    "astronaut-even-352x256": ("astronaut.png", 96, 160, 352, 256, ("blur-quantise", 1.5, 24)),
}

RGB2GRAY = (0.298936021293775, 0.587043074451121, 0.114020904255103)  # metrics/src/colour.rs


def matlab_grey(rgb):
    """MATLAB rgb2gray rounded to 8 bit, computed as metrics/src/colour.rs does (f64,
    left to right, round half away from zero)."""
    rgb = rgb.astype(np.float64)
    v = RGB2GRAY[0] * rgb[..., 0] + RGB2GRAY[1] * rgb[..., 1] + RGB2GRAY[2] * rgb[..., 2]
    return np.clip(np.floor(v + 0.5), 0, 255)[..., None]


def distorted_path(name):
    return os.path.join(FIXTURES, name + ".png")


def stage_pytorch():
    import PIL
    import PIL.features
    import pytorch_msssim
    import torch
    from PIL import Image, ImageFilter

    os.makedirs(FIXTURES, exist_ok=True)

    def nchw(a, dtype):
        return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)[None])).to(dtype)

    def window64(channels):
        # pytorch_msssim's _fspecial_gauss_1d(11, 1.5), in float64, repeated per channel
        # exactly as ms_ssim does with its default window.
        coords = torch.arange(11, dtype=torch.float64) - 11 // 2
        g = torch.exp(-(coords**2) / (2 * 1.5**2))
        g /= g.sum()
        return g.reshape(1, 1, -1).repeat([channels, 1, 1, 1])

    def ms(a, b, dtype, default_window=False):
        x, y = nchw(a, dtype), nchw(b, dtype)
        win = None if default_window else window64(x.shape[1]).to(dtype)
        return float(pytorch_msssim.ms_ssim(x, y, data_range=255, size_average=True, win=win))

    out = {
        "_about": "MS-SSIM references for icmbench's metrics/tests/msssim.rs. Per case: the reference "
        "is datasets/samples/<photo> cropped to (x, y, width, height); the distorted image is "
        "<case>.png beside this file (made from the crop by `distortion` with Pillow: "
        "blur-quantise = GaussianBlur(radius=sigma) then every sample rounded to the nearest "
        "multiple of `step` (clamped to 255); jpeg = Pillow JPEG encode at `quality` and decode). "
        "pytorch_msssim: ms_ssim(X, Y, data_range=255, win=W) on float64 NCHW tensors of the 0-255 "
        "samples, W being pytorch_msssim's own 11-tap sigma-1.5 Gaussian window built in float64 "
        "(other arguments default: K 0.01/0.03, the 5 standard weights); *_default_window: the "
        "same without win= (the library builds the window in float32); ms-ssim-rgb_float32: "
        "float32 tensors, default window; "
        "ms-ssim-grey: the same on the MATLAB rgb2gray image rounded to 8 bit (1 channel). "
        "tensorflow: tf.image.ssim_multiscale(img1, img2, max_val=255) on float64 NHWC with "
        "image_ops_impl.convert_image_dtype patched to keep float64 (the function casts to "
        "float32 otherwise); *_float32 are the same calls in float32 / unpatched, for the record.",
        "command": "python3 -m venv /tmp/venv-torch && "
        "/tmp/venv-torch/bin/pip install torch pytorch_msssim numpy pillow && "
        "/tmp/venv-torch/bin/python scripts/make-msssim-fixture.py pytorch && "
        "third_party/venv-tf/bin/python scripts/make-msssim-fixture.py tensorflow",
        "versions": {
            "python": platform.python_version(),
            "pytorch_msssim": getattr(pytorch_msssim, "__version__", None) or _dist_version("pytorch_msssim"),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "pillow": PIL.__version__,
            "pillow libjpeg-turbo (jpeg distortions)": PIL.features.version("libjpeg_turbo"),
        },
        "cases": {},
    }
    for name, (photo, x, y, w, h, dist) in CASES.items():
        ref = Image.open(os.path.join(SAMPLES, photo)).convert("RGB").crop((x, y, x + w, y + h))
        if dist[0] == "blur-quantise":
            _, sigma, step = dist
            blurred = np.asarray(ref.filter(ImageFilter.GaussianBlur(radius=sigma)), dtype=np.float64)
            q = np.clip(np.round(blurred / step) * step, 0, 255).astype(np.uint8)
            distorted = Image.fromarray(q, "RGB")
            recipe = {"kind": "blur-quantise", "sigma": sigma, "step": step}
        else:
            import io

            buf = io.BytesIO()
            ref.save(buf, format="JPEG", quality=dist[1])
            distorted = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
            recipe = {"kind": "jpeg", "quality": dist[1]}
        distorted.save(distorted_path(name), optimize=True)
        a = np.asarray(ref, dtype=np.uint8)
        b = np.asarray(Image.open(distorted_path(name)).convert("RGB"), dtype=np.uint8)
        out["cases"][name] = {
            "photo": photo,
            "crop": {"x": x, "y": y, "width": w, "height": h},
            "distortion": recipe,
            "distorted": name + ".png",
            "pytorch_msssim": {
                "ms-ssim-rgb": ms(a, b, torch.float64),
                "ms-ssim-grey": ms(matlab_grey(a), matlab_grey(b), torch.float64),
                "ms-ssim-rgb_default_window": ms(a, b, torch.float64, default_window=True),
                "ms-ssim-grey_default_window": ms(matlab_grey(a), matlab_grey(b), torch.float64, default_window=True),
                "ms-ssim-rgb_float32": ms(a, b, torch.float32, default_window=True),
            },
        }
        print(name, out["cases"][name]["pytorch_msssim"], file=sys.stderr)
    write(out)


def _dist_version(name):
    from importlib.metadata import version

    return version(name)


def stage_tensorflow():
    import tensorflow as tf
    from tensorflow.python.ops import image_ops_impl

    with open(JSON) as f:
        out = json.load(f)
    out["versions"]["tensorflow"] = tf.__version__
    out["versions"]["python (tensorflow venv)"] = platform.python_version()
    out["versions"]["numpy (tensorflow venv)"] = np.__version__

    def png(path):
        return tf.io.decode_png(tf.io.read_file(path), channels=3).numpy()

    original = image_ops_impl.convert_image_dtype

    def keep_float64(image, dtype, saturate=False, name=None):
        return tf.cast(image, tf.float64)

    def ms(a, b, dtype):
        x = tf.constant(a[None], dtype=dtype)
        y = tf.constant(b[None], dtype=dtype)
        if dtype == tf.float64:
            image_ops_impl.convert_image_dtype = keep_float64
        try:
            v = tf.image.ssim_multiscale(x, y, max_val=255.0)
        finally:
            image_ops_impl.convert_image_dtype = original
        assert v.dtype == dtype, (v.dtype, dtype)
        return float(v.numpy()[0])

    for name, case in out["cases"].items():
        c = case["crop"]
        full = png(os.path.join(SAMPLES, case["photo"]))
        a = full[c["y"] : c["y"] + c["height"], c["x"] : c["x"] + c["width"]]
        b = png(os.path.join(FIXTURES, case["distorted"]))
        assert a.shape == b.shape == (c["height"], c["width"], 3), (a.shape, b.shape)
        case["tensorflow"] = {
            "ms-ssim-rgb-tf": ms(a, b, tf.float64),
            "ms-ssim-rgb-tf_float32": ms(a, b, tf.float32),
        }
        print(name, case["tensorflow"], file=sys.stderr)
    write(out)


def write(out):
    with open(JSON, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    stages = {"pytorch": stage_pytorch, "tensorflow": stage_tensorflow}
    if len(sys.argv) != 2 or sys.argv[1] not in stages:
        sys.exit("usage: make-msssim-fixture.py pytorch|tensorflow (see the docstring)")
    stages[sys.argv[1]]()
