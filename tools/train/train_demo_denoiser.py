"""Trains icmbench's demonstration denoiser: a small DnCNN-style residual CNN for the
`noise` degradation (sigma 25), used as a restoration "task model" in the LL-ICM example
(codec -> decoded noisy image -> denoiser -> compared with the clean image). Exports it to
models/demo-denoiser/denoiser.onnx with its restorer.toml and writes TRAINING.md there.

A demonstration model, not a research result: about ten minutes of single-thread CPU
training on nine small public-domain / CC0 images. It exists so that the bundled example
has a restoration model the project trained itself.

Data (scikit-image 0.26 wheel, `skimage/data/`; none of them is, or shows the scene of, a
photo in datasets/samples -- motorcycle_right.png is left out because it is the other
view of motorcycle_left): retina.jpg (CC0, Mikael Haggstrom), ihc.png (no known copyright
restrictions), camera.png (CC0, Lav Varshney), coins.png (no known copyright
restrictions, Brooklyn Museum), clock_motion.png (public domain, Stefan van der Walt),
text.png (public domain), brick.png, grass.png, gravel.png (CC0 textures). Grey images
are repeated to RGB and tinted with random per-channel gains in [0.6, 1].

Degradation, exactly icmbench's `noise` with sigma 25: clean 8-bit RGB + i.i.d. Gaussian
noise N(0, 25^2) per channel, rounded to the nearest integer and clipped to 0..255.
In the benchmark the denoiser also sees noisy images after a lossy codec, so a fraction
JPEG_FRAC (0.3) of the training inputs get a Pillow JPEG round trip (4:2:0) of the noisy
crop at a random quality 20..90; the target is always the clean crop.

Model: 8 conv 3x3 layers (padding 1, so any H and W and no size multiple), 32 channels,
ReLU, no normalisation; the net predicts the noise and the output is input - residual.
Receptive-field radius 8 pixels (17x17 window). Input `noisy`, output `denoised`: NCHW
float32 RGB in [0, 1] (1.0 = 255), dynamic H and W, ONNX opset 17 (classic exporter).

Recipe: seed 0 (torch and numpy); random 64x64 crops (colour images drawn 3x as often
as grey ones, retina crops that are mostly black are redrawn), flips, 90-degree
rotations, RGB channel permutations; batch 16; L2 loss; Adam lr 1e-3, x0.1 for the last
20 % of STEPS (1800) steps; one CPU thread.

    python3 tools/train/train_demo_denoiser.py            # needs torch, onnx, onnxruntime, scikit-image, pillow
"""
import hashlib
import io
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from PIL import Image  # noqa: E402

STEPS = int(os.environ.get("STEPS", 1800))
CH, LAYERS, CROP, BATCH, SIGMA, JPEG_FRAC = 32, 8, 64, 16, 25.0, 0.3
OUT = "models/demo-denoiser"
SAMPLES = "datasets/samples"

torch.manual_seed(0)
torch.use_deterministic_algorithms(True)
torch.set_num_threads(int(os.environ.get("THREADS", 1)))
rng = np.random.RandomState(0)

import skimage  # noqa: E402

data_dir = os.path.join(os.path.dirname(skimage.__file__), "data")
COLOUR = ["retina.jpg", "ihc.png"]
GREY = ["camera.png", "coins.png", "clock_motion.png", "text.png", "brick.png", "grass.png", "gravel.png"]
held_out = {os.path.splitext(f)[0] for f in os.listdir(SAMPLES) if f.endswith(".png")}
for f in COLOUR + GREY:
    assert os.path.splitext(f)[0] not in held_out, f"{f} is an evaluation photo"
images = [(f, np.asarray(Image.open(os.path.join(data_dir, f)).convert("RGB"), dtype=np.uint8), f in COLOUR) for f in COLOUR + GREY]
weights = np.array([3.0 if colour else 1.0 for _, _, colour in images])
weights /= weights.sum()


def degrade(clean, r):
    """icmbench `noise` (sigma 25): add N(0, sigma^2) per channel, round, clip to 8 bit."""
    return np.clip(np.rint(clean.astype(np.float64) + SIGMA * r.standard_normal(clean.shape)), 0, 255).astype(np.uint8)


def jpeg(img, q):
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=int(q))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def crop():
    while True:
        name, img, colour = images[rng.choice(len(images), p=weights)]
        h, w, _ = img.shape
        y, x = rng.randint(h - CROP + 1), rng.randint(w - CROP + 1)
        p = img[y : y + CROP, x : x + CROP]
        if name == "retina.jpg" and (p.max(axis=2) < 20).mean() > 0.5:
            continue
        if not colour:
            p = np.clip(np.rint(p.astype(np.float32) * rng.uniform(0.6, 1.0, size=3)), 0, 255).astype(np.uint8)
        p = p[:, :, rng.permutation(3)]
        if rng.rand() < 0.5:
            p = p[:, ::-1]
        p = np.rot90(p, rng.randint(4))
        return np.ascontiguousarray(p)


def batch():
    clean, noisy = [], []
    for _ in range(BATCH):
        c = crop()
        n = degrade(c, rng)
        if rng.rand() < JPEG_FRAC:
            n = jpeg(n, rng.randint(20, 91))
        clean.append(c.transpose(2, 0, 1))
        noisy.append(n.transpose(2, 0, 1))
    f = lambda a: torch.from_numpy(np.stack(a).astype(np.float32) / 255.0)  # noqa: E731
    return f(noisy), f(clean)


class DnCNN(nn.Module):
    def __init__(self, ch=CH, layers=LAYERS):
        super().__init__()
        body = [nn.Conv2d(3, ch, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(layers - 2):
            body += [nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU(inplace=True)]
        body.append(nn.Conv2d(ch, 3, 3, padding=1))
        self.body = nn.Sequential(*body)

    def forward(self, noisy):
        return noisy - self.body(noisy)


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / mse)


def to_u8(x):
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


model = DnCNN()
n_params = sum(p.numel() for p in model.parameters())
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[int(STEPS * 0.8)], gamma=0.1)
log = [
    f"torch {torch.__version__}, threads {torch.get_num_threads()}, {LAYERS} conv layers x {CH} ch ({n_params} parameters), "
    f"crops {CROP}, batch {BATCH}, sigma {SIGMA:g}, jpeg fraction {JPEG_FRAC} (q 20..90), steps {STEPS}, seed 0"
]
print(log[0], flush=True)
t0 = time.time()
run_loss = run_in = 0.0
for step in range(1, STEPS + 1):
    noisy, clean = batch()
    out = model(noisy)
    loss = torch.mean((out - clean) ** 2)
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    run_loss += loss.item()
    run_in += torch.mean((noisy - clean) ** 2).item()
    if step % 100 == 0 or step == STEPS:
        k = 100 if step % 100 == 0 else step % 100
        line = (f"step {step:5d}  mse {run_loss / k:.6f}  psnr in {10 * np.log10(k / run_in):.2f} -> out "
                f"{10 * np.log10(k / run_loss):.2f} dB (mean of last {k} batches)  lr {opt.param_groups[0]['lr']:.0e}  {time.time() - t0:.0f} s")
        print(line, flush=True)
        log.append(line)
        run_loss = run_in = 0.0
train_s = time.time() - t0
log.append(f"training time {train_s:.0f} s ({train_s / 60:.1f} min)")
print(log[-1], flush=True)

# ---- export ----
model.eval()
os.makedirs(OUT, exist_ok=True)
onnx_path = os.path.join(OUT, "denoiser.onnx")
dummy = torch.rand(1, 3, 64, 48)
torch.onnx.export(
    model, (dummy,), onnx_path, opset_version=17, input_names=["noisy"], output_names=["denoised"],
    dynamic_axes={"noisy": {2: "height", 3: "width"}, "denoised": {2: "height", 3: "width"}}, dynamo=False,
)
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402

m = onnx.load(onnx_path)
onnx.checker.check_model(m)
m.producer_name = "icmbench tools/train/train_demo_denoiser.py"
m.doc_string = (f"icmbench demonstration denoiser (DnCNN-style, {LAYERS}x{CH}, sigma 25 AWGN, {STEPS} CPU steps on 9 CC0/public-domain "
                "scikit-image images): not a research result")
onnx.save(m, onnx_path)
with open(os.path.join(OUT, "restorer.toml"), "w") as fh:
    fh.write('input = "noisy"\noutput = "denoised"\nlayout = "nchw"\nrange = 1.0\nscale = 1\nsize_multiple = 1\n')
sha = hashlib.sha256(open(onnx_path, "rb").read()).hexdigest()

so = ort.SessionOptions()
so.intra_op_num_threads = 1
so.inter_op_num_threads = 1
sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
run = lambda x: sess.run(["denoised"], {"noisy": x})[0]  # noqa: E731

# ---- checks: ORT vs torch on a 100x70 crop, receptive field, speed ----
ev = np.random.RandomState(12345)
probe_clean = np.asarray(Image.open(os.path.join(data_dir, "ihc.png")).convert("RGB"))[100:170, 200:300]
probe = (degrade(probe_clean, ev).transpose(2, 0, 1)[None].astype(np.float32) / 255.0)
with torch.no_grad():
    ref = model(torch.from_numpy(probe)).numpy()
got = run(probe)
maxdiff = float(np.abs(ref - got).max())
assert got.shape == probe.shape and maxdiff < 1e-4, (got.shape, maxdiff)
imp = np.zeros((1, 3, 41, 41), np.float32)
base_out = run(imp + 0.5)
imp = imp + 0.5
imp[0, :, 20, 20] = 1.0
changed = np.argwhere(np.abs(run(imp) - base_out).max(axis=(0, 1)) > 0)
rf = int(np.abs(changed - 20).max())
big = np.random.RandomState(1).rand(1, 3, 512, 768).astype(np.float32)
run(big)
times = []
for _ in range(3):
    t = time.time()
    run(big)
    times.append(time.time() - t)
checks = [
    f"onnxruntime {ort.__version__} vs torch on a 100x70 noisy crop (ihc.png): max |diff| {maxdiff:.2e}",
    f"receptive-field radius {rf} px (measured with an impulse through ORT; {LAYERS} conv 3x3 layers -> {LAYERS}), window {2 * rf + 1}x{2 * rf + 1}",
    f"ORT CPU, 1 thread, 768x512: {1000 * min(times):.0f} ms (best of 3)",
]
for c in checks:
    print(c, flush=True)

# ---- evaluation only: the six sample photos (never trained on) ----
rows = []
for f in sorted(os.listdir(SAMPLES)):
    if not f.endswith(".png"):
        continue
    im = Image.open(os.path.join(SAMPLES, f)).convert("RGB")
    w, h = im.size
    if max(w, h) > 768:
        s = 768 / max(w, h)
        im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)
    clean = np.asarray(im)
    noisy = degrade(clean, np.random.RandomState(int(hashlib.sha256(f.encode()).hexdigest()[:8], 16)))
    x = noisy.transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    den = to_u8(run(x)[0].transpose(1, 2, 0))
    nj = jpeg(noisy, 75)
    den_j = to_u8(run(nj.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)[0].transpose(1, 2, 0))
    rows.append((f, f"{clean.shape[1]}x{clean.shape[0]}", psnr(clean, noisy), psnr(clean, den), psnr(clean, nj), psnr(clean, den_j)))
table = ["| image | size | noisy | denoised | noisy + JPEG q75 | JPEG q75 denoised |", "|---|---|---|---|---|---|"]
for r in rows:
    table.append(f"| {r[0]} | {r[1]} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.2f} | {r[5]:.2f} |")
mean = np.mean([r[2:] for r in rows], axis=0)
table.append(f"| **mean** | | {mean[0]:.2f} | {mean[1]:.2f} | {mean[2]:.2f} | {mean[3]:.2f} |")
print("\n".join(table), flush=True)

with open(os.path.join(OUT, "TRAINING.md"), "w") as fh:
    fh.write("# Training log of the demonstration denoiser\n\n")
    fh.write((__doc__ or "").strip() + "\n\n")
    fh.write(f"Python {sys.version.split()[0]}, numpy {np.__version__}, Pillow {Image.__version__}, scikit-image {skimage.__version__}, "
             f"onnx {onnx.__version__}.\n\n## Log\n\n```\n" + "\n".join(log) + "\n```\n\n")
    fh.write("## Export and checks\n\n```\n" + "\n".join(checks) + f"\nsha256 {sha}  denoiser.onnx ({os.path.getsize(onnx_path)} bytes)\n```\n\n")
    fh.write("## Evaluation only (PSNR in dB, RGB, against the clean image)\n\n"
             "The six photos of datasets/samples (not used in training), brought to a longer side of at most 768 with Pillow's "
             "Lanczos filter where larger (only hubble_deep_field, 1000x872 -> 768x670; the benchmark uses the `image` crate's "
             "Lanczos3), then the `noise` degradation above with a numpy seed derived from the file name (not the benchmark's "
             "SplitMix64 noise), run through denoiser.onnx with onnxruntime and rounded to 8 bit. The JPEG columns add a "
             "Pillow JPEG q75 round trip of the noisy image before the denoiser.\n\n")
    fh.write("\n".join(table) + "\n")
print("wrote", OUT, sha)
