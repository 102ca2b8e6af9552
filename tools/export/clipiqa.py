"""Exports pyiqa's CLIP-IQA or CLIP-IQA+ (RN50) to icmbench's CLIP-IQA ONNX contract.

No CLIP-IQA weights are published in a package registry, so this runs where there is
internet: pyiqa downloads OpenAI's CLIP RN50 checkpoint (openaipublic.azureedge.net) and,
for CLIP-IQA+, its learned prompts (CLIP-IQA+_learned_prompts-603f3273.pth, from pyiqa's
Hugging Face repository) when the model is created. The text side of each model is fixed,
so it is run here once, with pyiqa's own code: CLIP-IQA's ten prompts (five antonym pairs)
through CLIP's text encoder, or CLIP-IQA+'s learned prompt pair through its prompt learner.
The graph is built by tools/models/build_clipiqa.py (the builder the tests check against
pyiqa, tests/fixtures/clipiqa_reference.json) from the image encoder's state_dict, those
text features and CLIP's logit scale; torch is used only to hold the weights and run the
text side.

    python3 -m venv ~/clipiqa-export && ~/clipiqa-export/bin/pip install torch torchvision pyiqa onnx 'setuptools<81'
    ~/clipiqa-export/bin/python tools/export/clipiqa.py clipiqa third_party/models/clipiqa_rn50.onnx
    ~/clipiqa-export/bin/python tools/export/clipiqa.py clipiqa+ third_party/models/clipiqa_plus_rn50.onnx
    icmbench models verify     # prints the exported files' SHA-256
    icmbench score --metric clipiqa --dist photo.png

(`setuptools<81`: pyiqa imports openai-clip, which needs `pkg_resources`.)

`random` instead of a model name exports the fixed random weights of
build_clipiqa.random_params(0) through the same path (pyiqa's CLIPIQA with a random RN50
CLIP, no download): the result is byte-identical to the `clipiqa-random` model the tests
use, which checks this conversion offline.

Licences: OpenAI CLIP is MIT; the original CLIP-IQA code is under the S-Lab License 1.0
(non-commercial); pyiqa is PolyForm-Noncommercial-1.0.0. Check their terms before use;
icmbench never ships these files.
"""
import os
import sys

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
import build_clipiqa  # noqa: E402

MODELS = ("clipiqa", "clipiqa+", "random")


def random_clip(seed=0):
    """pyiqa's CLIP class with RN50's configuration, the random visual weights and logit
    scale of build_clipiqa.random_params(seed), and `encode_text` returning its random text
    features (the tests' stand-in for OpenAI's checkpoint)."""
    from pyiqa.archs.clip_model import CLIP

    visual, text, logit_scale = build_clipiqa.random_params(seed)
    torch.manual_seed(0)
    model = CLIP(1024, 224, (3, 4, 6, 3), 64, None, 77, 49408, 512, 8, 12)
    result = model.visual.load_state_dict({k: torch.from_numpy(v) for k, v in visual.items()}, strict=False)
    assert not result.unexpected_keys and all(k.endswith("num_batches_tracked") for k in result.missing_keys), result
    model.logit_scale.data.fill_(float(logit_scale))
    features = torch.from_numpy(text)
    model.encode_text = lambda _tokens: features
    return model.eval()


def clipiqa(model_type):
    """pyiqa's CLIPIQA network: `random` builds it around random_clip(0) without download."""
    from pyiqa.archs import clipiqa_arch

    if model_type == "random":
        model = random_clip(0)
        clipiqa_arch.load = lambda *_a, **_k: model
        return clipiqa_arch.CLIPIQA(model_type="clipiqa", pretrained=False).eval()
    return clipiqa_arch.CLIPIQA(model_type=model_type, pretrained=True).eval()


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in MODELS:
        sys.exit(__doc__)
    which, out = sys.argv[1], sys.argv[2]
    net = clipiqa(which)
    clip = net.clip_model[0]
    with torch.no_grad():
        text = net.prompt_learner(clip) if which == "clipiqa+" else clip.encode_text(net.prompt_pairs)
    visual = {k: v.detach().cpu().float().numpy() for k, v in clip.visual.state_dict().items()}
    logit_scale = np.float32(clip.logit_scale.detach().cpu().float().item())
    onnx.save(build_clipiqa.build(visual, text.detach().cpu().float().numpy(), logit_scale), out)
    print(f"wrote {out} ({text.shape[0] // 2} prompt pairs, logit scale {np.exp(np.float64(logit_scale)):.4g})")


if __name__ == "__main__":
    main()
